/**
 * The native path's sums and means over one block of adjacent axes (bias gradients: a conv's
 * dy summed over batch, height and width; global average pooling: the mean over height and
 * width): per slice of the leading axes, one product with a vector of ones, xᵀ 1, which reads
 * x once at BLAS speed. wasm's Sum moves the summed axes innermost first (a transpose):
 * [16, 24, 24, 10] took 624 us there, 22 us here. Registered by native_kernels.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { addressOf, type Blas } from "./blas.ts";
import { type KernelArgs, type NativeKernel, tensorAddress } from "./native_matmul.ts";

interface ReduceAttrs {
  axis: number | number[];
  keepDims: boolean;
}

/** The reduction kernels the native path replaces, by tf.js kernel name. */
export const REDUCE_KERNELS: Record<string, NativeKernel> = {
  Sum: (args, blas) => reduce(args as unknown as KernelArgs<ReduceAttrs>, blas, false),
  Mean: (args, blas) => reduce(args as unknown as KernelArgs<ReduceAttrs>, blas, true),
};

// Below this many values, or above this many separate products, the replaced kernel runs:
// a product costs ~1 us of its own.
const MIN_VALUES = 1024;
const MAX_PRODUCTS = 64;

let ones = new Float32Array(0);

function reduce(
  args: KernelArgs<ReduceAttrs>,
  blas: Blas,
  mean: boolean,
): tf.TensorInfo | undefined {
  const { inputs: { x }, backend, attrs } = args;
  if (x === undefined || x.dtype !== "float32" || x.shape.length === 0) return undefined;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const first = axes[0];
  const last = axes.at(-1)!;
  const size = tf.util.sizeFromShape(x.shape);
  const outer = tf.util.sizeFromShape(x.shape.slice(0, first));
  if (
    axes.length === 0 || last - first + 1 !== axes.length || size < MIN_VALUES ||
    outer > MAX_PRODUCTS
  ) {
    return undefined;
  }
  const count = tf.util.sizeFromShape(x.shape.slice(first, last + 1));
  const inner = tf.util.sizeFromShape(x.shape.slice(last + 1));
  const outShape = x.shape.flatMap((length, axis) =>
    axis < first || axis > last ? [length] : attrs.keepDims ? [1] : []
  );
  const out = backend.makeOutput(outShape, "float32");
  if (ones.length < count) ones = new Float32Array(count).fill(1);
  // Addresses after the last allocation (makeOutput may grow the heap).
  const xAddress = tensorAddress(backend, x);
  const outAddress = tensorAddress(backend, out);
  const onesAddress = addressOf(ones.buffer);
  for (let o = 0; o < outer; o++) {
    blas.sgemm(
      true,
      false,
      inner,
      1,
      count,
      mean ? 1 / count : 1,
      xAddress + o * count * inner * 4,
      inner,
      onesAddress,
      1,
      0,
      outAddress + o * inner * 4,
      1,
    );
  }
  return out;
}
