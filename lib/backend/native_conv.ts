/**
 * The native path's convolutions (NHWC, any stride and padding, dilation 1): each image's
 * patches are copied into a scratch matrix (im2col, one row per output pixel, one column per
 * filter tap and input channel, which is the filter's own [kh * kw * ci, co] layout), and one
 * sgemm does the product for a chunk of images. The filter gradient is colsᵀ dy and the input
 * gradient dy Wᵀ scattered back (col2im); a 1x1 stride-1 conv needs no copy at all. Stride-1
 * valid convs run tap by tap without the copy (native_direct_conv.ts) where that measured
 * faster. Where oneDNN 2.x is installed, its own convolution primitives run instead of all of
 * these (onednn_conv.ts, 2-4x faster). `nativeConvMethod` says which runs. Registered by
 * native_kernels.ts.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { addressOf, type Blas } from "./blas.ts";
import {
  applyActivation,
  fillBias,
  heapIndex,
  isColumnBias,
  isNativeActivation,
  type KernelArgs,
  type NativeKernel,
  tensorAddress,
  wasmHeap,
} from "./native_matmul.ts";
import { isInputGradientSkipped } from "./wasm_kernels.ts";
import { type ConvGeometry, type ConvKind, oneDnnConvs } from "./onednn_conv.ts";
import {
  directConv,
  directFilterGradient,
  directInputGradient,
  isDirectConv,
} from "./native_direct_conv.ts";

type Shape4D = [number, number, number, number];
type ConvInfo = tf.backend_util.Conv2DInfo;

interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: string;
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
  activation?: string;
  leakyreluAlpha?: number;
  inputShape?: Shape4D;
  filterShape?: Shape4D;
}

/** The conv kernels the native path replaces, by tf.js kernel name. */
export const CONV_KERNELS: Record<string, NativeKernel> = {
  Conv2D: (args, blas) => conv2D(args as unknown as KernelArgs<ConvAttrs>, blas),
  FusedConv2D: (args, blas) => conv2D(args as unknown as KernelArgs<ConvAttrs>, blas),
  Conv2DBackpropFilter: (args, blas) =>
    filterGradient(args as unknown as KernelArgs<ConvAttrs>, blas),
  Conv2DBackpropInput: (args, blas) =>
    inputGradient(args as unknown as KernelArgs<ConvAttrs>, blas),
};

/**
 * Where the native convs run: "auto" (oneDNN's primitives where they load, else the method
 * measured fastest for the shape), "always" (im2col everywhere: tests), "direct" (the direct
 * kernels wherever they apply, else im2col) or "sgemm" (auto without oneDNN's primitives).
 */
export type NativeConvPolicy = "auto" | "always" | "direct" | "sgemm";

/** The three kernels of a conv layer. */
export type ConvKernel = ConvKind;

// The fewest output channels at which a native conv (im2col copy + sgemm) beat wasm's in
// bench/kernels_bench.ts (one thread, batch 16): the copy costs per patch value, the product
// per value and output channel, so small outputs stay on wasm. Forward: keras-cnn conv2 (64)
// 14 vs 32 ms, pytorch conv2 (20) 1.18 vs 0.84 ms; input gradient: pytorch conv2 (20) 1.9 vs
// 5.1 ms, small-net conv2 (8) 3.0 vs 1.5 ms; filter gradient: pytorch conv1 (10) 1.2 vs 2.2 ms,
// small-net conv2 (8) 2.6 vs 2.0 ms. A 1x1 stride-1 conv (no copy) always runs natively.
const MIN_OUT_CHANNELS = { forward: 32, inputGradient: 16, filterGradient: 10 };
let policy: NativeConvPolicy = "auto";

/** Sets where the native convs run (default "auto"); tests force "always" or "direct". */
export function setNativeConvPolicy(next: NativeConvPolicy): void {
  policy = next;
}

/** True when the policy lets convs run on oneDNN's primitives and they load. */
export function nativeConvsOnOneDnn(): boolean {
  return policy === "auto" && oneDnnConvs() !== undefined;
}

/** How a native conv runs: oneDNN's primitive, tap by tap, im2col, or wasm's (undefined). */
export type NativeConvMethod = "onednn" | "direct" | "im2col" | undefined;

/**
 * How a conv kernel runs on the native path under the current policy: "onednn"
 * (onednn_conv.ts), "direct" (tap by tap, native_direct_conv.ts), "im2col", or undefined for
 * wasm's kernel. `threads`: the BLAS threads it would run on; `bias`: whether a forward conv
 * adds one (oneDNN builds a primitive for either, and this is the one the kernel then runs).
 */
export function nativeConvMethod(
  info: ConvInfo,
  kernel: ConvKernel,
  threads = 1,
  bias = false,
): NativeConvMethod {
  if (policy === "auto" && oneDnnConvs()?.has(kernel, geometry(info), threads, bias)) {
    return "onednn";
  }
  const direct = isDirectConv(info) && !isPointwise(info);
  if (policy === "always") return "im2col";
  if (policy === "direct") return direct ? "direct" : "im2col";
  if (direct && directIsFaster(info, kernel)) return "direct";
  // "auto" without oneDNN, and "sgemm": the sgemm method measured fastest, or wasm's.
  return isPointwise(info) || info.outChannels >= MIN_OUT_CHANNELS[kernel] ? "im2col" : undefined;
}

// Where the direct kernels beat both wasm and im2col (stride 1, valid), medians of 15 rounds
// of the three interleaved in one process, batch 16, one thread, us (busy machine), wasm /
// im2col / direct. Forward with one channel in (one GEMM over shifted copies of x): small-net
// conv1 322 / 565 / 174, pytorch conv1 1,139 / 1,090 / 415, keras-cnn conv1 991 / 682 / 437;
// with >= 8 in and >= 16 out: pytorch conv2 897 / 881 / 650, keras-cnn conv2 16,467 / 9,819
// / 4,725; fewer lose (small-net conv2 343 / 923 / 874): each tap's product is only
// channels-in deep. Filter gradient everywhere: small-net conv1 562 / 334 / 98, conv2 1,675
// / 1,602 / 442, pytorch conv1 1,828 / 1,119 / 428, conv2 1,204 / 815 / 460, keras-cnn conv2
// 26,291 / 8,052 / 6,205, pytorch-gap conv3 101 / 44 / 42. Input gradient for 3x3 filters:
// small-net conv2 1,189 / 1,860 / 807, keras-cnn conv2 16,985 / 8,453 / 4,613; 5x5 loses
// (pytorch conv2 2,714 / 1,018 / 945 ties, pytorch conv1 3,371 / 1,060 / 1,805).
function directIsFaster(info: ConvInfo, kernel: ConvKernel): boolean {
  if (kernel === "forward") {
    return info.inChannels === 1 || (info.inChannels >= 8 && info.outChannels >= 16);
  }
  return kernel === "filterGradient" || info.filterHeight * info.filterWidth <= 9;
}

// Floats of im2col scratch (16 MB): chunks of images are sized to fit, at least one image.
const SCRATCH_FLOATS = 1 << 22;
let scratch = new Float32Array(0);

// y = conv(x, W) (+ bias, activation): per chunk of images, im2col then cols [rows, K] x W [K, co].
function conv2D(args: KernelArgs<ConvAttrs>, blas: Blas): tf.TensorInfo | undefined {
  const { inputs: { x, filter, bias, preluActivationWeights }, backend, attrs } = args;
  if (x === undefined || filter === undefined || preluActivationWeights !== undefined) {
    return undefined;
  }
  const info = convInfo(x.shape as Shape4D, filter.shape as Shape4D, attrs, [x, filter]);
  const method = info && nativeConvMethod(info, "forward", blas.threads, bias !== undefined);
  if (
    info === undefined || !isNativeActivation(attrs) || !isColumnBias(bias, info.outChannels) ||
    method === undefined
  ) {
    return undefined;
  }
  const { batchSize, outChannels } = info;
  const out = backend.makeOutput(info.outShape, "float32");
  const outAt = heapIndex(backend, out);
  if (method === "onednn") {
    const address = (t: tf.TensorInfo | undefined) => t ? tensorAddress(backend, t) : 0;
    oneDnnConvs()!.forward(
      geometry(info),
      blas.threads ?? 1,
      address(x),
      address(filter),
      address(bias),
      address(out),
    );
    applyActivation(backend, outAt, tf.util.sizeFromShape(info.outShape), attrs);
    return out;
  }
  if (method === "direct") {
    directConv(backend, blas, { x, filter, bias }, out, info);
    applyActivation(backend, outAt, tf.util.sizeFromShape(info.outShape), attrs);
    return out;
  }
  const rows = info.outHeight * info.outWidth;
  const beta = fillBias(backend, bias, outAt, batchSize * rows, outChannels);
  const taps = tapCount(info);
  const filterAddress = tensorAddress(backend, filter);
  const outAddress = tensorAddress(backend, out);
  if (isPointwise(info)) {
    const xAddress = tensorAddress(backend, x);
    blas.sgemm(
      false,
      false,
      batchSize * rows,
      outChannels,
      taps,
      1,
      xAddress,
      taps,
      filterAddress,
      outChannels,
      beta,
      outAddress,
      outChannels,
    );
  } else {
    forEachChunk(info, (first, images) => {
      const cols = im2col(backend, x, info, first, images);
      blas.sgemm(
        false,
        false,
        images * rows,
        outChannels,
        taps,
        1,
        addressOf(cols.buffer),
        taps,
        filterAddress,
        outChannels,
        beta,
        outAddress + first * rows * outChannels * 4,
        outChannels,
      );
    });
  }
  applyActivation(backend, outAt, batchSize * rows * outChannels, attrs);
  return out;
}

// dW [K, co] = sum over chunks of colsᵀ dy.
function filterGradient(args: KernelArgs<ConvAttrs>, blas: Blas): tf.TensorInfo | undefined {
  const { inputs: { x, dy }, backend, attrs } = args;
  if (x === undefined || dy === undefined || attrs.filterShape === undefined) return undefined;
  const info = convInfo(x.shape as Shape4D, attrs.filterShape, attrs, [x, dy]);
  const method = info && nativeConvMethod(info, "filterGradient", blas.threads);
  if (
    info === undefined || !tf.util.arraysEqual(info.outShape, dy.shape) || method === undefined
  ) {
    return undefined;
  }
  const { batchSize, outChannels } = info;
  const rows = info.outHeight * info.outWidth;
  const taps = tapCount(info);
  const out = backend.makeOutput(attrs.filterShape, "float32");
  if (method === "onednn") {
    oneDnnConvs()!.filterGradient(
      geometry(info),
      blas.threads ?? 1,
      tensorAddress(backend, x),
      tensorAddress(backend, out),
      tensorAddress(backend, dy),
    );
    return out;
  }
  if (method === "direct") {
    directFilterGradient(backend, blas, x, dy, out, info);
    return out;
  }
  const outAddress = tensorAddress(backend, out);
  const dyAddress = tensorAddress(backend, dy);
  if (isPointwise(info)) {
    const xAddress = tensorAddress(backend, x);
    blas.sgemm(
      true,
      false,
      taps,
      outChannels,
      batchSize * rows,
      1,
      xAddress,
      taps,
      dyAddress,
      outChannels,
      0,
      outAddress,
      outChannels,
    );
  } else {
    forEachChunk(info, (first, images) => {
      const cols = im2col(backend, x, info, first, images);
      blas.sgemm(
        true,
        false,
        taps,
        outChannels,
        images * rows,
        1,
        addressOf(cols.buffer),
        taps,
        dyAddress + first * rows * outChannels * 4,
        outChannels,
        first === 0 ? 0 : 1,
        outAddress,
        outChannels,
      );
    });
  }
  return out;
}

// dx = col2im(dy Wᵀ), per chunk of images.
function inputGradient(args: KernelArgs<ConvAttrs>, blas: Blas): tf.TensorInfo | undefined {
  const { inputs: { dy, filter }, backend, attrs } = args;
  // A first layer's input gradient is skipped (wasm_kernels.ts' withoutInputGradient): the
  // replaced kernel returns its zeros.
  if (
    dy === undefined || filter === undefined || attrs.inputShape === undefined ||
    isInputGradientSkipped(filter)
  ) {
    return undefined;
  }
  const info = convInfo(attrs.inputShape, filter.shape as Shape4D, attrs, [dy, filter]);
  const method = info && nativeConvMethod(info, "inputGradient", blas.threads);
  if (
    info === undefined || !tf.util.arraysEqual(info.outShape, dy.shape) || method === undefined
  ) {
    return undefined;
  }
  const { batchSize, outChannels, inChannels } = info;
  const rows = info.outHeight * info.outWidth;
  const taps = tapCount(info);
  const out = backend.makeOutput(attrs.inputShape, "float32");
  if (method === "onednn") {
    oneDnnConvs()!.inputGradient(
      geometry(info),
      blas.threads ?? 1,
      tensorAddress(backend, out),
      tensorAddress(backend, filter),
      tensorAddress(backend, dy),
    );
    return out;
  }
  if (method === "direct") {
    directInputGradient(backend, blas, dy, filter, out, info);
    return out;
  }
  const outAddress = tensorAddress(backend, out);
  const dyAddress = tensorAddress(backend, dy);
  const filterAddress = tensorAddress(backend, filter);
  if (isPointwise(info)) {
    blas.sgemm(
      false,
      true,
      batchSize * rows,
      inChannels,
      outChannels,
      1,
      dyAddress,
      outChannels,
      filterAddress,
      outChannels,
      0,
      outAddress,
      inChannels,
    );
    return out;
  }
  const outAt = heapIndex(backend, out);
  wasmHeap(backend).fill(0, outAt, outAt + tf.util.sizeFromShape(attrs.inputShape));
  forEachChunk(info, (first, images) => {
    const cols = scratchFor(images * rows * taps);
    blas.sgemm(
      false,
      true,
      images * rows,
      taps,
      outChannels,
      1,
      dyAddress + first * rows * outChannels * 4,
      outChannels,
      filterAddress,
      outChannels,
      0,
      addressOf(cols.buffer),
      taps,
    );
    col2im(backend, cols, out, info, first, images);
  });
  return out;
}

// The conv's geometry, or undefined for what the native kernels leave to the replaced ones.
function convInfo(
  inShape: Shape4D,
  filterShape: Shape4D,
  attrs: ConvAttrs,
  tensors: tf.TensorInfo[],
): ConvInfo | undefined {
  if (
    attrs.dataFormat !== "NHWC" || tensors.some((t) => t.dtype !== "float32") ||
    inShape.length !== 4 || filterShape.length !== 4 || inShape[3] !== filterShape[2]
  ) {
    return undefined;
  }
  const info = tf.backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const empty = tf.util.sizeFromShape(info.outShape) === 0 || tf.util.sizeFromShape(inShape) === 0;
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || empty) return undefined;
  return info;
}

// The conv as oneDNN's primitives describe it.
function geometry(info: ConvInfo): ConvGeometry {
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    padBottom: info.padInfo.bottom,
    padRight: info.padInfo.right,
  };
}

function tapCount(info: ConvInfo): number {
  return info.filterHeight * info.filterWidth * info.inChannels;
}

// A 1x1 conv with stride 1 and no padding: x, as [n * h * w, ci], is already the patch matrix.
function isPointwise(info: ConvInfo): boolean {
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 &&
    info.strideWidth === 1 && info.padInfo.top === 0 && info.padInfo.left === 0 &&
    info.outHeight === info.inHeight && info.outWidth === info.inWidth;
}

// Calls f(first image, image count) over the batch in chunks whose patches fit the scratch.
function forEachChunk(info: ConvInfo, f: (first: number, images: number) => void): void {
  const perImage = info.outHeight * info.outWidth * tapCount(info);
  const chunk = Math.max(1, Math.floor(SCRATCH_FLOATS / perImage));
  for (let first = 0; first < info.batchSize; first += chunk) {
    f(first, Math.min(chunk, info.batchSize - first));
  }
}

function scratchFor(floats: number): Float32Array {
  if (scratch.length < floats) scratch = new Float32Array(floats);
  return scratch;
}

// Copies the patches of `images` images from `first` into the scratch: row (image, oy, ox),
// column (ky, kx, ci); taps in the padding are zeros.
function im2col(
  backend: BackendWasm,
  x: tf.TensorInfo,
  info: ConvInfo,
  first: number,
  images: number,
): Float32Array {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const cols = scratchFor(images * outHeight * outWidth * tapCount(info));
  const heap = wasmHeap(backend);
  const rowLength = inWidth * inChannels;
  const span = filterWidth * inChannels;
  let to = 0;
  for (let image = first; image < first + images; image++) {
    const imageAt = heapIndex(backend, x) + image * inHeight * rowLength;
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const left = ox * info.strideWidth - info.padInfo.left;
        const inside = left >= 0 && left + filterWidth <= inWidth;
        for (let ky = 0; ky < filterHeight; ky++) {
          const iy = oy * info.strideHeight - info.padInfo.top + ky;
          if (iy < 0 || iy >= inHeight) {
            cols.fill(0, to, to + span);
            to += span;
          } else if (inside) {
            const from = imageAt + iy * rowLength + left * inChannels;
            for (let i = 0; i < span; i++) cols[to + i] = heap[from + i];
            to += span;
          } else {
            for (let kx = 0; kx < filterWidth; kx++) {
              const ix = left + kx;
              const from = imageAt + iy * rowLength + ix * inChannels;
              const outside = ix < 0 || ix >= inWidth;
              for (let c = 0; c < inChannels; c++) cols[to + c] = outside ? 0 : heap[from + c];
              to += inChannels;
            }
          }
        }
      }
    }
  }
  return cols;
}

// Adds each patch gradient in `cols` back onto the input pixels it came from (im2col's adjoint).
function col2im(
  backend: BackendWasm,
  cols: Float32Array,
  dx: tf.TensorInfo,
  info: ConvInfo,
  first: number,
  images: number,
): void {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const heap = wasmHeap(backend);
  const rowLength = inWidth * inChannels;
  const span = filterWidth * inChannels;
  let from = 0;
  for (let image = first; image < first + images; image++) {
    const imageAt = heapIndex(backend, dx) + image * inHeight * rowLength;
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const left = ox * info.strideWidth - info.padInfo.left;
        const inside = left >= 0 && left + filterWidth <= inWidth;
        for (let ky = 0; ky < filterHeight; ky++) {
          const iy = oy * info.strideHeight - info.padInfo.top + ky;
          if (iy < 0 || iy >= inHeight) {
            from += span;
          } else if (inside) {
            const to = imageAt + iy * rowLength + left * inChannels;
            for (let i = 0; i < span; i++) heap[to + i] += cols[from + i];
            from += span;
          } else {
            for (let kx = 0; kx < filterWidth; kx++) {
              const ix = left + kx;
              if (ix >= 0 && ix < inWidth) {
                const to = imageAt + iy * rowLength + ix * inChannels;
                for (let c = 0; c < inChannels; c++) heap[to + c] += cols[from + c];
              }
              from += inChannels;
            }
          }
        }
      }
    }
  }
}
