/**
 * MaxPoolGrad's common case, a 2x2 pool with stride 2 and no padding (pytorch's and
 * pytorch-gap's pools), as one pass over the windows: each window's first maximum gets dy,
 * as in the general loop of wasm_kernels.ts, which this replaces there (pytorch's
 * [16, 24, 24, 10] pool: ~1 ms in the general loop, see the commit for figures).
 */

/** True for the pools `maxPoolGrad2x2` takes: 2x2 windows, stride 2, no padding. */
export function isPool2x2(info: {
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padInfo: { top: number; left: number };
}): boolean {
  return info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 &&
    info.strideWidth === 2 && info.padInfo.top === 0 && info.padInfo.left === 0;
}

/**
 * dx of a 2x2 stride-2 max pool (NHWC, `shape` = [n, h, w, c] of x; dy [n, floor(h / 2),
 * floor(w / 2), c]): dy goes to the first maximum of each window in row-major order, a NaN
 * first pixel losing to any number, as on cpu; every other pixel gets 0.
 */
export function maxPoolGrad2x2(
  x: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  [batch, height, width, channels]: number[],
): void {
  const outHeight = Math.floor(height / 2);
  const outWidth = Math.floor(width / 2);
  const rowLength = width * channels;
  dx.fill(0);
  let dyAt = 0;
  for (let b = 0; b < batch; b++) {
    for (let row = 0; row < outHeight; row++) {
      let top = (b * height + 2 * row) * rowLength;
      for (let col = 0; col < outWidth; col++, top += 2 * channels, dyAt += channels) {
        const bottom = top + rowLength;
        for (let c = 0; c < channels; c++) {
          let at = top + c;
          let best = x[at];
          const right = at + channels;
          if (x[right] > best || best !== best) {
            best = x[right];
            at = right;
          }
          const below = bottom + c;
          if (x[below] > best || best !== best) {
            best = x[below];
            at = below;
          }
          if (x[below + channels] > best || best !== best) at = below + channels;
          dx[at] = dy[dyAt + c];
        }
      }
    }
  }
}
