/**
 * Convolutions without im2col, for stride 1, no padding (NHWC): for each filter tap (ky, kx)
 * the input rows from offset ky * W + kx form one strided [rows, ci] matrix over the whole
 * batch, so the conv is kh * kw accumulating GEMMs over "full-width" rows, one per input
 * position (n, y, x). Rows whose window falls off the right or bottom edge are computed and
 * dropped (17% extra for 26 -> 24); the filter and input gradients are GEMMs the same way.
 * Used by native_conv.ts where it measured faster than both wasm and im2col.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { addressOf, type Blas } from "./blas.ts";
import { heapIndex, tensorAddress, wasmHeap } from "./native_matmul.ts";

type ConvInfo = tf.backend_util.Conv2DInfo;

let scratch = new Float32Array(0);

/** True for the convs the direct kernels take: stride 1, dilation 1, no padding. */
export function isDirectConv(info: ConvInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 &&
    info.dilationWidth === 1 && top + bottom + left + right === 0 &&
    info.outHeight === info.inHeight - info.filterHeight + 1 &&
    info.outWidth === info.inWidth - info.filterWidth + 1;
}

let calls = 0;

/** How many convs and conv gradients the direct kernels have computed so far (tests check it). */
export function directConvCalls(): number {
  return calls;
}

/**
 * y = conv(x, W) + bias into `out` (the activation is left to the caller): the full-width
 * rows, starting from the bias, accumulate tap by tap in a scratch matrix whose valid rows
 * are then copied out.
 */
export function directConv(
  backend: BackendWasm,
  blas: Blas,
  { x, filter, bias }: { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo },
  out: tf.TensorInfo,
  info: ConvInfo,
): void {
  calls++;
  const { inChannels, outChannels } = info;
  const rows = fullRows(info);
  const full = scratchFor(rows * outChannels);
  if (bias !== undefined) {
    fillRows(full, wasmHeap(backend), heapIndex(backend, bias), rows, outChannels);
  }
  const fullAddress = addressOf(full.buffer);
  const xAddress = tensorAddress(backend, x);
  const filterAddress = tensorAddress(backend, filter);
  forEachTap(info, (tap, offset) => {
    blas.sgemm(
      false,
      false,
      rows,
      outChannels,
      inChannels,
      1,
      xAddress + offset * inChannels * 4,
      inChannels,
      filterAddress + tap * inChannels * outChannels * 4,
      outChannels,
      tap === 0 && bias === undefined ? 0 : 1,
      fullAddress,
      outChannels,
    );
  });
  const heap = wasmHeap(backend);
  const outAt = heapIndex(backend, out);
  forEachValidRow(info, outChannels, (fullAt, validAt, length) => {
    heap.set(full.subarray(fullAt, fullAt + length), outAt + validAt);
  });
}

/** dW [kh, kw, ci, co] into `out`: per tap, the tap's input rows transposed times dy at full width. */
export function directFilterGradient(
  backend: BackendWasm,
  blas: Blas,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  out: tf.TensorInfo,
  info: ConvInfo,
): void {
  calls++;
  const { inChannels, outChannels } = info;
  const rows = fullRows(info);
  const dyFull = widenGradient(backend, dy, info);
  const dyAddress = addressOf(dyFull.buffer);
  const xAddress = tensorAddress(backend, x);
  const outAddress = tensorAddress(backend, out);
  forEachTap(info, (tap, offset) => {
    blas.sgemm(
      true,
      false,
      inChannels,
      outChannels,
      rows,
      1,
      xAddress + offset * inChannels * 4,
      inChannels,
      dyAddress,
      outChannels,
      0,
      outAddress + tap * inChannels * outChannels * 4,
      outChannels,
    );
  });
}

/** dx into `out`: per tap, dy at full width times the tap's filterᵀ, added at the tap's offset. */
export function directInputGradient(
  backend: BackendWasm,
  blas: Blas,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  out: tf.TensorInfo,
  info: ConvInfo,
): void {
  calls++;
  const { inChannels, outChannels } = info;
  const rows = fullRows(info);
  const dyFull = widenGradient(backend, dy, info);
  const dyAddress = addressOf(dyFull.buffer);
  const outAt = heapIndex(backend, out);
  wasmHeap(backend).fill(0, outAt, outAt + tf.util.sizeFromShape(info.inShape));
  const outAddress = tensorAddress(backend, out);
  const filterAddress = tensorAddress(backend, filter);
  forEachTap(info, (tap, offset) => {
    blas.sgemm(
      false,
      true,
      rows,
      inChannels,
      outChannels,
      1,
      dyAddress,
      outChannels,
      filterAddress + tap * inChannels * outChannels * 4,
      outChannels,
      1,
      outAddress + offset * inChannels * 4,
      inChannels,
    );
  });
}

// Input positions whose window of the last tap still lies in x: every row up to the last
// image's last valid output pixel.
function fullRows(info: ConvInfo): number {
  const { batchSize, inHeight, inWidth, filterHeight, filterWidth } = info;
  return batchSize * inHeight * inWidth - (filterHeight - 1) * inWidth - (filterWidth - 1);
}

// f(tap index in the filter's [kh, kw] order, its offset in input positions).
function forEachTap(info: ConvInfo, f: (tap: number, offset: number) => void): void {
  for (let ky = 0; ky < info.filterHeight; ky++) {
    for (let kx = 0; kx < info.filterWidth; kx++) {
      f(ky * info.filterWidth + kx, ky * info.inWidth + kx);
    }
  }
}

// f(float index at full width, float index in the output, floats) for each output row.
function forEachValidRow(
  info: ConvInfo,
  channels: number,
  f: (fullAt: number, validAt: number, length: number) => void,
): void {
  const { batchSize, inHeight, inWidth, outHeight, outWidth } = info;
  const length = outWidth * channels;
  for (let n = 0; n < batchSize; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      f(
        ((n * inHeight + oy) * inWidth) * channels,
        ((n * outHeight + oy) * outWidth) * channels,
        length,
      );
    }
  }
}

// dy spread to full width in the scratch: zeros where a row's window fell off the edge.
function widenGradient(backend: BackendWasm, dy: tf.TensorInfo, info: ConvInfo): Float32Array {
  const { outChannels } = info;
  const full = scratchFor(fullRows(info) * outChannels);
  full.fill(0, 0, fullRows(info) * outChannels);
  const heap = wasmHeap(backend);
  const dyAt = heapIndex(backend, dy);
  forEachValidRow(info, outChannels, (fullAt, validAt, length) => {
    full.set(heap.subarray(dyAt + validAt, dyAt + validAt + length), fullAt);
  });
  return full;
}

// Writes the `length` floats at heap[from] into `rows` rows of `to`, doubling the copied block.
function fillRows(
  to: Float32Array,
  heap: Float32Array,
  from: number,
  rows: number,
  length: number,
) {
  to.set(heap.subarray(from, from + length), 0);
  const total = rows * length;
  for (let done = length; done < total; done *= 2) {
    to.copyWithin(done, 0, Math.min(done, total - done));
  }
}

function scratchFor(floats: number): Float32Array {
  if (scratch.length < floats) scratch = new Float32Array(floats);
  return scratch;
}
