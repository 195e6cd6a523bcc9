/**
 * The native path's matrix products (BatchMatMul, _FusedMatMul: one sgemm per matrix of a
 * batch, any transposes) and the heap helpers the native conv kernels share.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { addressOf, type Blas } from "./blas.ts";
import { simdLoops } from "./simd.ts";

/** Arguments every kernel function gets. */
export interface KernelArgs<Attrs = tf.NamedAttrMap> {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: BackendWasm;
  attrs: Attrs;
}

/** A native kernel: its output, or undefined to hand this case to the kernel it replaced. */
export type NativeKernel = (args: KernelArgs, blas: Blas) => tf.TensorInfo | undefined;

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
  leakyreluAlpha?: number;
}

/** The matrix-product kernels the native path replaces, by tf.js kernel name. */
export const MATMUL_KERNELS: Record<string, NativeKernel> = {
  BatchMatMul: (args, blas) => matMul(args as unknown as KernelArgs<MatMulAttrs>, blas),
  _FusedMatMul: (args, blas) => matMul(args as unknown as KernelArgs<MatMulAttrs>, blas),
};

/** The wasm heap as floats (a new array after the heap grows: take it after allocating). */
export function wasmHeap(backend: BackendWasm): Float32Array {
  // Emscripten's module field, which its typings here leave out.
  return (backend.wasm as unknown as { HEAPF32: Float32Array }).HEAPF32;
}

/** The byte address in the wasm heap of a tensor's first element (valid until the next allocation). */
export function tensorAddress(backend: BackendWasm, info: tf.TensorInfo): number {
  return addressOf(wasmHeap(backend).buffer) + backend.getMemoryOffset(info.dataId);
}

/** The index in `wasmHeap(backend)` of a float32 tensor's first element. */
export function heapIndex(backend: BackendWasm, info: tf.TensorInfo): number {
  return backend.getMemoryOffset(info.dataId) / 4;
}

/**
 * Fills `count` rows of `n` floats at heap index `at` with the bias (the GEMM then adds to it,
 * beta = 1), or does nothing and returns 0 (the beta to use) when there is no bias.
 */
export function fillBias(
  backend: BackendWasm,
  bias: tf.TensorInfo | undefined,
  at: number,
  count: number,
  n: number,
): number {
  if (bias === undefined) return 0;
  const heap = wasmHeap(backend);
  const from = heapIndex(backend, bias);
  const row = heap.subarray(from, from + n);
  for (let r = 0; r < count; r++) heap.set(row, at + r * n);
  return 1;
}

/** True for the fused activations the native kernels apply themselves. */
export function isNativeActivation(attrs: { activation?: string }): boolean {
  const activation = attrs.activation ?? "linear";
  return activation === "linear" || activation === "relu" || activation === "leakyrelu";
}

/** True when `bias` is absent or one value per output column (`n`), as fused kernels need. */
export function isColumnBias(bias: tf.TensorInfo | undefined, n: number): boolean {
  return bias === undefined ||
    (bias.dtype === "float32" && tf.util.sizeFromShape(bias.shape) === n &&
      bias.shape.slice(0, -1).every((size) => size === 1));
}

/** Applies a fused activation in place to `length` floats at heap index `at`, as cpu's would. */
export function applyActivation(
  backend: BackendWasm,
  at: number,
  length: number,
  attrs: { activation?: string; leakyreluAlpha?: number },
): void {
  const simd = simdLoops(backend);
  if (simd !== undefined && attrs.activation === "relu") return simd.relu(at * 4, at * 4, length);
  if (simd !== undefined && attrs.activation === "leakyrelu") {
    return simd.leakyRelu(at * 4, at * 4, length, Math.fround(attrs.leakyreluAlpha ?? 0.2));
  }
  const heap = wasmHeap(backend);
  const end = at + length;
  if (attrs.activation === "relu") {
    for (let i = at; i < end; i++) if (heap[i] < 0) heap[i] = 0;
  } else if (attrs.activation === "leakyrelu") {
    const alpha = Math.fround(attrs.leakyreluAlpha ?? 0.2);
    for (let i = at; i < end; i++) if (heap[i] < 0) heap[i] *= alpha;
  }
}

// C = op(A) op(B) for every matrix of a batch (one operand may be a single matrix for all),
// plus a bias row and an activation for _FusedMatMul. One sgemm per matrix.
function matMul(args: KernelArgs<MatMulAttrs>, blas: Blas): tf.TensorInfo | undefined {
  const { inputs: { a, b, bias, preluActivationWeights }, backend, attrs } = args;
  if (
    a === undefined || b === undefined || a.dtype !== "float32" || b.dtype !== "float32" ||
    a.shape.length < 2 || b.shape.length < 2 || preluActivationWeights !== undefined ||
    !isNativeActivation(attrs)
  ) {
    return undefined;
  }
  const { transposeA, transposeB } = attrs;
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const [m, k] = transposeA ? [aCols, aRows] : [aRows, aCols];
  const [kB, n] = transposeB ? [bCols, bRows] : [bRows, bCols];
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const aCount = tf.util.sizeFromShape(aBatch);
  const bCount = tf.util.sizeFromShape(bBatch);
  // Equal batches, or one side a single matrix; other broadcasts go to the replaced kernel.
  const sameBatch = aCount === bCount && tf.util.arraysEqual(aBatch, bBatch);
  if (
    k !== kB || m * n * k === 0 || !isColumnBias(bias, n) ||
    !(sameBatch || aCount === 1 || bCount === 1)
  ) {
    return undefined;
  }
  const outBatch = aCount >= bCount ? aBatch : bBatch;
  const count = Math.max(aCount, bCount);
  const out = backend.makeOutput([...outBatch, m, n], "float32");
  // Addresses after the last allocation: makeOutput may grow (and so replace) the heap.
  const outAt = heapIndex(backend, out);
  const beta = fillBias(backend, bias, outAt, count * m, n);
  const aAddress = tensorAddress(backend, a);
  const bAddress = tensorAddress(backend, b);
  const cAddress = tensorAddress(backend, out);
  for (let i = 0; i < count; i++) {
    blas.sgemm(
      transposeA,
      transposeB,
      m,
      n,
      k,
      1,
      aAddress + (aCount === 1 ? 0 : i * m * k * 4),
      transposeA ? m : k,
      bAddress + (bCount === 1 ? 0 : i * k * n * 4),
      transposeB ? k : n,
      beta,
      cAddress + i * m * n * 4,
      n,
    );
  }
  applyActivation(backend, outAt, count * m * n, attrs);
  return out;
}
