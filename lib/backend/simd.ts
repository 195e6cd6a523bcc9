/**
 * The wasm SIMD loops of simd.wat, instantiated over tf.js-wasm's own memory, so they read and
 * write tensors where they lie: the momentum step, Relu and LeakyRelu and their gradients,
 * and a 2x2 max pool's gradient. V8 runs the same loops in JS one float at a time; these take 4
 * (keras-cnn's momentum step, 1.2M weights: ~2.5 -> ~0.9 ms). Where the module cannot load
 * (a tf.js build without the memory export) or `useSimdKernels(false)` was called, callers run
 * their JS loops, which give the same values (the momentum step to float rounding).
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { Buffer } from "node:buffer";
import { SIMD_WASM_BASE64 } from "./simd_binary.ts";

/** A momentum step over n floats: (x, a, g) to (xOut, aOut), c = -learning rate. */
type MomentumLoop = (
  x: number,
  a: number,
  g: number,
  xOut: number,
  aOut: number,
  n: number,
  momentum: number,
  c: number,
) => void;

/** simd.wat's functions; addresses are byte offsets into tf.js-wasm's memory, counts floats. */
export interface SimdLoops {
  momentumNesterov: MomentumLoop;
  momentumPlain: MomentumLoop;
  /** In place where y is x. */
  relu(x: number, y: number, n: number): void;
  reluGrad(dy: number, x: number, dx: number, n: number): void;
  /** In place where y is x. */
  leakyRelu(x: number, y: number, n: number, alpha: number): void;
  leakyReluGrad(dy: number, x: number, dx: number, n: number, alpha: number): void;
  /** acc (period doubles) += x, float i onto i mod period. */
  periodicSums(x: number, n: number, acc: number, period: number): void;
  /** acc (period doubles) += a * (b - mean), mean repeated to period floats. */
  periodicCenteredDots(
    a: number,
    b: number,
    mean: number,
    n: number,
    acc: number,
    period: number,
  ): void;
  /** y = x * sx + z * sz + shift, the three repeated to period floats. */
  periodicAffine(
    x: number,
    z: number,
    y: number,
    n: number,
    sx: number,
    sz: number,
    shift: number,
    period: number,
  ): void;
  /**
   * A depthwise conv's input gradient (mode 0: out floats += dy * w) or filter gradient (mode
   * 1: out doubles += x * dy); geometry: 12 i32s (see simd.wat).
   */
  depthwiseGradient(
    x: number,
    dy: number,
    w: number,
    out: number,
    geometry: number,
    mode: number,
  ): void;
  /** tf.js' dropout multiplier for n units from alea's state (lib/backend/dropout.ts). */
  dropoutMask(
    out: number,
    n: number,
    s0: number,
    s1: number,
    s2: number,
    c: number,
    keep: number,
    kept: number,
  ): void;
  /** At least 4 channels. */
  maxPoolGrad2x2(
    x: number,
    dy: number,
    dx: number,
    batch: number,
    height: number,
    width: number,
    channels: number,
  ): void;
}

let compiled: WebAssembly.Module | undefined;
const instances = new WeakMap<WebAssembly.Memory, SimdLoops>();
let enabled = true;

/** Turns the SIMD loops on or off (on by default); tests compare both paths. */
export function useSimdKernels(on: boolean): void {
  enabled = on;
}

/** The SIMD loops over `backend`'s memory, or undefined where they are off or cannot load. */
export function simdLoops(backend: BackendWasm): SimdLoops | undefined {
  if (!enabled) return undefined;
  // Emscripten's exports; the typings leave them out.
  const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return undefined;
  let loops = instances.get(memory);
  if (loops === undefined) {
    compiled ??= new WebAssembly.Module(Buffer.from(SIMD_WASM_BASE64, "base64"));
    const instance = new WebAssembly.Instance(compiled, { env: { memory } });
    loops = instance.exports as unknown as SimdLoops;
    instances.set(memory, loops);
  }
  return loops;
}

/** The byte offset of a tensor's first element in tf.js-wasm's memory. */
export function heapOffset(backend: BackendWasm, info: tf.TensorInfo): number {
  return backend.getMemoryOffset(info.dataId);
}

// Emscripten's allocator of tf.js-wasm's heap (left out of its typings).
interface HeapAllocator {
  _malloc(bytes: number): number;
  _free(at: number): void;
}

/** Runs `use` with the address of a scratch block of `bytes` in tf.js-wasm's heap, freed after. */
export function withHeapBlock<T>(backend: BackendWasm, bytes: number, use: (at: number) => T): T {
  const wasm = backend.wasm as unknown as HeapAllocator;
  const block = wasm._malloc(bytes);
  try {
    return use(block);
  } finally {
    wasm._free(block);
  }
}
