;; The elementwise loops of the wasm path in 128-bit wasm SIMD, 4 floats at a time, over
;; tf.js-wasm's own memory (imported), so they read and write tensors where they lie. V8 does
;; not vectorise the same loops in JS. Addresses are byte offsets into that memory; counts are
;; floats. Each loop handles the last n % 4 floats one at a time, with the same operations.
;; Built into simd_binary.ts by `deno task build-simd`; simd.ts loads it.
(module
  (import "env" "memory" (memory 0))

  ;; tf.js's momentum step, rounding each operation to float32 as tf.js does:
  ;; a' = a * m + g; x' = c * (g + a' * m) + x (c = -learning rate).
  (func (export "momentumNesterov")
    (param $x i32) (param $a i32) (param $g i32) (param $xOut i32) (param $aOut i32)
    (param $n i32) (param $m f32) (param $c f32)
    (local $i i32) (local $vectorEnd i32) (local $end i32)
    (local $mv v128) (local $cv v128) (local $gv v128) (local $acc v128)
    (local $gs f32) (local $accs f32)
    (local.set $mv (f32x4.splat (local.get $m)))
    (local.set $cv (f32x4.splat (local.get $c)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $end) (i32.const -16)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $vectorEnd)))
      (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
      (local.set $acc (f32x4.add
        (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $i))) (local.get $mv))
        (local.get $gv)))
      (v128.store (i32.add (local.get $aOut) (local.get $i)) (local.get $acc))
      (v128.store (i32.add (local.get $xOut) (local.get $i))
        (f32x4.add
          (f32x4.mul (local.get $cv)
            (f32x4.add (local.get $gv) (f32x4.mul (local.get $acc) (local.get $mv))))
          (v128.load (i32.add (local.get $x) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $tailDone (loop $tail
      (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $gs (f32.load (i32.add (local.get $g) (local.get $i))))
      (local.set $accs (f32.add
        (f32.mul (f32.load (i32.add (local.get $a) (local.get $i))) (local.get $m))
        (local.get $gs)))
      (f32.store (i32.add (local.get $aOut) (local.get $i)) (local.get $accs))
      (f32.store (i32.add (local.get $xOut) (local.get $i))
        (f32.add
          (f32.mul (local.get $c)
            (f32.add (local.get $gs) (f32.mul (local.get $accs) (local.get $m))))
          (f32.load (i32.add (local.get $x) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $tail))))

  ;; Plain momentum: a' = a * m + g; x' = c * a' + x.
  (func (export "momentumPlain")
    (param $x i32) (param $a i32) (param $g i32) (param $xOut i32) (param $aOut i32)
    (param $n i32) (param $m f32) (param $c f32)
    (local $i i32) (local $vectorEnd i32) (local $end i32)
    (local $mv v128) (local $cv v128) (local $acc v128) (local $accs f32)
    (local.set $mv (f32x4.splat (local.get $m)))
    (local.set $cv (f32x4.splat (local.get $c)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $end) (i32.const -16)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $vectorEnd)))
      (local.set $acc (f32x4.add
        (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $i))) (local.get $mv))
        (v128.load (i32.add (local.get $g) (local.get $i)))))
      (v128.store (i32.add (local.get $aOut) (local.get $i)) (local.get $acc))
      (v128.store (i32.add (local.get $xOut) (local.get $i))
        (f32x4.add (f32x4.mul (local.get $cv) (local.get $acc))
          (v128.load (i32.add (local.get $x) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $tailDone (loop $tail
      (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $accs (f32.add
        (f32.mul (f32.load (i32.add (local.get $a) (local.get $i))) (local.get $m))
        (f32.load (i32.add (local.get $g) (local.get $i)))))
      (f32.store (i32.add (local.get $aOut) (local.get $i)) (local.get $accs))
      (f32.store (i32.add (local.get $xOut) (local.get $i))
        (f32.add (f32.mul (local.get $c) (local.get $accs))
          (f32.load (i32.add (local.get $x) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $tail))))

  ;; dx = dy * step(x), as tf.js's Relu gradient: step is 1 above 0, NaN for NaN, else 0.
  ;; A lane of all ones bits (x != x) is a NaN, so the factor is (x > 0 and 1.0) or (x != x).
  (func (export "reluGrad") (param $dy i32) (param $x i32) (param $dx i32) (param $n i32)
    (local $i i32) (local $vectorEnd i32) (local $end i32) (local $xv v128) (local $xs f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $end) (i32.const -16)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $vectorEnd)))
      (local.set $xv (v128.load (i32.add (local.get $x) (local.get $i))))
      (v128.store (i32.add (local.get $dx) (local.get $i))
        (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $i)))
          (v128.or
            (v128.and (f32x4.gt (local.get $xv) (v128.const f32x4 0 0 0 0))
              (v128.const f32x4 1 1 1 1))
            (f32x4.ne (local.get $xv) (local.get $xv)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $tailDone (loop $tail
      (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $xs (f32.load (i32.add (local.get $x) (local.get $i))))
      (f32.store (i32.add (local.get $dx) (local.get $i))
        (f32.mul (f32.load (i32.add (local.get $dy) (local.get $i)))
          (select (f32.const 1)
            (select (f32.const nan) (f32.const 0) (f32.ne (local.get $xs) (local.get $xs)))
            (f32.gt (local.get $xs) (f32.const 0)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $tail))))

  ;; y = x < 0 ? 0 : x: Relu as tf.js computes it (NaN and -0 pass through); y may be x.
  (func (export "relu") (param $x i32) (param $y i32) (param $n i32)
    (local $i i32) (local $vectorEnd i32) (local $end i32) (local $xv v128) (local $xs f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $end) (i32.const -16)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $vectorEnd)))
      (local.set $xv (v128.load (i32.add (local.get $x) (local.get $i))))
      (v128.store (i32.add (local.get $y) (local.get $i))
        (v128.andnot (local.get $xv) (f32x4.lt (local.get $xv) (v128.const f32x4 0 0 0 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $tailDone (loop $tail
      (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $xs (f32.load (i32.add (local.get $x) (local.get $i))))
      (f32.store (i32.add (local.get $y) (local.get $i))
        (select (f32.const 0) (local.get $xs) (f32.lt (local.get $xs) (f32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $tail))))

  ;; y = x * (x < 0 ? alpha : 1): LeakyRelu, a product by exactly 1 or alpha; y may be x.
  (func (export "leakyRelu") (param $x i32) (param $y i32) (param $n i32) (param $alpha f32)
    (local $i i32) (local $vectorEnd i32) (local $end i32) (local $xv v128) (local $xs f32)
    (local $alphas v128)
    (local.set $alphas (f32x4.splat (local.get $alpha)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $end) (i32.const -16)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $vectorEnd)))
      (local.set $xv (v128.load (i32.add (local.get $x) (local.get $i))))
      (v128.store (i32.add (local.get $y) (local.get $i))
        (f32x4.mul (local.get $xv)
          (v128.bitselect (local.get $alphas) (v128.const f32x4 1 1 1 1)
            (f32x4.lt (local.get $xv) (v128.const f32x4 0 0 0 0)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $tailDone (loop $tail
      (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $xs (f32.load (i32.add (local.get $x) (local.get $i))))
      (f32.store (i32.add (local.get $y) (local.get $i))
        (f32.mul (local.get $xs)
          (select (local.get $alpha) (f32.const 1) (f32.lt (local.get $xs) (f32.const 0)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $tail))))

  ;; dx = dy * (x > 0 ? 1 : alpha): LeakyRelu's gradient.
  (func (export "leakyReluGrad")
    (param $dy i32) (param $x i32) (param $dx i32) (param $n i32) (param $alpha f32)
    (local $i i32) (local $vectorEnd i32) (local $end i32) (local $alphas v128)
    (local.set $alphas (f32x4.splat (local.get $alpha)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $end) (i32.const -16)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $vectorEnd)))
      (v128.store (i32.add (local.get $dx) (local.get $i))
        (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $i)))
          (v128.bitselect (v128.const f32x4 1 1 1 1) (local.get $alphas)
            (f32x4.gt (v128.load (i32.add (local.get $x) (local.get $i)))
              (v128.const f32x4 0 0 0 0)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $tailDone (loop $tail
      (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
      (f32.store (i32.add (local.get $dx) (local.get $i))
        (f32.mul (f32.load (i32.add (local.get $dy) (local.get $i)))
          (select (f32.const 1) (local.get $alpha)
            (f32.gt (f32.load (i32.add (local.get $x) (local.get $i))) (f32.const 0)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $tail))))

  ;; dx of a 2x2 stride-2 max pool, NHWC, at least 4 channels: each window's first maximum in
  ;; row-major order gets dy (a NaN so far loses to the next pixel), the window's other pixels
  ;; 0. Channels go 4 at a time, the last 4 ending at the last channel (where the count is not
  ;; a multiple of 4 they overlap the previous 4, which writes the same values again). Pixels
  ;; outside every window (odd height or width) are not written.
  (func (export "maxPoolGrad2x2")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $batch i32) (param $height i32) (param $width i32) (param $channels i32)
    (local $pixel i32) (local $row i32) (local $b i32) (local $r i32) (local $col i32)
    (local $ch i32) (local $at i32) (local $windowAt i32) (local $outHeight i32)
    (local $outWidth i32) (local $best v128) (local $take v128) (local $which v128)
    (local $v v128) (local $g v128) (local $offset i32)
    (local.set $pixel (i32.shl (local.get $channels) (i32.const 2)))
    (local.set $row (i32.mul (local.get $width) (local.get $pixel)))
    (local.set $outHeight (i32.shr_u (local.get $height) (i32.const 1)))
    (local.set $outWidth (i32.shr_u (local.get $width) (i32.const 1)))
    (block $bDone (loop $bNext
      (br_if $bDone (i32.ge_u (local.get $b) (local.get $batch)))
      (local.set $r (i32.const 0))
      (block $rDone (loop $rNext
        (br_if $rDone (i32.ge_u (local.get $r) (local.get $outHeight)))
        ;; the window's top-left pixel, as a byte offset into x and dx
        (local.set $windowAt (i32.mul (local.get $row)
          (i32.add (i32.mul (local.get $b) (local.get $height)) (i32.shl (local.get $r) (i32.const 1)))))
        (local.set $col (i32.const 0))
        (block $colDone (loop $colNext
          (br_if $colDone (i32.ge_u (local.get $col) (local.get $outWidth)))
          (local.set $ch (i32.const 0))
          (block $chDone (loop $chNext
            (br_if $chDone (i32.ge_u (local.get $ch) (local.get $pixel)))
            ;; the channel offset in bytes: ch, or the last 4 channels' where ch runs past them
            (local.set $offset (select (local.get $ch)
              (i32.sub (local.get $pixel) (i32.const 16))
              (i32.le_u (local.get $ch) (i32.sub (local.get $pixel) (i32.const 16)))))
            (local.set $at (i32.add (local.get $windowAt) (local.get $offset)))
            (local.set $best (v128.load (i32.add (local.get $x) (local.get $at))))
            (local.set $which (v128.const i32x4 0 0 0 0))
            ;; right
            (local.set $v (v128.load (i32.add (local.get $x)
              (i32.add (local.get $at) (local.get $pixel)))))
            (local.set $take (v128.or (f32x4.gt (local.get $v) (local.get $best))
              (f32x4.ne (local.get $best) (local.get $best))))
            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $take)))
            (local.set $which (v128.bitselect (v128.const i32x4 1 1 1 1) (local.get $which)
              (local.get $take)))
            ;; below
            (local.set $v (v128.load (i32.add (local.get $x)
              (i32.add (local.get $at) (local.get $row)))))
            (local.set $take (v128.or (f32x4.gt (local.get $v) (local.get $best))
              (f32x4.ne (local.get $best) (local.get $best))))
            (local.set $best (v128.bitselect (local.get $v) (local.get $best) (local.get $take)))
            (local.set $which (v128.bitselect (v128.const i32x4 2 2 2 2) (local.get $which)
              (local.get $take)))
            ;; below right
            (local.set $v (v128.load (i32.add (local.get $x)
              (i32.add (local.get $at) (i32.add (local.get $row) (local.get $pixel))))))
            (local.set $take (v128.or (f32x4.gt (local.get $v) (local.get $best))
              (f32x4.ne (local.get $best) (local.get $best))))
            (local.set $which (v128.bitselect (v128.const i32x4 3 3 3 3) (local.get $which)
              (local.get $take)))
            ;; dy to the chosen pixel of each lane, 0 to the other three
            (local.set $g (v128.load (i32.add (local.get $dy) (local.get $offset))))
            (v128.store (i32.add (local.get $dx) (local.get $at))
              (v128.and (local.get $g) (i32x4.eq (local.get $which) (v128.const i32x4 0 0 0 0))))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $at) (local.get $pixel)))
              (v128.and (local.get $g) (i32x4.eq (local.get $which) (v128.const i32x4 1 1 1 1))))
            (v128.store (i32.add (local.get $dx) (i32.add (local.get $at) (local.get $row)))
              (v128.and (local.get $g) (i32x4.eq (local.get $which) (v128.const i32x4 2 2 2 2))))
            (v128.store (i32.add (local.get $dx)
              (i32.add (local.get $at) (i32.add (local.get $row) (local.get $pixel))))
              (v128.and (local.get $g) (i32x4.eq (local.get $which) (v128.const i32x4 3 3 3 3))))
            (local.set $ch (i32.add (local.get $ch) (i32.const 16)))
            (br $chNext)))
          (local.set $dy (i32.add (local.get $dy) (local.get $pixel)))
          (local.set $windowAt (i32.add (local.get $windowAt) (i32.shl (local.get $pixel) (i32.const 1))))
          (local.set $col (i32.add (local.get $col) (i32.const 1)))
          (br $colNext)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rNext)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bNext))))
  ;; Batch norm's per-channel passes over n floats of rows of channels (channels innermost).
  ;; The per-channel numbers are given repeated to `period` floats, a multiple of 4 and of
  ;; the channel count, so that float i's channel values sit at i mod period, 4-aligned.

  ;; Sums per position mod period, in double precision: acc[j] += x[i] for i = j mod period
  ;; (acc: period doubles; the caller folds them into channels).
  (func (export "periodicSums") (param $x i32) (param $n i32) (param $acc i32) (param $period i32)
    (local $i i32) (local $j i32) (local $end i32) (local $vectorEnd i32) (local $bytes i32)
    (local $v v128) (local $a i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $end) (i32.const -16)))
    (local.set $bytes (i32.shl (local.get $period) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $vectorEnd)))
      (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
      (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 1))))
      (v128.store (local.get $a)
        (f64x2.add (v128.load (local.get $a)) (f64x2.promote_low_f32x4 (local.get $v))))
      (v128.store offset=16 (local.get $a)
        (f64x2.add (v128.load offset=16 (local.get $a))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
            (local.get $v) (local.get $v)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (if (i32.ge_u (local.get $j) (local.get $bytes)) (then (local.set $j (i32.const 0))))
      (br $next)))
    (block $tailDone (loop $tail
      (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $a (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 1))))
      (f64.store (local.get $a) (f64.add (f64.load (local.get $a))
        (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $tail))))

  ;; acc[j] += a[i] * (b[i] - mean[j]) in double precision, i = j mod period (mean: period
  ;; floats). With a = b: the sums of squared deviations; with a = dy: sum dy * (x - mean).
  (func (export "periodicCenteredDots")
    (param $a i32) (param $b i32) (param $mean i32) (param $n i32) (param $acc i32)
    (param $period i32)
    (local $i i32) (local $j i32) (local $end i32) (local $vectorEnd i32) (local $bytes i32)
    (local $v v128) (local $at i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $end) (i32.const -16)))
    (local.set $bytes (i32.shl (local.get $period) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $vectorEnd)))
      (local.set $v (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $i)))
        (f32x4.sub (v128.load (i32.add (local.get $b) (local.get $i)))
          (v128.load (i32.add (local.get $mean) (local.get $j))))))
      (local.set $at (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 1))))
      (v128.store (local.get $at)
        (f64x2.add (v128.load (local.get $at)) (f64x2.promote_low_f32x4 (local.get $v))))
      (v128.store offset=16 (local.get $at)
        (f64x2.add (v128.load offset=16 (local.get $at))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7
            (local.get $v) (local.get $v)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (if (i32.ge_u (local.get $j) (local.get $bytes)) (then (local.set $j (i32.const 0))))
      (br $next)))
    (block $tailDone (loop $tail
      (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $at (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 1))))
      (f64.store (local.get $at) (f64.add (f64.load (local.get $at))
        (f64.promote_f32 (f32.mul (f32.load (i32.add (local.get $a) (local.get $i)))
          (f32.sub (f32.load (i32.add (local.get $b) (local.get $i)))
            (f32.load (i32.add (local.get $mean) (local.get $j))))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $tail))))

  ;; y[i] = x[i] * sx[j] + z[i] * sz[j] + shift[j], i = j mod period (sx, sz, shift: period
  ;; floats). With sz all 0 and z = x: the forward's scale and shift.
  (func (export "periodicAffine")
    (param $x i32) (param $z i32) (param $y i32) (param $n i32)
    (param $sx i32) (param $sz i32) (param $shift i32) (param $period i32)
    (local $i i32) (local $j i32) (local $end i32) (local $vectorEnd i32) (local $bytes i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $end) (i32.const -16)))
    (local.set $bytes (i32.shl (local.get $period) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $vectorEnd)))
      (v128.store (i32.add (local.get $y) (local.get $i))
        (f32x4.add
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $i)))
              (v128.load (i32.add (local.get $sx) (local.get $j))))
            (f32x4.mul (v128.load (i32.add (local.get $z) (local.get $i)))
              (v128.load (i32.add (local.get $sz) (local.get $j)))))
          (v128.load (i32.add (local.get $shift) (local.get $j)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (if (i32.ge_u (local.get $j) (local.get $bytes)) (then (local.set $j (i32.const 0))))
      (br $next)))
    (block $tailDone (loop $tail
      (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
      (f32.store (i32.add (local.get $y) (local.get $i))
        (f32.add
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $x) (local.get $i)))
              (f32.load (i32.add (local.get $sx) (local.get $j))))
            (f32.mul (f32.load (i32.add (local.get $z) (local.get $i)))
              (f32.load (i32.add (local.get $sz) (local.get $j)))))
          (f32.load (i32.add (local.get $shift) (local.get $j)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $tail))))

  ;; A depthwise convolution's gradients (channel multiplier 1), NHWC: for every output pixel
  ;; and filter tap whose input pixel is inside the image, over the channels, 4 at a time:
  ;; mode 0, the input gradient: out[input pixel] += dy[output pixel] * w[tap] (out: floats,
  ;; zeroed by the caller); mode 1, the filter gradient: out[tap] += x[input pixel] *
  ;; dy[output pixel], in double precision (out: doubles, zeroed by the caller). `geometry`
  ;; points to 12 i32s: batch, inHeight, inWidth, channels, outHeight, outWidth, filterHeight,
  ;; filterWidth, strideHeight, strideWidth, padTop, padLeft.
  (func (export "depthwiseGradient")
    (param $x i32) (param $dy i32) (param $w i32) (param $out i32) (param $geometry i32)
    (param $mode i32)
    (local $batch i32) (local $inHeight i32) (local $inWidth i32) (local $channels i32)
    (local $outHeight i32) (local $outWidth i32) (local $filterHeight i32)
    (local $filterWidth i32) (local $strideHeight i32) (local $strideWidth i32)
    (local $top i32) (local $left i32)
    (local $n i32) (local $oy i32) (local $ox i32) (local $ky i32) (local $kx i32)
    (local $iy i32) (local $ix i32) (local $c i32) (local $vectorChannels i32)
    (local $xAt i32) (local $yAt i32) (local $wAt i32) (local $at i32) (local $v v128)
    (local.set $batch (i32.load (local.get $geometry)))
    (local.set $inHeight (i32.load offset=4 (local.get $geometry)))
    (local.set $inWidth (i32.load offset=8 (local.get $geometry)))
    (local.set $channels (i32.load offset=12 (local.get $geometry)))
    (local.set $outHeight (i32.load offset=16 (local.get $geometry)))
    (local.set $outWidth (i32.load offset=20 (local.get $geometry)))
    (local.set $filterHeight (i32.load offset=24 (local.get $geometry)))
    (local.set $filterWidth (i32.load offset=28 (local.get $geometry)))
    (local.set $strideHeight (i32.load offset=32 (local.get $geometry)))
    (local.set $strideWidth (i32.load offset=36 (local.get $geometry)))
    (local.set $top (i32.load offset=40 (local.get $geometry)))
    (local.set $left (i32.load offset=44 (local.get $geometry)))
    (local.set $vectorChannels (i32.and (local.get $channels) (i32.const -4)))
    ;; yAt: the output pixel's first float, counted in floats
    (local.set $yAt (i32.const 0))
    (local.set $n (i32.const 0))
    (block $nDone (loop $nNext
      (br_if $nDone (i32.ge_u (local.get $n) (local.get $batch)))
      (local.set $oy (i32.const 0))
      (block $oyDone (loop $oyNext
        (br_if $oyDone (i32.ge_u (local.get $oy) (local.get $outHeight)))
        (local.set $ox (i32.const 0))
        (block $oxDone (loop $oxNext
          (br_if $oxDone (i32.ge_u (local.get $ox) (local.get $outWidth)))
          (local.set $ky (i32.const 0))
          (block $kyDone (loop $kyNext
            (br_if $kyDone (i32.ge_u (local.get $ky) (local.get $filterHeight)))
            (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $strideHeight))
              (local.get $top)) (local.get $ky)))
            (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0))
                (i32.lt_s (local.get $iy) (local.get $inHeight))) (then
              (local.set $kx (i32.const 0))
              (block $kxDone (loop $kxNext
                (br_if $kxDone (i32.ge_u (local.get $kx) (local.get $filterWidth)))
                (local.set $ix (i32.add (i32.sub (i32.mul (local.get $ox)
                  (local.get $strideWidth)) (local.get $left)) (local.get $kx)))
                (if (i32.and (i32.ge_s (local.get $ix) (i32.const 0))
                    (i32.lt_s (local.get $ix) (local.get $inWidth))) (then
                  (local.set $xAt (i32.mul (local.get $channels) (i32.add (local.get $ix)
                    (i32.mul (local.get $inWidth) (i32.add (local.get $iy)
                      (i32.mul (local.get $n) (local.get $inHeight)))))))
                  (local.set $wAt (i32.mul (local.get $channels) (i32.add (local.get $kx)
                    (i32.mul (local.get $ky) (local.get $filterWidth)))))
                  (local.set $c (i32.const 0))
                  (if (i32.eqz (local.get $mode)) (then
                    (block $cDone (loop $cNext
                      (br_if $cDone (i32.ge_u (local.get $c) (local.get $vectorChannels)))
                      (local.set $at (i32.add (local.get $out)
                        (i32.shl (i32.add (local.get $xAt) (local.get $c)) (i32.const 2))))
                      (v128.store (local.get $at) (f32x4.add (v128.load (local.get $at))
                        (f32x4.mul
                          (v128.load (i32.add (local.get $dy)
                            (i32.shl (i32.add (local.get $yAt) (local.get $c)) (i32.const 2))))
                          (v128.load (i32.add (local.get $w)
                            (i32.shl (i32.add (local.get $wAt) (local.get $c)) (i32.const 2)))))))
                      (local.set $c (i32.add (local.get $c) (i32.const 4)))
                      (br $cNext)))
                    (block $tDone (loop $tNext
                      (br_if $tDone (i32.ge_u (local.get $c) (local.get $channels)))
                      (local.set $at (i32.add (local.get $out)
                        (i32.shl (i32.add (local.get $xAt) (local.get $c)) (i32.const 2))))
                      (f32.store (local.get $at) (f32.add (f32.load (local.get $at))
                        (f32.mul
                          (f32.load (i32.add (local.get $dy)
                            (i32.shl (i32.add (local.get $yAt) (local.get $c)) (i32.const 2))))
                          (f32.load (i32.add (local.get $w)
                            (i32.shl (i32.add (local.get $wAt) (local.get $c)) (i32.const 2)))))))
                      (local.set $c (i32.add (local.get $c) (i32.const 1)))
                      (br $tNext))))
                  (else
                    (block $cDone (loop $cNext
                      (br_if $cDone (i32.ge_u (local.get $c) (local.get $vectorChannels)))
                      (local.set $v (f32x4.mul
                        (v128.load (i32.add (local.get $x)
                          (i32.shl (i32.add (local.get $xAt) (local.get $c)) (i32.const 2))))
                        (v128.load (i32.add (local.get $dy)
                          (i32.shl (i32.add (local.get $yAt) (local.get $c)) (i32.const 2))))))
                      (local.set $at (i32.add (local.get $out)
                        (i32.shl (i32.add (local.get $wAt) (local.get $c)) (i32.const 3))))
                      (v128.store (local.get $at) (f64x2.add (v128.load (local.get $at))
                        (f64x2.promote_low_f32x4 (local.get $v))))
                      (v128.store offset=16 (local.get $at)
                        (f64x2.add (v128.load offset=16 (local.get $at))
                          (f64x2.promote_low_f32x4 (i8x16.shuffle
                            8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
                      (local.set $c (i32.add (local.get $c) (i32.const 4)))
                      (br $cNext)))
                    (block $tDone (loop $tNext
                      (br_if $tDone (i32.ge_u (local.get $c) (local.get $channels)))
                      (local.set $at (i32.add (local.get $out)
                        (i32.shl (i32.add (local.get $wAt) (local.get $c)) (i32.const 3))))
                      (f64.store (local.get $at) (f64.add (f64.load (local.get $at))
                        (f64.promote_f32 (f32.mul
                          (f32.load (i32.add (local.get $x)
                            (i32.shl (i32.add (local.get $xAt) (local.get $c)) (i32.const 2))))
                          (f32.load (i32.add (local.get $dy)
                            (i32.shl (i32.add (local.get $yAt) (local.get $c)) (i32.const 2))))))))
                      (local.set $c (i32.add (local.get $c) (i32.const 1)))
                      (br $tNext)))))))
                (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
                (br $kxNext)))))
            (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
            (br $kyNext)))
          (local.set $yAt (i32.add (local.get $yAt) (local.get $channels)))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $oxNext)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $oyNext)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $nNext))))

  ;; tf.js' dropout multiplier, floor(u + keep) / keep in float32, for n units, the draws u
  ;; from seedrandom's alea started at the state (s0, s1, s2, c) that lib/backend/dropout.ts
  ;; seeds: t = 2091639 s0 + c 2^-32, then s0 = s1, s1 = s2, c = trunc(t), s2 = t - c.
  (func (export "dropoutMask")
    (param $out i32) (param $n i32) (param $s0 f64) (param $s1 f64) (param $s2 f64)
    (param $c f64) (param $keep f32) (param $kept f32)
    (local $i i32) (local $end i32) (local $t f64)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $t (f64.add (f64.mul (f64.const 2091639) (local.get $s0))
        (f64.mul (local.get $c) (f64.const 2.3283064365386963e-10))))
      (local.set $s0 (local.get $s1))
      (local.set $s1 (local.get $s2))
      ;; trunc(t) as a float (t is in [0, 2^21)): no round trip through an integer
      (local.set $c (f64.trunc (local.get $t)))
      (local.set $s2 (f64.sub (local.get $t) (local.get $c)))
      (f32.store (i32.add (local.get $out) (local.get $i))
        (select (local.get $kept) (f32.const 0)
          (f32.ge (f32.add (f32.demote_f64 (local.get $s2)) (local.get $keep)) (f32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next))))
)
