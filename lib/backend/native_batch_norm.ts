/**
 * Batch normalization's per-channel passes as BLAS products, for batch_norm.ts on the native
 * path: with the values as a [rows, c] matrix, channel sums are xᵀ 1, sums of products the
 * diagonal of aᵀ b, and a per-channel scale plus shift a product with a diagonal matrix added
 * to rows of the shift. Each costs c times the work of a JS loop but runs ~50x faster per
 * multiply-add, so it pays for few channels (Small Net's 5: see the commit for figures).
 */
import { addressOf, type Blas } from "./blas.ts";

// The most channels for which the products (c^2 multiply-adds per row) beat JS loops.
const MAX_CHANNELS = 16;
// Fewer values than this stay in JS: each product costs ~1 us of its own.
const MIN_VALUES = 4096;

let ones = new Float32Array(0);
let square = new Float32Array(0);

/** True when `channels` channels of `length` values in all are worth the BLAS passes. */
export function useBlasForBatchNorm(length: number, channels: number): boolean {
  return channels <= MAX_CHANNELS && length >= MIN_VALUES;
}

/** The sum of each channel (column) of the [rows, c] matrix `a`. */
export function channelSums(blas: Blas, a: Float32Array, channels: number): Float32Array {
  const rows = a.length / channels;
  if (ones.length < rows) ones = new Float32Array(rows).fill(1);
  const sums = new Float32Array(channels);
  blas.sgemm(true, false, channels, 1, rows, 1, at(a), channels, at(ones), 1, 0, at(sums), 1);
  return sums;
}

/** Per channel c, the sum over rows of a[:, c] * b[:, c]: the diagonal of aᵀ b. */
export function channelDots(
  blas: Blas,
  a: Float32Array,
  b: Float32Array,
  channels: number,
): Float32Array {
  const rows = a.length / channels;
  const gram = squareScratch(channels);
  blas.sgemm(
    true,
    false,
    channels,
    channels,
    rows,
    1,
    at(a),
    channels,
    at(b),
    channels,
    0,
    at(gram),
    channels,
  );
  return Float32Array.from({ length: channels }, (_, c) => gram[c * channels + c]);
}

/**
 * out[:, c] = shift[c] + sum of terms[i][:, c] * scales[i][c] (`add`: also out's own values):
 * rows of the shift, then one product with a diagonal matrix per term.
 */
export function scaleAndShift(
  blas: Blas,
  out: Float32Array,
  terms: { values: Float32Array; scale: ArrayLike<number> }[],
  shift: ArrayLike<number>,
): void {
  const channels = shift.length;
  const rows = out.length / channels;
  for (let c = 0; c < channels; c++) out[c] = shift[c];
  for (let done = channels; done < out.length; done *= 2) {
    out.copyWithin(done, 0, Math.min(done, out.length - done));
  }
  for (const { values, scale } of terms) {
    const diagonal = squareScratch(channels).fill(0);
    for (let c = 0; c < channels; c++) diagonal[c * channels + c] = scale[c];
    blas.sgemm(
      false,
      false,
      rows,
      channels,
      channels,
      1,
      at(values),
      channels,
      at(diagonal),
      channels,
      1,
      at(out),
      channels,
    );
  }
}

function squareScratch(channels: number): Float32Array {
  if (square.length < channels * channels) square = new Float32Array(channels * channels);
  return square;
}

function at(array: Float32Array): number {
  return addressOf(array.buffer) + array.byteOffset;
}
