/** Seeded pseudo-random numbers, so shuffles and initialisations repeat exactly. */

/** Returns a generator of floats in [0, 1) from a 32-bit seed (mulberry32). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return function next(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives an independent seed for one use (a layer, an epoch's shuffle) from the run's seed. */
export function deriveSeed(seed: number, ...path: number[]): number {
  let hash = (seed ^ 0x9e3779b9) >>> 0;
  for (const part of path) {
    hash = Math.imul(hash ^ (part >>> 0), 0x85ebca6b) >>> 0;
    hash = (hash ^ (hash >>> 13)) >>> 0;
    hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
    hash = (hash ^ (hash >>> 16)) >>> 0;
  }
  return hash;
}

/** Returns the indices 0..n-1 in an order fixed by `seed` (Fisher-Yates). */
export function shuffledIndices(n: number, seed: number): Int32Array {
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  const random = createRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = indices[i];
    indices[i] = indices[j];
    indices[j] = swap;
  }
  return indices;
}
