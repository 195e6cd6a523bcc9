/**
 * The two gradients of a depthwise convolution, which tf.js' wasm backend lacks (it has the
 * forward `DepthwiseConv2dNative`): one loop over output pixels and filter taps each, channels
 * innermost, on the tensors where they lie in the wasm heap: simd.wat's, 4 channels at a time,
 * or the same loop in JS where SIMD is off. Channel multiplier 1, any stride
 * and padding, no dilation (the depthwise-separable blocks of lib/models/families.ts); other
 * cases throw. Checked against the cpu backend in test/depthwise_grad_test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heapOffset, simdLoops, withHeapBlock } from "./simd.ts";
import { wasmHeap } from "./native_matmul.ts";

type Shape4D = [number, number, number, number];

interface DepthwiseAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
  inputShape?: Shape4D;
  filterShape?: Shape4D;
}

interface DepthwiseArgs {
  inputs: { x?: tf.TensorInfo; dy: tf.TensorInfo; filter?: tf.TensorInfo };
  backend: BackendWasm;
  attrs: DepthwiseAttrs;
}

/** The kernels, by tf.js kernel name, for `registerWasmKernels()`. */
export const DEPTHWISE_GRADIENT_KERNELS: Record<string, tf.KernelFunc> = {
  DepthwiseConv2dNativeBackpropInput: inputGradient as unknown as tf.KernelFunc,
  DepthwiseConv2dNativeBackpropFilter: filterGradient as unknown as tf.KernelFunc,
};

// dx: each output pixel's dy times each tap's weights, added onto the input pixel it read.
function inputGradient({ inputs: { dy, filter }, backend, attrs }: DepthwiseArgs): tf.TensorInfo {
  const info = depthwiseInfo(attrs.inputShape!, filter!.shape as Shape4D, attrs);
  const dx = backend.makeOutput(info.inShape, "float32");
  const simd = simdLoops(backend);
  if (simd !== undefined) {
    heap(backend, dx).fill(0);
    withGeometry(backend, info, 0, (geometry) => {
      const at = (t: tf.TensorInfo) => heapOffset(backend, t);
      simd.depthwiseGradient(0, at(dy), at(filter!), at(dx), geometry, 0);
    });
    return dx;
  }
  const dxs = heap(backend, dx);
  const dys = heap(backend, dy);
  const weights = heap(backend, filter!);
  dxs.fill(0);
  forEachTap(info, (xAt, yAt, wAt, channels) => {
    for (let c = 0; c < channels; c++) dxs[xAt + c] += dys[yAt + c] * weights[wAt + c];
  });
  return dx;
}

// dW: per tap and channel, the sum over every output pixel of the input it read times dy, in
// double precision (a batch of 28x28 images adds ~50,000 terms).
function filterGradient({ inputs: { x, dy }, backend, attrs }: DepthwiseArgs): tf.TensorInfo {
  const info = depthwiseInfo(x!.shape as Shape4D, attrs.filterShape!, attrs);
  const taps = tf.util.sizeFromShape(attrs.filterShape!);
  const simd = simdLoops(backend);
  if (simd !== undefined) {
    const dw = backend.makeOutput(attrs.filterShape!, "float32");
    withGeometry(backend, info, taps, (geometry, sumsAt) => {
      const at = (t: tf.TensorInfo) => heapOffset(backend, t);
      simd.depthwiseGradient(at(x!), at(dy), 0, sumsAt, geometry, 1);
      const sums = new Float64Array(heap(backend, dw).buffer, sumsAt, taps);
      heap(backend, dw).set(sums);
    });
    return dw;
  }
  const sums = new Float64Array(taps);
  const xs = heap(backend, x!);
  const dys = heap(backend, dy);
  forEachTap(info, (xAt, yAt, wAt, channels) => {
    for (let c = 0; c < channels; c++) sums[wAt + c] += xs[xAt + c] * dys[yAt + c];
  });
  const dw = backend.makeOutput(attrs.filterShape!, "float32");
  heap(backend, dw).set(sums);
  return dw;
}

interface DepthwiseInfo {
  inShape: Shape4D;
  batch: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  top: number;
  left: number;
}

function depthwiseInfo(inShape: Shape4D, filterShape: Shape4D, attrs: DepthwiseAttrs) {
  const dilations = attrs.dilations ?? 1;
  if (filterShape[3] !== 1 || !tf.backend_util.tupleValuesAreOne(dilations)) {
    throw new Error(
      `The wasm depthwise gradients take a channel multiplier of 1 and no dilation, got ` +
        `filter [${filterShape}] and dilations ${dilations}`,
    );
  }
  const info = tf.backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true, // depthwise
  );
  return {
    inShape,
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    channels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  } satisfies DepthwiseInfo;
}

// Calls `visit` with the offsets of the input pixel, output pixel and filter tap of every
// (output pixel, tap) pair whose input pixel lies inside the image (padding reads zeros).
function forEachTap(
  info: DepthwiseInfo,
  visit: (xAt: number, yAt: number, wAt: number, channels: number) => void,
): void {
  const { channels, inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth } = info;
  let yAt = 0;
  for (let n = 0; n < info.batch; n++) {
    const image = n * inHeight * inWidth;
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++, yAt += channels) {
        for (let ky = 0; ky < filterHeight; ky++) {
          const iy = oy * info.strideHeight - info.top + ky;
          if (iy < 0 || iy >= inHeight) continue;
          for (let kx = 0; kx < filterWidth; kx++) {
            const ix = ox * info.strideWidth - info.left + kx;
            if (ix < 0 || ix >= inWidth) continue;
            visit(
              (image + iy * inWidth + ix) * channels,
              yAt,
              (ky * filterWidth + kx) * channels,
              channels,
            );
          }
        }
      }
    }
  }
}

// Runs `use` with the geometry (12 i32s, as simd.wat reads them) and `sums` zeroed doubles
// in a scratch block of the wasm heap, freed after.
function withGeometry(
  backend: BackendWasm,
  info: DepthwiseInfo,
  sums: number,
  use: (geometry: number, sumsAt: number) => void,
): void {
  withHeapBlock(backend, 64 + 8 * sums, (block) => {
    const buffer = wasmHeap(backend).buffer;
    new Int32Array(buffer, block, 12).set([
      info.batch,
      info.inHeight,
      info.inWidth,
      info.channels,
      info.outHeight,
      info.outWidth,
      info.filterHeight,
      info.filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.top,
      info.left,
    ]);
    new Float64Array(buffer, block + 64, sums).fill(0);
    use(block, block + 64);
  });
}

function heap(backend: BackendWasm, info: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}
