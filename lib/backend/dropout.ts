/**
 * Keras' Dropout in training mode as one product with a mask. tf.js builds the mask from four
 * full-size ops, floor(u + keep) / keep, over noise u drawn through a generic generator at
 * ~10 ns a number (~1.5 ms a step for the Keras CNN's 147,456 activations after its pool).
 * Here the same draws (seedrandom's alea, which tf.js uses, seeded the same way) fill the mask
 * in one loop, with the same float32 arithmetic: the same masks, bit for bit, faster.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heapOffset, type SimdLoops, simdLoops } from "./simd.ts";

// The fields of tf.js's Dropout layer this module reads.
interface DropoutLayer {
  rate: number;
  noiseShape?: number[] | null;
  seed?: number;
}

/**
 * What `layer.apply(x, {training: true})` computes for a Dropout layer with a seed (one per
 * step: lib/training/train.ts sets it), with a mask drawn from that seed; undefined for other
 * layers, a noise shape, or no seed, which the caller applies as usual.
 */
export function applyDropoutForTraining(
  layer: tf.layers.Layer,
  x: tf.Tensor,
): tf.Tensor | undefined {
  if (layer.getClassName() !== "Dropout") return undefined;
  const { rate, noiseShape, seed } = layer as unknown as DropoutLayer;
  if (noiseShape != null || seed === undefined || !(rate > 0 && rate < 1)) return undefined;
  return tf.tidy(() => tf.mul(x, maskTensor(x.shape, rate, seed)));
}

// The mask as a tensor, drawn straight into the wasm heap on wasm, else by `dropoutMask` in JS.
function maskTensor(shape: number[], rate: number, seed: number): tf.Tensor {
  const backend = tf.getBackend() === "wasm" ? tf.backend() as BackendWasm : undefined;
  const simd = backend && simdLoops(backend);
  if (backend === undefined || simd === undefined) {
    return tf.tensor(dropoutMask(tf.util.sizeFromShape(shape), rate, seed), shape);
  }
  const out = backend.makeOutput(shape, "float32");
  fillDropoutMask(simd, heapOffset(backend, out), tf.util.sizeFromShape(shape), rate, seed);
  return tf.engine().makeTensorFromTensorInfo(out);
}

/**
 * Writes `dropoutMask(size, rate, seed)` at byte offset `at` of tf.js-wasm's memory in the SIMD
 * module's loop: the same floats, bit for bit.
 */
export function fillDropoutMask(
  simd: SimdLoops,
  at: number,
  size: number,
  rate: number,
  seed: number,
): void {
  const { s0, s1, s2, c } = aleaState(String(seed));
  const keep = Math.fround(1 - rate);
  simd.dropoutMask(at, size, s0, s1, s2, c, keep, Math.fround(1 / keep));
}

/**
 * The multiplier tf.js' dropout would use for `size` units with this rate and seed:
 * floor(u + keep) / keep in float32, u the seed's uniform draws.
 */
export function dropoutMask(size: number, rate: number, seed: number): Float32Array {
  const keep = Math.fround(1 - rate);
  const kept = Math.fround(1 / keep);
  const draw = alea(String(seed));
  const mask = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    mask[i] = Math.fround(Math.fround(draw()) + keep) >= 1 ? kept : 0;
  }
  return mask;
}

// seedrandom's alea (Johannes Baagøe's generator, MIT), as tf.js' randomUniform seeds it.
function alea(seed: string): () => number {
  let { s0, s1, s2, c } = aleaState(seed);
  return () => {
    const t = 2091639 * s0 + c * 2.3283064365386963e-10;
    s0 = s1;
    s1 = s2;
    return (s2 = t - (c = t | 0));
  };
}

// Alea's state after seeding, from its "mash" of the seed string.
function aleaState(seed: string): { s0: number; s1: number; s2: number; c: number } {
  let n = 0xefc8249d;
  const mash = (data: string) => {
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000;
    }
    return (n >>> 0) * 2.3283064365386963e-10;
  };
  const c = 1;
  let s0 = mash(" ");
  let s1 = mash(" ");
  let s2 = mash(" ");
  s0 -= mash(seed);
  if (s0 < 0) s0 += 1;
  s1 -= mash(seed);
  if (s1 < 0) s1 += 1;
  s2 -= mash(seed);
  if (s2 < 0) s2 += 1;
  return { s0, s1, s2, c };
}
