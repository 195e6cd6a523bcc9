/**
 * The speed wing, skippable on a first read: starts tf.js on wasm (or cpu, the reference) and
 * registers our own kernels (convolution gradients, fused momentum, one-op loss and batch
 * norm, wasm SIMD loops for the elementwise steps, and BLAS-backed matrix products and
 * convolutions) that make training fast on a CPU. Every kernel is tested against cpu.
 */
export * from "./backend.ts";
export * from "./batch_norm.ts";
export * from "./blas.ts";
export * from "./loss.ts";
export * from "./momentum.ts";
export * from "./native_kernels.ts";
export { useSimdKernels } from "./simd.ts";
export { type NativeConvPolicy, setNativeConvPolicy } from "./native_conv.ts";
export * from "./wasm_kernels.ts";
