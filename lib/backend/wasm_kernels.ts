/**
 * Kernels that make training on the wasm backend possible and fast. `Conv2DBackpropFilter`,
 * which wasm lacks (tensorflow/tfjs#8474), and `Conv2DBackpropInput` (built-in: ~10x slower
 * than a forward conv) are built from wasm's fast XNNPACK forward convolution. Others replace
 * built-in kernels where training small models at batch 16 hits slow paths: `BatchMatMul`
 * (dense layers: transposed operands, and XNNPACK repacking the weights every step),
 * `MaxPoolGrad`, `Tile`, per-channel `Multiply`/`RealDiv`, `Sum` over leading axes (bias
 * gradients), `LeakyRelu` and its gradient, `Identity`/`Cast` (which copied every tensor the
 * gradient tape saves), and Mean's gradient (global average pooling). Each was measured
 * faster and is checked against the cpu backend in test/wasm_kernels_test.ts; for shapes or
 * dtypes a replacement does not handle, it calls the built-in kernel it replaced. JS loops
 * read and write tensors in the wasm heap directly.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { registerMomentumKernel } from "./momentum.ts";
import { isPool2x2, maxPoolGrad2x2 } from "./max_pool_grad.ts";
import { heapOffset, simdLoops } from "./simd.ts";
import { DEPTHWISE_GRADIENT_KERNELS } from "./depthwise_grad.ts";

type Pair = [number, number];
type Shape4D = [number, number, number, number];

interface FilterGradArgs {
  inputs: { x: tf.TensorInfo; dy: tf.TensorInfo };
  backend: tf.KernelBackend;
  attrs: tf.Conv2DBackpropFilterAttrs;
}

interface MatMulArgs {
  inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
  backend: BackendWasm;
  attrs: tf.BatchMatMulAttrs;
}

interface BinaryArgs {
  inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}

interface TileArgs {
  inputs: { x: tf.TensorInfo };
  backend: BackendWasm;
  attrs: tf.TileAttrs;
}

interface MaxPoolGradArgs {
  inputs: { dy: tf.TensorInfo; input: tf.TensorInfo; output: tf.TensorInfo };
  backend: BackendWasm;
  attrs: tf.MaxPoolGradAttrs;
}

interface UnaryArgs {
  inputs: { x: tf.TensorInfo };
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}

interface SumArgs {
  inputs: { x: tf.TensorInfo };
  backend: BackendWasm;
  attrs: tf.SumAttrs;
}

interface ActivationGradArgs {
  inputs: { dy: tf.TensorInfo; x: tf.TensorInfo };
  backend: tf.KernelBackend;
  attrs: { alpha: number };
}

interface InputGradArgs {
  inputs: { dy: tf.TensorInfo; filter: tf.TensorInfo };
  backend: BackendWasm;
  attrs: tf.Conv2DBackpropInputAttrs;
}

/** The names of the kernels `registerWasmKernels()` adds or replaces on wasm. */
export const WASM_KERNEL_NAMES = [
  "Conv2DBackpropFilter",
  "Conv2DBackpropInput",
  "BatchMatMul",
  "MaxPoolGrad",
  "Tile",
  "Multiply",
  "RealDiv",
  "Identity",
  "Cast",
  "Sum",
  "LeakyRelu",
] as const;

const KERNEL_FUNCS: Record<typeof WASM_KERNEL_NAMES[number], tf.KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter as unknown as tf.KernelFunc,
  Conv2DBackpropInput: conv2DBackpropInput as unknown as tf.KernelFunc,
  BatchMatMul: batchMatMul as unknown as tf.KernelFunc,
  MaxPoolGrad: maxPoolGrad as unknown as tf.KernelFunc,
  Tile: tile as unknown as tf.KernelFunc,
  Multiply: ((args: BinaryArgs) => perChannelBinary("Multiply", args)) as tf.KernelFunc,
  RealDiv: ((args: BinaryArgs) => perChannelBinary("RealDiv", args)) as tf.KernelFunc,
  Identity: identity as unknown as tf.KernelFunc,
  Cast: cast as unknown as tf.KernelFunc,
  Sum: sum as unknown as tf.KernelFunc,
  LeakyRelu: leakyRelu as unknown as tf.KernelFunc,
};

/** How wasm's Conv2DBackpropInput runs: as a forward conv, built-in, or "auto" (the cheaper). */
export type InputGradientPath = "auto" | "conv" | "builtin";

// Cost model for "auto", measured on wasm SIMD, one thread (bench/kernels_bench.ts): the
// built-in kernel runs ~1.2 GMAC/s; the conv path pays ~80 us (an XNNPACK operator is built
// for each new filter) and then ~8 GMAC/s over every dx position and filter tap, which for a
// stride s is ~s^2 times the forward conv's work.
const BUILTIN_MACS_PER_MICROSECOND = 1200;
const CONV_MACS_PER_MICROSECOND = 8000;
const CONV_OVERHEAD_MICROSECONDS = 80;

const builtinKernels = new Map<string, tf.KernelConfig>();
// Filters (by data id) whose convolutions' input gradient is not needed: see withoutInputGradient.
const skippedInputGradients = new Set<tf.DataId>();
let registered = false;
let inputGradientPath: InputGradientPath = "auto";

/** Registers the wasm gradient kernels once, keeping the built-ins they replace; then a no-op. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  for (const kernelName of WASM_KERNEL_NAMES) {
    const builtin = tf.getKernel(kernelName, "wasm");
    if (builtin !== undefined) {
      builtinKernels.set(kernelName, builtin);
      tf.unregisterKernel(kernelName, "wasm");
    }
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      // The replaced kernel's setup (its cwrap of the wasm function) still has to run, as our
      // kernel falls back to it for cases it does not handle.
      setupFunc: builtin?.setupFunc,
      disposeFunc: builtin?.disposeFunc,
      kernelFunc: KERNEL_FUNCS[kernelName],
    });
  }
  for (const [kernelName, kernelFunc] of Object.entries(DEPTHWISE_GRADIENT_KERNELS)) {
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc });
  }
  registerMeanGradient();
  registerActivationGradients();
  registerMomentumKernel();
}

/** The built-in wasm kernel that `registerWasmKernels()` replaced, if any, for comparisons. */
export function builtinWasmKernel(kernelName: string): tf.KernelConfig | undefined {
  return builtinKernels.get(kernelName);
}

/** Sets how wasm's Conv2DBackpropInput runs (default "auto"); tests force each path. */
export function setInputGradientPath(path: InputGradientPath): void {
  inputGradientPath = path;
}

/**
 * Runs `f` with wasm's input gradient of every convolution by `filter` replaced by zeros. For
 * a model's first layer, whose input (the images) needs no gradient: tf.js's fused conv
 * computes it anyway, and for a 1-channel image it is the slowest gradient of the step
 * (pytorch's 5x5 conv: ~2 ms of ~8). The tape saves the filter without copying it (see
 * `identity`), so the kernel sees the variable's own data id.
 */
export function withoutInputGradient<T>(filter: tf.Tensor, f: () => T): T {
  skippedInputGradients.add(filter.dataId);
  try {
    return f();
  } finally {
    skippedInputGradients.delete(filter.dataId);
  }
}

/** True inside `withoutInputGradient(filter, ...)`: that filter's convolutions skip their input gradient. */
export function isInputGradientSkipped(filter: tf.TensorInfo): boolean {
  return skippedInputGradients.has(filter.dataId);
}

/** The path "auto" takes for a conv's input gradient, given x's, the filter's and dy's shapes. */
export function chooseInputGradientPath(
  inputShape: Shape4D,
  filterShape: Shape4D,
  dyShape: Shape4D,
): "conv" | "builtin" {
  const macsPerPixel = filterShape[0] * filterShape[1] * filterShape[2] * filterShape[3];
  const forwardMacs = dyShape[0] * dyShape[1] * dyShape[2] * macsPerPixel;
  const convMacs = inputShape[0] * inputShape[1] * inputShape[2] * macsPerPixel;
  const builtinMicros = forwardMacs / BUILTIN_MACS_PER_MICROSECOND;
  const convMicros = CONV_OVERHEAD_MICROSECONDS + convMacs / CONV_MACS_PER_MICROSECOND;
  return convMicros < builtinMicros ? "conv" : "builtin";
}

// dW[kh, kw, ci, co] = sum over n, i, j of xPadded[n, i*s + kh, j*s + kw, ci] * dy[n, i, j, co]:
// a stride-1 convolution of x (batch and channel axes swapped) with dy as the filter, dilated
// by the forward stride. On the models' shapes it beat an im2col matmul (whose slices and
// concat cost as much as the product) or tied: keras-cnn conv2 19 vs 20 ms, pytorch conv2
// 0.6 vs 2.5 ms, 5 -> 8 and 8 -> 8 channel convs 3-5x; only 1-channel inputs were mixed.
function conv2DBackpropFilter({ inputs, attrs, backend }: FilterGradArgs): tf.Tensor4D {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  checkChannelsLast("Conv2DBackpropFilter", dataFormat);
  return tf.tidy(() => {
    const x = asTensor<tf.Tensor4D>(inputs.x, backend);
    const dy = asTensor<tf.Tensor4D>(inputs.dy, backend);
    const { strideHeight, strideWidth, padInfo } = tf.backend_util.computeConv2DInfo(
      x.shape,
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const [n, height, width, inChannels] = x.shape;
    const [, outHeight, outWidth] = dy.shape;
    // Padding that makes the output exactly kh x kw; negative means the forward conv never
    // read x's last rows (or columns), so they are cropped instead.
    const bottom = filterShape[0] + (outHeight - 1) * strideHeight - height - padInfo.top;
    const right = filterShape[1] + (outWidth - 1) * strideWidth - width - padInfo.left;
    const cropped = bottom < 0 || right < 0
      ? tf.slice(x, 0, [n, height + Math.min(bottom, 0), width + Math.min(right, 0), inChannels])
      : x;
    const xT = tf.transpose(cropped, [3, 1, 2, 0]); // [ci, H, W, n]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, n, co]
    const padding = explicitPadding(
      [padInfo.top, Math.max(bottom, 0)],
      [padInfo.left, Math.max(right, 0)],
    );
    const dW = tf.conv2d(xT, dyT, 1, padding, "NHWC", [strideHeight, strideWidth]);
    return tf.transpose(dW, [1, 2, 0, 3]); // [kh, kw, ci, co]
  });
}

// dx[n, h, w, ci] = sum over kh, kw, co of dyDilated[n, h + top - kh, w + left - kw, co] *
// W[kh, kw, ci, co]: a forward convolution of dy (zeros inserted between entries when the
// stride is > 1) padded by k - 1 - pad, with the filter reversed spatially and its channel
// axes swapped.
function conv2DBackpropInput(args: InputGradArgs): tf.TensorInfo {
  const { inputs, attrs, backend } = args;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  if (skippedInputGradients.has(inputs.filter.dataId)) {
    const zeros = backend.makeOutput(inputShape, "float32");
    backend.typedArrayFromHeap(zeros).fill(0);
    return zeros;
  }
  const useBuiltin = dataFormat !== "NHWC" || inputGradientPath === "builtin" ||
    (inputGradientPath === "auto" &&
      chooseInputGradientPath(inputShape, shape4D(inputs.filter), shape4D(inputs.dy)) ===
        "builtin");
  if (useBuiltin && builtinKernels.has("Conv2DBackpropInput")) {
    return runBuiltin("Conv2DBackpropInput", args);
  }
  checkChannelsLast("Conv2DBackpropInput", dataFormat);
  return tf.tidy(() => {
    const dy = asTensor<tf.Tensor4D>(inputs.dy, backend);
    const filter = asTensor<tf.Tensor4D>(inputs.filter, backend);
    const [filterHeight, filterWidth] = filter.shape;
    const { strideHeight, strideWidth, padInfo } = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const dilated = dilate(dy, strideHeight, strideWidth);
    const [n, dilatedHeight, dilatedWidth, outChannels] = dilated.shape;
    const [rowsBefore, rowsAfter] = backwardPadding(
      filterHeight,
      padInfo.top,
      inputShape[1],
      dilatedHeight,
    );
    const [colsBefore, colsAfter] = backwardPadding(
      filterWidth,
      padInfo.left,
      inputShape[2],
      dilatedWidth,
    );
    // Negative padding (a forward pad wider than k - 1, or rows the forward conv never
    // reached) means dy's edge rows feed nothing: crop them.
    const cropTop = Math.max(-rowsBefore, 0);
    const cropLeft = Math.max(-colsBefore, 0);
    const cropped = cropTop + cropLeft > 0 || rowsAfter < 0 || colsAfter < 0
      ? tf.slice(dilated, [0, cropTop, cropLeft, 0], [
        n,
        dilatedHeight - cropTop + Math.min(rowsAfter, 0),
        dilatedWidth - cropLeft + Math.min(colsAfter, 0),
        outChannels,
      ])
      : dilated;
    const padding = explicitPadding(
      [Math.max(rowsBefore, 0), Math.max(rowsAfter, 0)],
      [Math.max(colsBefore, 0), Math.max(colsAfter, 0)],
    );
    return tf.conv2d(cropped, flippedFilter(filter), 1, padding);
  });
}

// wasm's BatchMatMul runs XNNPACK only when neither operand is transposed, else a scalar loop
// 10-20x slower, and every dense layer's gradient transposes one operand (keras-cnn's 9216 x
// 128 dense: 23 + 27 ms per step). And XNNPACK packs the right operand before multiplying, at
// ~4 ns per element, which training pays on every step as the weights change: 5 of the 6 ms
// of keras-cnn's forward [16, 9216] x [9216, 128]. Of C = op(A) op(B) and C^T =
// op(B)^T op(A)^T this picks the cheaper, counting explicit transposes (JS, ~1.4 ns per
// element) and packing. A right operand seen before (inference: fixed weights) goes to
// XNNPACK as it is, which keeps the packed copy of a tensor until it is disposed.
function batchMatMul(args: MatMulArgs): tf.TensorInfo {
  const { inputs, attrs, backend } = args;
  const { a, b } = inputs;
  const { transposeA, transposeB } = attrs;
  if (
    a.dtype !== "float32" || b.dtype !== "float32" || !isOneMatrix(a.shape) ||
    !isOneMatrix(b.shape)
  ) {
    return runBuiltin("BatchMatMul", args);
  }
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const [m, k] = transposeA ? [aCols, aRows] : [aRows, aCols];
  const n = transposeB ? bRows : bCols;
  const direct = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + PACKING_COST * k * n;
  const swapped = (transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + PACKING_COST * k * m +
    m * n;
  if (!transposeA && !transposeB) {
    const seen = packedOperands.has(b.dataId);
    packedOperands.add(b.dataId);
    if (seen || direct <= swapped) return runBuiltin("BatchMatMul", args);
  }
  const temporaries: tf.TensorInfo[] = [];
  const transposed = (info: tf.TensorInfo) => {
    temporaries.push(transposeMatrix(backend, info));
    return temporaries.at(-1)!;
  };
  const multiply = (left: tf.TensorInfo, right: tf.TensorInfo) =>
    runBuiltin("BatchMatMul", {
      inputs: { a: left, b: right },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    });
  let result: tf.TensorInfo;
  if (direct <= swapped) {
    result = multiply(transposeA ? transposed(a) : a, transposeB ? transposed(b) : b);
  } else {
    const product = multiply(transposeB ? b : transposed(b), transposeA ? a : transposed(a));
    temporaries.push(product);
    result = transposeMatrix(backend, product);
  }
  temporaries.forEach((info) => backend.disposeData(info.dataId));
  return result;
}

// XNNPACK's packing of a matmul's right operand costs ~3x a JS transpose per element.
const PACKING_COST = 3;
// Right operands of untransposed products so far (weak: data ids go with their tensors).
const packedOperands = new WeakSet<tf.DataId>();

// Swaps the last two axes of a float32 matrix (leading axes of size 1) in 16 x 16 blocks:
// wasm's Transpose takes 1-10 ns per element depending on the shape ([128, 9216]: 13 ms).
function transposeMatrix(backend: BackendWasm, info: tf.TensorInfo): tf.TensorInfo {
  const [rows, cols] = info.shape.slice(-2);
  const out = backend.makeOutput([...info.shape.slice(0, -2), cols, rows], "float32");
  const from = heapView(backend, info);
  const to = heapView(backend, out);
  for (let row0 = 0; row0 < rows; row0 += 16) {
    const row1 = Math.min(row0 + 16, rows);
    for (let col0 = 0; col0 < cols; col0 += 16) {
      const col1 = Math.min(col0 + 16, cols);
      for (let col = col0; col < col1; col++) {
        for (let row = row0; row < row1; row++) to[col * rows + row] = from[row * cols + col];
      }
    }
  }
  return out;
}

// tf.js's Mean gradient multiplies dy by a tensor of ones of x's shape and divides by the
// count: three full-size ops. Dividing dy first and tiling it (JS Tile, above) gives the same
// values 3-4x faster on wasm (Small Net's global average pool: 0.35 -> 0.09 ms). Gradients
// are registered for every backend, so the others keep tf.js's own.
function registerMeanGradient(): void {
  const builtin = tf.getGradient("Mean");
  tf.registerGradient({
    kernelName: "Mean",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      if (tf.getBackend() !== "wasm" && builtin !== undefined) {
        return builtin.gradFunc(dy, saved, attrs);
      }
      const [x] = saved;
      const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape);
      const kept = x.shape.map((size, axis) => (axes.includes(axis) ? 1 : size));
      const reps = x.shape.map((size, axis) => (axes.includes(axis) ? size : 1));
      const count = axes.reduce((product, axis) => product * x.shape[axis], 1);
      return { x: () => tf.tile(tf.reshape(tf.div(dy as tf.Tensor, count), kept), reps) };
    },
  });
}

// True when all but the last two axes have size 1 (XNNPACK's path takes one matrix).
function isOneMatrix(shape: number[]): boolean {
  return shape.slice(0, -2).every((size) => size === 1);
}

// wasm's Identity (tensor.clone(), and every tensor the gradient tape saves) and a Cast to the
// same dtype copy the whole buffer; tensors never change in place, so sharing it is enough,
// as the cpu backend and wasm's own Reshape do.
function identity(args: UnaryArgs): tf.TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === "string") return runBuiltin("Identity", args);
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function cast(args: UnaryArgs): tf.TensorInfo {
  if (args.attrs?.dtype !== args.inputs.x.dtype) return runBuiltin("Cast", args);
  return identity(args);
}

// wasm sums only innermost axes and transposes the input first otherwise, which gets slow for
// large inputs (bias gradients sum over batch, height and width: 2.9 ms for keras-cnn's
// [16, 24, 24, 64]). Summing a block of adjacent axes in place (0.85 ms there) adds the same
// values in the same order into float32 sums. Below ~256K elements wasm's way is as fast.
function sum(args: SumArgs): tf.TensorInfo {
  const { inputs: { x }, attrs } = args;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const first = axes[0];
  const last = axes.at(-1)!;
  if (
    x.dtype !== "float32" || tf.util.sizeFromShape(x.shape) < 1 << 18 || axes.length === 0 ||
    last - first + 1 !== axes.length || last === x.shape.length - 1
  ) {
    return runBuiltin("Sum", args);
  }
  const outer = tf.util.sizeFromShape(x.shape.slice(0, first));
  const count = tf.util.sizeFromShape(x.shape.slice(first, last + 1));
  const inner = tf.util.sizeFromShape(x.shape.slice(last + 1));
  const outShape = x.shape.flatMap((size, axis) =>
    axis < first || axis > last ? [size] : attrs.keepDims ? [1] : []
  );
  const out = args.backend.makeOutput(outShape, "float32");
  const xs = heapView(args.backend, x);
  const sums = heapView(args.backend, out);
  sums.fill(0);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < count; r++) {
      const at = (o * count + r) * inner;
      for (let i = 0; i < inner; i++) sums[o * inner + i] += xs[at + i];
    }
  }
  return out;
}

// wasm's LeakyRelu is a scalar loop (0.2 ms for Small Net's [16, 26, 26, 5]). The same select,
// written as a product with a 0/1 flag (a branch on the sign of activations mispredicts
// half the time), runs ~4x faster in JS, writing into the wasm heap. The factor is exactly
// 1 or alpha, so the products equal wasm's.
function leakyRelu(args: UnaryArgs): tf.TensorInfo {
  const { x } = args.inputs;
  if (x.dtype !== "float32") return runBuiltin("LeakyRelu", args);
  const alpha = Math.fround(args.attrs!.alpha as number);
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput(x.shape, "float32");
  const simd = simdLoops(backend);
  if (simd !== undefined) {
    simd.leakyRelu(
      heapOffset(backend, x),
      heapOffset(backend, out),
      tf.util.sizeFromShape(x.shape),
      alpha,
    );
    return out;
  }
  const xs = heapView(backend, x);
  const ys = heapView(backend, out);
  const alphaMinusOne = alpha - 1;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    ys[i] = v * (1 + +(v < 0) * alphaMinusOne);
  }
  return out;
}

// tf.js's gradient of LeakyRelu, where(x > 0, dy, dy * alpha), runs three full-size kernels,
// wasm's Greater against a scalar slowly (0.7 ms for Small Net's [16, 26, 26, 5]); one pass
// computes the same values in 0.17 ms (JS), less in SIMD. Relu's, dy * step(x), runs Step,
// Cast and Multiply (1.1 ms a step for keras-cnn's two conv layers); one pass, "ReluGrad",
// gives the same values. Other backends keep tf.js's gradients.
function registerActivationGradients(): void {
  for (
    const [forward, kernelName, kernelFunc] of [
      ["LeakyRelu", "LeakyReluGrad", leakyReluGrad],
      ["Relu", "ReluGrad", reluGrad],
    ] as const
  ) {
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
    const builtin = tf.getGradient(forward)!;
    tf.registerGradient({
      kernelName: forward,
      inputsToSave: ["x"],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        if (tf.getBackend() !== "wasm" || x.dtype !== "float32") {
          return builtin.gradFunc(dy, saved, attrs);
        }
        return {
          x: () =>
            tf.engine().runKernel(kernelName, { dy: dy as tf.Tensor, x }, attrs) as tf.Tensor,
        };
      },
    });
  }
}

// dx = dy * step(x), step being 1 above 0, NaN for NaN and 0 otherwise, as tf.js's.
function reluGrad(args: ActivationGradArgs): tf.TensorInfo {
  const { dy, x } = args.inputs;
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput(x.shape, "float32");
  const simd = simdLoops(backend);
  if (simd !== undefined) {
    const at = (info: tf.TensorInfo) => heapOffset(backend, info);
    simd.reluGrad(at(dy), at(x), at(out), tf.util.sizeFromShape(x.shape));
    return out;
  }
  const xs = heapView(backend, x);
  const dys = heapView(backend, dy);
  const dxs = heapView(backend, out);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    dxs[i] = dys[i] * (v > 0 ? 1 : v !== v ? NaN : 0);
  }
  return out;
}

function leakyReluGrad(args: ActivationGradArgs): tf.TensorInfo {
  const { dy, x } = args.inputs;
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput(x.shape, "float32");
  const slope = Math.fround(args.attrs.alpha);
  const simd = simdLoops(backend);
  if (simd !== undefined) {
    const at = (info: tf.TensorInfo) => heapOffset(backend, info);
    simd.leakyReluGrad(at(dy), at(x), at(out), tf.util.sizeFromShape(x.shape), slope);
    return out;
  }
  const xs = heapView(backend, x);
  const dys = heapView(backend, dy);
  const dxs = heapView(backend, out);
  const oneMinusSlope = 1 - slope;
  // dy times exactly 1 or slope, as a product with a 0/1 flag: no branch to mispredict.
  for (let i = 0; i < xs.length; i++) dxs[i] = dys[i] * (slope + +(xs[i] > 0) * oneMinusSlope);
  return out;
}

// wasm's MaxPoolGrad takes 11 ms for keras-cnn's [16, 24, 24, 64] pool, and drops the gradient
// of any window whose maximum is <= 0 (it starts its search at FLT_MIN, not -Infinity) and
// routes ties to the last maximum. This JS loop (2.3 ms there, reading and writing the wasm
// heap directly) matches the cpu backend: the first maximum of each window gets dy, and
// overlapping windows add up (only a window of nothing but NaN or -Infinity differs: cpu
// drops its gradient, this gives it to the first).
function maxPoolGrad({ inputs, attrs, backend }: MaxPoolGradArgs): tf.TensorInfo {
  const { dy, input } = inputs;
  if (input.dtype !== "float32" || input.shape.length !== 4) {
    return runBuiltin("MaxPoolGrad", { inputs, attrs, backend });
  }
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as Shape4D,
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const out = backend.makeOutput(input.shape, "float32");
  const x = heapView(backend, input);
  const dys = heapView(backend, dy);
  const dx = heapView(backend, out);
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  if (isPool2x2(info) && outHeight === inHeight >> 1 && outWidth === inWidth >> 1) {
    const simd = channels >= 4 ? simdLoops(backend) : undefined;
    if (simd === undefined) {
      maxPoolGrad2x2(x, dys, dx, input.shape);
      return out;
    }
    if (inHeight % 2 !== 0 || inWidth % 2 !== 0) dx.fill(0); // the pixels no window covers
    const at = (info: tf.TensorInfo) => heapOffset(backend, info);
    simd.maxPoolGrad2x2(at(input), at(dy), at(out), batchSize, inHeight, inWidth, channels);
    return out;
  }
  const best = new Float32Array(channels);
  const bestAt = new Int32Array(channels);
  dx.fill(0);
  for (let b = 0; b < batchSize; b++) {
    for (let row = 0; row < outHeight; row++) {
      const top = row * info.strideHeight - info.padInfo.top;
      const rowStart = Math.max(top, 0);
      const rowEnd = Math.min(top + info.filterHeight, inHeight);
      for (let col = 0; col < outWidth; col++) {
        const left = col * info.strideWidth - info.padInfo.left;
        const colStart = Math.max(left, 0);
        const colEnd = Math.min(left + info.filterWidth, inWidth);
        // Start from the window's first pixel (none: a window wholly in the padding).
        if (rowStart >= rowEnd || colStart >= colEnd) continue;
        const first = ((b * inHeight + rowStart) * inWidth + colStart) * channels;
        for (let c = 0; c < channels; c++) {
          best[c] = x[first + c];
          bestAt[c] = first + c;
        }
        for (let xRow = rowStart; xRow < rowEnd; xRow++) {
          for (let xCol = xRow === rowStart ? colStart + 1 : colStart; xCol < colEnd; xCol++) {
            const base = ((b * inHeight + xRow) * inWidth + xCol) * channels;
            for (let c = 0; c < channels; c++) {
              // `best !== best`: a NaN first pixel loses to any number, as on cpu.
              if (x[base + c] > best[c] || best[c] !== best[c]) {
                best[c] = x[base + c];
                bestAt[c] = base + c;
              }
            }
          }
        }
        const dyBase = ((b * outHeight + row) * outWidth + col) * channels;
        for (let c = 0; c < channels; c++) dx[bestAt[c]] += dys[dyBase + c];
      }
    }
  }
  return out;
}

// wasm's Tile copies element by element (2.7 ms to tile [1, 1, 1, 5] to [16, 26, 26, 5], which
// batch norm's gradient does); copying whole blocks in JS takes ~0.1 ms.
function tile({ inputs, attrs, backend }: TileArgs): tf.TensorInfo {
  const { x } = inputs;
  if (x.dtype === "string" || x.dtype === "complex64") {
    return runBuiltin("Tile", { inputs, attrs, backend });
  }
  const shape = x.shape;
  const outShape = shape.map((size, axis) => size * attrs.reps[axis]);
  // Built where the result lies, in the wasm heap (views taken after the allocation).
  const result = backend.makeOutput(outShape, x.dtype);
  const values = backend.typedArrayFromHeap(x) as Float32Array | Int32Array | Uint8Array;
  const out = backend.typedArrayFromHeap(result) as typeof values;
  const inStrides = tf.util.computeStrides(shape);
  const outStrides = tf.util.computeStrides(outShape);
  // Writes x's block at `axis` (one copy per index), then repeats it reps[axis] times.
  const fill = (axis: number, from: number, to: number): void => {
    if (axis === shape.length - 1 || shape.length === 0) {
      const length = shape.length === 0 ? 1 : shape[axis];
      out.set(values.subarray(from, from + length), to);
    } else {
      for (let i = 0; i < shape[axis]; i++) {
        fill(axis + 1, from + i * inStrides[axis], to + i * outStrides[axis]);
      }
    }
    const blockLength = shape.length === 0 ? 1 : shape[axis] * (outStrides[axis] ?? 1);
    for (let copied = 1; copied < (attrs.reps[axis] ?? 1);) {
      const count = Math.min(copied, attrs.reps[axis] - copied);
      out.copyWithin(to + copied * blockLength, to, to + count * blockLength);
      copied += count;
    }
  };
  if (out.length > 0) fill(0, 0, 0);
  return result;
}

// wasm's Multiply and RealDiv run ~5x slower when one operand is a per-channel vector whose
// length is not a multiple of 4 (0.50 vs 0.10 ms on [16, 26, 26, 5] x [5]; Add and Sub are
// unaffected), as in batch norm's gradient with Small Net's 5 channels. Viewing k rows as
// one of k * c channels, against the vector repeated k times, gives the same products.
function perChannelBinary(kernelName: "Multiply" | "RealDiv", args: BinaryArgs): tf.TensorInfo {
  const { a, b } = args.inputs;
  const vectorIsB = isChannelVector(b.shape, a.shape);
  const [full, vector] = vectorIsB ? [a, b] : [b, a];
  const channels = full.shape.at(-1) ?? 1;
  const rows = tf.util.sizeFromShape(full.shape) / channels;
  const group = [4, 2].find((k) => (k * channels) % 4 === 0 && rows % k === 0);
  if (
    a.dtype !== "float32" || b.dtype !== "float32" || channels % 4 === 0 || group === undefined ||
    !(vectorIsB || isChannelVector(a.shape, b.shape))
  ) {
    return runBuiltin(kernelName, args);
  }
  return tf.tidy(() => {
    const wide = tf.reshape(asTensor(full, args.backend), [rows / group, group * channels]);
    const repeated = tf.tile(tf.reshape(asTensor(vector, args.backend), [channels]), [group]);
    const [left, right] = vectorIsB ? [wide, repeated] : [repeated, wide];
    const result = kernelName === "Multiply" ? tf.mul(left, right) : tf.div(left, right);
    return tf.reshape(result, full.shape);
  });
}

// True when `shape` is [c] or [1, ..., 1, c] and `other` has at least its rank and ends in c.
function isChannelVector(shape: number[], other: number[]): boolean {
  const channels = shape.at(-1);
  return shape.length >= 1 && shape.length <= other.length && channels === other.at(-1) &&
    channels !== 1 && shape.slice(0, -1).every((size) => size === 1) &&
    tf.util.sizeFromShape(other) > (channels ?? 0);
}

function runBuiltin(
  kernelName: string,
  { inputs, attrs, backend }: {
    inputs: Record<string, tf.TensorInfo>;
    backend: tf.KernelBackend;
    attrs?: object;
  },
): tf.TensorInfo {
  const kernel = builtinKernels.get(kernelName);
  if (kernel === undefined) throw new Error(`wasm has no built-in ${kernelName} kernel`);
  const namedAttrs = attrs as unknown as tf.NamedAttrMap;
  return kernel.kernelFunc({ inputs, attrs: namedAttrs ?? {}, backend }) as tf.TensorInfo;
}

// Padding before and after one spatial axis of the (dilated) dy so that a stride-1 conv with a
// k-tap filter yields `size` outputs, output h reading dy rows from h + pad - (k - 1).
function backwardPadding(k: number, padBefore: number, size: number, dyLength: number): Pair {
  const before = k - 1 - padBefore;
  return [before, size + k - 1 - before - dyLength];
}

// Inserts stride - 1 zeros after each entry of dy along height and width, so a strided conv's
// gradient becomes a stride-1 conv; trailing zeros are harmless (cropped or never read).
function dilate(dy: tf.Tensor4D, strideHeight: number, strideWidth: number): tf.Tensor4D {
  if (strideHeight === 1 && strideWidth === 1) return dy;
  const [n, height, width, channels] = dy.shape;
  const wide = tf.reshape(
    tf.pad(tf.reshape(dy, [n * height, width, 1, channels]), [
      [0, 0],
      [0, 0],
      [0, strideWidth - 1],
      [0, 0],
    ]),
    [n, height, 1, width * strideWidth * channels],
  );
  const tall = tf.pad(wide, [[0, 0], [0, 0], [0, strideHeight - 1], [0, 0]]);
  return tf.reshape(tall, [n, height * strideHeight, width * strideWidth, channels]);
}

// W[kh, kw, ci, co] -> W'[k_h - 1 - kh, k_w - 1 - kw, co, ci]. Done in JS on the (small)
// filter: wasm's Reverse kernel took 0.5 ms for a 3x3x32x64 filter, this 0.1 ms.
function flippedFilter(filter: tf.Tensor4D): tf.Tensor4D {
  const [filterHeight, filterWidth, inChannels, outChannels] = filter.shape;
  const values = filter.dataSync();
  const flipped = new Float32Array(values.length);
  const taps = filterHeight * filterWidth;
  const tapSize = inChannels * outChannels;
  for (let tap = 0; tap < taps; tap++) {
    const from = (taps - 1 - tap) * tapSize;
    const to = tap * tapSize;
    for (let ci = 0; ci < inChannels; ci++) {
      for (let co = 0; co < outChannels; co++) {
        flipped[to + co * inChannels + ci] = values[from + ci * outChannels + co];
      }
    }
  }
  return tf.tensor4d(flipped, [filterHeight, filterWidth, outChannels, inChannels]);
}

function shape4D(info: tf.TensorInfo): Shape4D {
  return info.shape as Shape4D;
}

function explicitPadding(rows: Pair, cols: Pair): tf.backend_util.ExplicitPadding {
  return [[0, 0], rows, cols, [0, 0]];
}

// The engine hands kernels the Tensors given to runKernel, but a bare TensorInfo is allowed:
// wrap it for tf ops, with an extra reference that the wrapper's disposal (end of tidy) drops.
function asTensor<T extends tf.Tensor = tf.Tensor>(
  info: tf.TensorInfo,
  backend: tf.KernelBackend,
): T {
  if (info instanceof tf.Tensor) return info as T;
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info, backend) as T;
}

function checkChannelsLast(kernelName: string, dataFormat: string): void {
  if (dataFormat !== "NHWC") {
    throw new Error(
      `${kernelName} on wasm supports NHWC only, got ${dataFormat}; use dataFormat "NHWC" ` +
        `(channels last), as wasm's Conv2D requires`,
    );
  }
}

// A Float32Array over a tensor's bytes in the wasm heap (valid until the next allocation).
function heapView(backend: BackendWasm, info: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}
