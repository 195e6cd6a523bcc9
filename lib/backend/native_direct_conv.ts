/**
 * Convolutions without im2col, for stride 1, no padding (NHWC): for each filter tap (ky, kx)
 * the input rows from offset ky * W + kx form one strided [rows, ci] matrix over a chunk of
 * images, so the conv is kh * kw accumulating GEMMs over "full-width" rows, one per input
 * position (n, y, x). Rows whose window falls off the right or bottom edge are computed and
 * dropped (17% extra for 26 -> 24); the filter and input gradients are GEMMs the same way.
 * With one input channel (every model's first conv) each tap's rows are one contiguous run of
 * x, so they are copied as the rows of a [taps, rows] matrix and one GEMM does all the taps.
 * Chunks of images keep the scratch under 16 MB. Used by native_conv.ts where it measured
 * faster than both wasm and im2col.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { addressOf, type Blas } from "./blas.ts";
import { heapIndex, tensorAddress, wasmHeap } from "./native_matmul.ts";

type ConvInfo = tf.backend_util.Conv2DInfo;

// Floats of each scratch matrix (16 MB); chunks of images are sized to fit, at least one image.
const SCRATCH_FLOATS = 1 << 22;
let scratchFloats = SCRATCH_FLOATS;
// Full-width outputs or gradients, and the one-channel shifted inputs.
let wide = new Float32Array(0);
let shifted = new Float32Array(0);
let calls = 0;

/** True for the convs the direct kernels take: stride 1, dilation 1, no padding. */
export function isDirectConv(info: ConvInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 &&
    info.dilationWidth === 1 && top + bottom + left + right === 0 &&
    info.outHeight === info.inHeight - info.filterHeight + 1 &&
    info.outWidth === info.inWidth - info.filterWidth + 1;
}

/** Sets the floats a chunk of images may fill in each scratch matrix (tests: small chunks). */
export function setDirectScratchFloats(floats: number = SCRATCH_FLOATS): void {
  scratchFloats = floats;
}

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
  const taps = info.filterHeight * info.filterWidth;
  forEachChunk(info, (first, images) => {
    const rows = fullRows(info, images);
    const full = scratch("wide", rows * outChannels);
    const heap = wasmHeap(backend);
    if (bias !== undefined) fillRows(full, heap, heapIndex(backend, bias), rows, outChannels);
    const beta = bias === undefined ? 0 : 1;
    const filterAddress = tensorAddress(backend, filter);
    if (inChannels === 1) {
      const taprows = shiftedInput(backend, x, info, first, rows);
      blas.sgemm(
        true,
        false,
        rows,
        outChannels,
        taps,
        1,
        at(taprows),
        rows,
        filterAddress,
        outChannels,
        beta,
        at(full),
        outChannels,
      );
    } else {
      const xAddress = tensorAddress(backend, x) + first * imageFloats(info) * 4;
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
          tap === 0 ? beta : 1,
          at(full),
          outChannels,
        );
      });
    }
    const outAt = heapIndex(backend, out);
    forEachValidRow(info, images, outChannels, (fullAt, validAt, length) => {
      heap.set(full.subarray(fullAt, fullAt + length), outAt + first * outFloats(info) + validAt);
    });
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
  const taps = info.filterHeight * info.filterWidth;
  forEachChunk(info, (first, images) => {
    const rows = fullRows(info, images);
    const dyFull = widenGradient(backend, dy, info, first, images);
    const beta = first === 0 ? 0 : 1;
    const outAddress = tensorAddress(backend, out);
    if (inChannels === 1) {
      const taprows = shiftedInput(backend, x, info, first, rows);
      blas.sgemm(
        false,
        false,
        taps,
        outChannels,
        rows,
        1,
        at(taprows),
        rows,
        at(dyFull),
        outChannels,
        beta,
        outAddress,
        outChannels,
      );
      return;
    }
    const xAddress = tensorAddress(backend, x) + first * imageFloats(info) * 4;
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
        at(dyFull),
        outChannels,
        beta,
        outAddress + tap * inChannels * outChannels * 4,
        outChannels,
      );
    });
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
  const outAt = heapIndex(backend, out);
  wasmHeap(backend).fill(0, outAt, outAt + tf.util.sizeFromShape(info.inShape));
  forEachChunk(info, (first, images) => {
    const rows = fullRows(info, images);
    const dyFull = widenGradient(backend, dy, info, first, images);
    const outAddress = tensorAddress(backend, out) + first * imageFloats(info) * 4;
    const filterAddress = tensorAddress(backend, filter);
    forEachTap(info, (tap, offset) => {
      blas.sgemm(
        false,
        true,
        rows,
        inChannels,
        outChannels,
        1,
        at(dyFull),
        outChannels,
        filterAddress + tap * inChannels * outChannels * 4,
        outChannels,
        1,
        outAddress + offset * inChannels * 4,
        inChannels,
      );
    });
  });
}

// Input positions of `images` images whose window of the last tap still lies in them: every
// row up to the last image's last valid output pixel.
function fullRows(info: ConvInfo, images: number): number {
  const { inHeight, inWidth, filterHeight, filterWidth } = info;
  return images * inHeight * inWidth - (filterHeight - 1) * inWidth - (filterWidth - 1);
}

function imageFloats(info: ConvInfo): number {
  return info.inHeight * info.inWidth * info.inChannels;
}

function outFloats(info: ConvInfo): number {
  return info.outHeight * info.outWidth * info.outChannels;
}

// Calls f(first image, image count) over the batch in chunks whose scratch fits.
function forEachChunk(info: ConvInfo, f: (first: number, images: number) => void): void {
  const positions = info.inHeight * info.inWidth;
  const taps = info.filterHeight * info.filterWidth;
  const perImage = positions * Math.max(info.outChannels, info.inChannels === 1 ? taps : 0);
  const chunk = Math.max(1, Math.floor(scratchFloats / perImage));
  for (let first = 0; first < info.batchSize; first += chunk) {
    f(first, Math.min(chunk, info.batchSize - first));
  }
}

// f(tap index in the filter's [kh, kw] order, its offset in input positions).
function forEachTap(info: ConvInfo, f: (tap: number, offset: number) => void): void {
  for (let ky = 0; ky < info.filterHeight; ky++) {
    for (let kx = 0; kx < info.filterWidth; kx++) {
      f(ky * info.filterWidth + kx, ky * info.inWidth + kx);
    }
  }
}

// f(float index at full width, float index in the chunk's output, floats) per output row.
function forEachValidRow(
  info: ConvInfo,
  images: number,
  channels: number,
  f: (fullAt: number, validAt: number, length: number) => void,
): void {
  const { inHeight, inWidth, outHeight, outWidth } = info;
  const length = outWidth * channels;
  for (let n = 0; n < images; n++) {
    for (let oy = 0; oy < outHeight; oy++) {
      f((n * inHeight + oy) * inWidth * channels, (n * outHeight + oy) * length, length);
    }
  }
}

// The chunk's dy spread to full width: zeros where a row's window fell off the edge.
function widenGradient(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  info: ConvInfo,
  first: number,
  images: number,
): Float32Array {
  const { outChannels } = info;
  const floats = fullRows(info, images) * outChannels;
  const full = scratch("wide", floats).fill(0, 0, floats);
  const heap = wasmHeap(backend);
  const dyAt = heapIndex(backend, dy) + first * outFloats(info);
  forEachValidRow(info, images, outChannels, (fullAt, validAt, length) => {
    full.set(heap.subarray(dyAt + validAt, dyAt + validAt + length), fullAt);
  });
  return full;
}

// One input channel: row t of a [taps, rows] matrix is x from tap t's offset, one copy each.
function shiftedInput(
  backend: BackendWasm,
  x: tf.TensorInfo,
  info: ConvInfo,
  first: number,
  rows: number,
): Float32Array {
  const taps = info.filterHeight * info.filterWidth;
  const matrix = scratch("shifted", taps * rows);
  const heap = wasmHeap(backend);
  const xAt = heapIndex(backend, x) + first * imageFloats(info);
  forEachTap(info, (tap, offset) => {
    matrix.set(heap.subarray(xAt + offset, xAt + offset + rows), tap * rows);
  });
  return matrix;
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

function scratch(which: "wide" | "shifted", floats: number): Float32Array {
  if (which === "wide") {
    if (wide.length < floats) wide = new Float32Array(floats);
    return wide;
  }
  if (shifted.length < floats) shifted = new Float32Array(floats);
  return shifted;
}

function at(array: Float32Array): number {
  return addressOf(array.buffer) + array.byteOffset;
}
