/** Latency of one image as an app sees it: batch 1, from pixels to the answer read back. */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SIZE as PIXELS, type MnistSplit } from "../data/mnist.ts";
import { median } from "./cost.ts";

export interface LatencyMeasurement {
  medianMs: number;
  /** 95 in 100 images answer at least this fast. */
  p95Ms: number;
  minMs: number;
  /** Timed runs (warm-up runs excluded). */
  repeats: number;
}

/**
 * Latency of one image (batch 1) as an app sees it: build the input, predict, and wait for the
 * answer (`dataSync`). Images cycle through `examples`; the first `warmup` runs are not timed
 * (the first predictions compile kernels and allocate memory).
 */
export function measureLatency(
  model: tf.LayersModel,
  examples: MnistSplit,
  options: { repeats?: number; warmup?: number } = {},
): LatencyMeasurement {
  const repeats = options.repeats ?? 200;
  const warmup = options.warmup ?? 20;
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new Error(`repeats must be a positive integer, got ${repeats}`);
  }
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new Error(`warmup must be a whole number, got ${warmup}`);
  }
  if (examples.count < 1) throw new Error("measureLatency() needs at least one image");
  const times: number[] = [];
  for (let run = 0; run < warmup + repeats; run++) {
    const index = run % examples.count;
    const started = performance.now();
    tf.tidy(() => {
      const x = tf.tensor4d(examples.images.subarray(index * PIXELS, (index + 1) * PIXELS), [
        1,
        28,
        28,
        1,
      ]);
      (model.predict(x) as tf.Tensor).dataSync();
    });
    if (run >= warmup) times.push(performance.now() - started);
  }
  return {
    medianMs: median(times),
    p95Ms: percentile(times, 95),
    minMs: Math.min(...times),
    repeats,
  };
}

/**
 * The `p`-th percentile by the nearest-rank method: the smallest value with at least `p`% of
 * the values at or below it (p95 of 200 timings is the 190th fastest).
 */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) throw new Error("percentile() needs at least one value");
  if (!(p > 0 && p <= 100)) throw new Error(`percentile p must be in (0, 100], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p * sorted.length) / 100) - 1)];
}
