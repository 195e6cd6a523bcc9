/**
 * What a model costs: training memory of one step, time per training step and per epoch,
 * inference time on the test set, and the size of its saved weights.
 */
import * as tf from "@tensorflow/tfjs";
import type { MnistSplit } from "../data/mnist.ts";
import { checkModelName } from "../models/registry.ts";
import { SETTINGS } from "../common/settings.ts";
import { predictInBatches } from "../training/predict.ts";
import { disposeOptimizer } from "../training/train.ts";

/** Peak memory of one training step at one batch size. */
export interface MemoryMeasurement {
  batchSize: number;
  /** Whether the backend could run the step at all. */
  fits: boolean;
  /** Weights, optimizer state and every tensor alive at the step's peak (tf.profile). */
  peakBytes?: number;
  /** Why it did not fit, or how the figure was obtained. */
  note?: string;
}

/** The most memory tf.js's wasm backend can address: a 32-bit heap, 4 GB. */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;

/** A step's memory at a batch that was not measured, from the measured ones that fit. */
export interface MemoryEstimate {
  batchSize: number;
  /** Bytes one more image adds: its activations (and their gradients) through the network. */
  perImageBytes: number;
  /** Weights, optimizer state and anything else that does not grow with the batch. */
  fixedBytes: number;
  estimatedBytes: number;
  /** The two batch sizes the line runs through. */
  fromBatchSizes: [number, number];
}

/**
 * Estimates a step's memory at `batchSize` on the straight line through the two largest
 * measured batches that fit: activations grow linearly with the batch, weights do not.
 * Undefined when fewer than two distinct batch sizes fit.
 */
export function estimateStepMemory(
  measurements: readonly MemoryMeasurement[],
  batchSize: number,
): MemoryEstimate | undefined {
  const fitting = measurements
    .filter((m) => m.fits && m.peakBytes !== undefined)
    .filter((m, i, all) => all.findIndex((other) => other.batchSize === m.batchSize) === i)
    .sort((a, b) => a.batchSize - b.batchSize);
  if (fitting.length < 2) return undefined;
  const [small, large] = fitting.slice(-2);
  const perImageBytes = (large.peakBytes! - small.peakBytes!) / (large.batchSize - small.batchSize);
  const fixedBytes = large.peakBytes! - perImageBytes * large.batchSize;
  return {
    batchSize,
    perImageBytes,
    fixedBytes,
    estimatedBytes: fixedBytes + perImageBytes * batchSize,
    fromBatchSizes: [small.batchSize, large.batchSize],
  };
}

/** What a memory cell says for a step that did not fit: the heap it exceeds, and the estimate. */
export function exceedsHeapText(estimatedBytes?: number): string {
  const estimate = estimatedBytes === undefined
    ? ""
    : ` (estimate: ${(estimatedBytes / 2 ** 30).toFixed(1)} GB)`;
  return `exceeds the 4 GB wasm heap${estimate}`;
}

/** Runs one SGD step of `model` on random images and returns its peak memory in bytes. */
export async function measureStepMemory(
  model: tf.LayersModel,
  options: { batchSize: number },
): Promise<number> {
  const { batchSize } = options;
  const optimizer = tf.train.momentum(5e-3, 0.9, true);
  const before = tf.memory().numBytes;
  try {
    const info = await tf.profile(() => {
      tf.tidy(() => {
        const xs = tf.randomUniform([batchSize, 28, 28, 1]);
        const ys = tf.oneHot(tf.zeros([batchSize], "int32"), 10) as tf.Tensor2D;
        optimizer.minimize(
          () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor),
          false,
          model.trainableWeights.map((weight) => weight.read() as tf.Variable),
        );
      });
    });
    // tf.profile's peak counts every live tensor; count this model's weights and nothing else.
    return info.peakBytes - before + modelBytes(model);
  } finally {
    disposeOptimizer(optimizer);
  }
}

/**
 * Measures one training step's peak memory in a child process, so a batch the backend cannot
 * hold (wasm has at most 4 GB) is reported as not fitting instead of breaking this process.
 */
export async function measureTrainingMemory(
  modelName: string,
  options: { batchSize: number; backend?: string },
): Promise<MemoryMeasurement> {
  // Checked here: a typo must be an error, not a "does not fit" row.
  checkModelName(modelName);
  if (!Number.isInteger(options.batchSize) || options.batchSize <= 0) {
    throw new Error(`batchSize must be a positive integer, got ${options.batchSize}`);
  }
  const script = new URL("./memory_child.ts", import.meta.url).pathname;
  const args = ["run", "--allow-read", "--allow-env", script, modelName, String(options.batchSize)];
  const env: Record<string, string> = options.backend
    ? { [SETTINGS.backend]: options.backend }
    : {};
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(output.stdout).trim().split("\n").at(-1) ?? "";
  if (output.success && text.startsWith("{")) return JSON.parse(text);
  const stderr = new TextDecoder().decode(output.stderr);
  // The child process knows only the models registered in lib/models/registry.ts itself.
  const unknown = stderr.match(/Unknown model "[^"]*"/)?.[0];
  if (unknown) {
    throw new Error(
      `Cannot measure the training memory of "${modelName}" in a child process: ${unknown} ` +
        `there, because registerModel() at run time reaches only this process; add its entry to ` +
        `MODEL_REGISTRY in lib/models/registry.ts, or measure without memory (memoryBatchSizes: [])`,
    );
  }
  const reason = stderr.match(/(RuntimeError|RangeError|Error): [^\n]*/)?.[0] ??
    `exit code ${output.code}`;
  return {
    batchSize: options.batchSize,
    fits: false,
    note: `the backend could not run one step at this batch size (${reason})`,
  };
}

/** Median wall time of a forward pass over all of `examples`, after one warm-up pass. */
export function measureInference(
  model: tf.LayersModel,
  examples: MnistSplit,
  options: { batchSize?: number; repeats?: number } = {},
): { medianSeconds: number; seconds: number[] } {
  const batchSize = options.batchSize ?? 1000;
  const repeats = options.repeats ?? 3;
  const pass = () => {
    // dataSync waits for the result, as a user would.
    predictInBatches(model, examples, batchSize, (logits) => logits.dataSync());
  };
  pass();
  const seconds = Array.from({ length: repeats }, () => timeSeconds(pass));
  return { medianSeconds: median(seconds), seconds };
}

/** The size of the model's weights as tf.js saves them (`weights.bin`) and of its `model.json`. */
export async function measureSavedSize(
  model: tf.LayersModel,
): Promise<{ weightBytes: number; modelJsonBytes: number }> {
  let sizes = { weightBytes: 0, modelJsonBytes: 0 };
  await model.save(tf.io.withSaveHandler((artifacts) => {
    const weightData = artifacts.weightData as ArrayBuffer;
    const { weightData: _, ...json } = artifacts;
    sizes = {
      weightBytes: weightData.byteLength,
      modelJsonBytes: new TextEncoder().encode(JSON.stringify(json)).length,
    };
    return Promise.resolve({ modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) });
  }));
  return sizes;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error("median() needs at least one value");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function modelBytes(model: tf.LayersModel): number {
  return model.weights.reduce(
    (sum, weight) => sum + tf.util.sizeFromShape(weight.shape as number[]) * 4,
    0,
  );
}

function timeSeconds(work: () => void): number {
  const started = performance.now();
  work();
  return (performance.now() - started) / 1000;
}
