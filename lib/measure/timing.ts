/**
 * Times that carry their noise: every figure comes from untimed warm-up runs and then at least
 * five timed repeats, reported as the median with the fastest and slowest beside it.
 */
import * as tf from "@tensorflow/tfjs";
import { disposeOptimizer } from "../training/train.ts";
import { median } from "./cost.ts";

/** The repeats a timing takes by default: one warm-up, then five timed runs. */
export const DEFAULT_TIMING = { warmups: 1, repeats: 5 } as const;

/** How long something took, over several repeats. */
export interface RepeatedTiming {
  warmups: number;
  repeats: number;
  /** Each timed repeat, in order. */
  seconds: number[];
  medianSeconds: number;
  minSeconds: number;
  maxSeconds: number;
}

/** Options of `timeRepeated` and `measureTrainStep`. */
export interface TimingOptions {
  /** Untimed runs first (compiling, allocating, caches). Default 1. */
  warmups?: number;
  /** Timed runs; at least 1, default 5. */
  repeats?: number;
}

/** Runs `work` `warmups` times untimed, then `repeats` times timed. */
export function timeRepeated(work: () => void, options: TimingOptions = {}): RepeatedTiming {
  const { warmups, repeats } = checkTiming(options);
  for (let i = 0; i < warmups; i++) work();
  const seconds = Array.from({ length: repeats }, () => {
    const started = performance.now();
    work();
    return (performance.now() - started) / 1000;
  });
  return timingOf(seconds, warmups);
}

/** The median, fastest and slowest of already timed `seconds`. */
export function timingOf(seconds: number[], warmups = 0): RepeatedTiming {
  if (seconds.length === 0) throw new Error("timingOf() needs at least one timed repeat");
  return {
    warmups,
    repeats: seconds.length,
    seconds,
    medianSeconds: median(seconds),
    minSeconds: Math.min(...seconds),
    maxSeconds: Math.max(...seconds),
  };
}

/** `timing` scaled by `factor` (e.g. steps per epoch): every figure, not just the median. */
export function scaleTiming(timing: RepeatedTiming, factor: number): RepeatedTiming {
  return timingOf(timing.seconds.map((s) => s * factor), timing.warmups);
}

/** "1.23 s (1.20-1.31, median of 5)": a timing for a table. */
export function formatTiming(timing: RepeatedTiming, digits = 2): string {
  const f = (value: number) => value.toFixed(digits);
  return `${f(timing.medianSeconds)} s (${f(timing.minSeconds)}-${f(timing.maxSeconds)}, ` +
    `median of ${timing.repeats})`;
}

/**
 * Times one SGD step (Nesterov momentum, as the article trains) of `model` on random images at
 * `batchSize`: warm-ups, then timed repeats, each waiting for the updated weights.
 */
export function measureTrainStep(
  model: tf.LayersModel,
  options: TimingOptions & { batchSize: number },
): RepeatedTiming {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const optimizer = tf.train.momentum(5e-3, 0.9, true);
  const xs = tf.randomUniform([batchSize, 28, 28, 1], 0, 1, "float32", 1);
  const ys = tf.tidy(() =>
    tf.oneHot(tf.randomUniform([batchSize], 0, 10, "int32", 2), 10) as tf.Tensor2D
  );
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  try {
    return timeRepeated(() => {
      tf.tidy(() => {
        optimizer.minimize(
          () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor),
          false,
          variables,
        );
      });
      variables[0].dataSync(); // wait for the step, as training does before the next batch
    }, options);
  } finally {
    xs.dispose();
    ys.dispose();
    disposeOptimizer(optimizer);
  }
}

function checkTiming(options: TimingOptions): { warmups: number; repeats: number } {
  const warmups = options.warmups ?? DEFAULT_TIMING.warmups;
  const repeats = options.repeats ?? DEFAULT_TIMING.repeats;
  if (!Number.isInteger(warmups) || warmups < 0) {
    throw new Error(`warmups must be a whole number from 0, got ${warmups}`);
  }
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new Error(
      `repeats must be a whole number from 1 (5 or more to see the spread), got ${repeats}`,
    );
  }
  return { warmups, repeats };
}
