/**
 * The speed wing, skippable on a first read: starts tf.js on wasm (or cpu, the reference) and
 * registers our own kernels (convolution gradients, fused momentum, one-op loss and batch
 * norm) that make training fast enough on a CPU. Every kernel is tested against cpu.
 */
export * from "./backend.ts";
export * from "./batch_norm.ts";
export * from "./loss.ts";
export * from "./momentum.ts";
export * from "./wasm_kernels.ts";
