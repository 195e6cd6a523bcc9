/**
 * The native path: tf.js kernels for the wasm backend that run their matrix products in the
 * machine's BLAS (blas.ts) on the tensors where they lie, in the wasm heap. XNNPACK's wasm
 * kernels are 128-bit SIMD without FMA (~10 GMAC/s here); OpenBLAS' AVX-512 sgemm runs 2-3x
 * faster on the same core. `registerNativeKernels()` puts them over the wasm kernels (ours
 * from wasm_kernels.ts and the built-ins); each hands a case it does not cover (dtype, layout,
 * dilation, an activation it lacks) to the kernel it replaced, as does every kernel where the
 * library is missing, turned off (`SIZEWISE_BLAS=off`) or `useNativeKernels(false)` was called.
 * Inference (`model.predict`) runs the same kernels. Sums and means over a block of axes (bias
 * gradients, global pooling) are BLAS products too (native_reduce.ts), as are batch norm's
 * channel passes (native_batch_norm.ts, used by batch_norm.ts). Convolutions run on oneDNN's
 * own primitives where oneDNN 2.x loads (onednn_conv.ts). Checked against the cpu
 * backend in test/native_kernels_test.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { type Blas, type BlasLookup, blasMissingMessage, loadBlas } from "./blas.ts";
import { CONV_KERNELS, nativeConvsOnOneDnn } from "./native_conv.ts";
import { type KernelArgs, MATMUL_KERNELS, type NativeKernel } from "./native_matmul.ts";
import { REDUCE_KERNELS } from "./native_reduce.ts";

const KERNELS: Record<string, NativeKernel> = {
  ...MATMUL_KERNELS,
  ...CONV_KERNELS,
  ...REDUCE_KERNELS,
};

/** The kernels the native path replaces on wasm. */
export const NATIVE_KERNEL_NAMES = Object.keys(KERNELS);

const replaced = new Map<string, tf.KernelConfig>();
let registered: BlasLookup | undefined;
let enabled = true;
let calls = 0;

/**
 * Loads the BLAS and registers the native kernels over wasm's, once (call it before the wasm
 * backend starts, after registerWasmKernels()); where there is no library, prints one line
 * that says why and how to get it, and wasm's kernels stay. Returns what the lookup found.
 */
export function registerNativeKernels(): BlasLookup {
  if (registered !== undefined) return registered;
  registered = loadBlas();
  const { blas } = registered;
  if (blas === undefined) {
    if (!registered.forcedOff) console.warn(blasMissingMessage(registered));
    return registered;
  }
  for (const [kernelName, kernel] of Object.entries(KERNELS)) {
    const before = tf.getKernel(kernelName, "wasm");
    if (before === undefined) continue;
    replaced.set(kernelName, before);
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({
      kernelName,
      backendName: "wasm",
      // The replaced kernel's setup still has to run: ours hand it the cases they skip.
      setupFunc: before.setupFunc,
      disposeFunc: before.disposeFunc,
      kernelFunc: ((args: KernelArgs) => {
        const out = enabled ? kernel(args, blas) : undefined;
        if (out !== undefined) calls++;
        return out ?? before.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]);
      }) as unknown as tf.KernelFunc,
    });
  }
  return registered;
}

/** Turns the native kernels on or off at run time (on by default; off: wasm's kernels run). */
export function useNativeKernels(on: boolean): void {
  enabled = on;
}

/** How many kernel calls the native path has run (not handed on) so far: tests check it ran. */
export function nativeKernelCalls(): number {
  return calls;
}

/** The BLAS the native kernels run on, or undefined where they are off or missing. */
export function activeBlas(): Blas | undefined {
  return enabled ? registered?.blas : undefined;
}

/** True when the native kernels are registered and on. */
export function nativeKernelsActive(): boolean {
  return enabled && registered?.blas !== undefined;
}

/** Which path runs tf.js' matrix products, in words, e.g. "native (OpenBLAS ..., 2 threads)". */
export function computePath(): string {
  if (tf.engine().backendName !== "wasm") return tf.engine().backendName ?? "none";
  const blas = registered?.blas;
  if (blas === undefined) return `wasm (${registered?.reason ?? "native kernels not registered"})`;
  if (!enabled) return "wasm (native kernels turned off)";
  const threads = blas.threads === undefined
    ? ""
    : `, ${blas.threads} thread${blas.threads === 1 ? "" : "s"}`;
  const core = blas.core === undefined ? "" : ` ${blas.core}`;
  const convs = nativeConvsOnOneDnn() ? ", oneDNN convolutions" : "";
  return `native (${blas.path}${core}${convs}${threads})`;
}
