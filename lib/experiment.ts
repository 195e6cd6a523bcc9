/**
 * One experiment = train one model with one config, measure what it costs, and store the
 * result; a stored result is reused, and an interrupted run resumes from its last epoch.
 */
import * as tf from "@tensorflow/tfjs";
import { checkConfig, MNIST_TEST_SIZE, MNIST_TRAIN_SIZE, type TrainConfig } from "./config.ts";
import { measureInference, measureSavedSize, measureTrainingMemory, median } from "./cost.ts";
import type { MemoryMeasurement } from "./cost.ts";
import { type BackendName, initBackend, runtimeInfo } from "./backend.ts";
import { loadMnist, type Mnist } from "./mnist.ts";
import { buildModel } from "./models.ts";
import {
  defaultResultsDir,
  deleteCheckpoint,
  loadCheckpoint,
  loadMeasurement,
  loadResult,
  loadResultWeights,
  resultKey,
  type RunResult,
  saveCheckpoint,
  saveMeasurement,
  saveResult,
} from "./results.ts";
import { summarizeModel } from "./summary.ts";
import { type BatchProgress, type EpochMetrics, trainModel } from "./train.ts";

/** What an experiment measures besides accuracy. */
export interface ExperimentCosts {
  trainableParams: number;
  nonTrainableParams: number;
  macsPerImage: number;
  /** Median training time of one epoch of this run. */
  trainSecondsPerEpoch: number;
  /** The same scaled to MNIST's 60,000 training images. */
  trainSecondsPerFullEpoch: number;
  /** Median time to predict this run's test images, and scaled to MNIST's 10,000. */
  inferenceSeconds: number;
  inferenceSecondsFullTestSet: number;
  /** Size of the saved weights (tf.js weights.bin) and of the model.json beside them. */
  weightFileBytes: number;
  modelJsonBytes: number;
  trainingMemory: MemoryMeasurement[];
}

/** Options of `runExperiment`. */
export interface ExperimentOptions {
  /** Where results and checkpoints live; default `defaultResultsDir()`. */
  resultsDir?: string;
  /** Train again even if a result is stored (and drop any checkpoint). */
  retrain?: boolean;
  /** Already loaded data with exactly the config's sizes and seed, to share across runs. */
  data?: Mnist;
  /** Batch sizes at which to measure one step's training memory; default the config's. */
  memoryBatchSizes?: number[];
  onBatch?: (progress: BatchProgress) => void | Promise<void>;
  onEpoch?: (metrics: EpochMetrics) => void | Promise<void>;
  /** Called once with the epochs a resumed run already has. */
  onResume?: (history: EpochMetrics[]) => void | Promise<void>;
}

/** A stored or fresh result, and whether it came from the store. */
export interface ExperimentOutcome {
  result: RunResult & { costs: ExperimentCosts };
  cached: boolean;
}

/** Trains and measures `config`'s model, or returns its stored result. */
export async function runExperiment(
  config: TrainConfig,
  options: ExperimentOptions = {},
): Promise<ExperimentOutcome> {
  checkConfig(config);
  return await storedOrTrained({
    config,
    resultsDir: options.resultsDir ?? defaultResultsDir(),
    build: () => buildModel(config.model, { seed: config.seed }),
    measure: (model, data, history) =>
      measureCosts(model, data, config, history, options.memoryBatchSizes),
  }, options) as ExperimentOutcome;
}

/** One stored run: its config and store, how to build its model, what to measure after. */
export interface StoredRun {
  config: TrainConfig;
  resultsDir: string;
  /** A fresh model, seeded from the config. */
  build: () => tf.LayersModel;
  /** The costs stored with the result, measured on the trained model. */
  measure: (
    model: tf.LayersModel,
    data: Mnist,
    history: EpochMetrics[],
  ) => object | Promise<object>;
  /** Fields stored beside the config, e.g. a search candidate's spec. */
  fields?: Record<string, unknown>;
}

/**
 * The stored result of `run`, unless `retrain`; else trains its model with checkpoints
 * (resuming an interrupted run), measures it, stores the result with its weights, and drops
 * the checkpoint. What `runExperiment` and the search's `runCandidate` share.
 */
export async function storedOrTrained(
  run: StoredRun,
  options: Pick<ExperimentOptions, "retrain" | "data" | "onBatch" | "onEpoch" | "onResume">,
): Promise<{ result: RunResult; cached: boolean }> {
  const { config, resultsDir: dir } = run;
  const backend = await initBackend(currentBackend());
  const key = await resultKey(config, backend);
  const stored = await storedUnlessRetrain(dir, key, options.retrain);
  if (stored) return { result: stored, cached: true };
  const data = await loadExperimentData(config, options.data);
  const model = run.build();
  try {
    const history = await trainWithCheckpoints(model, data, {
      config,
      resultsDir: dir,
      key,
      onBatch: options.onBatch,
      onEpoch: options.onEpoch,
      onResume: options.onResume,
    });
    const costs = await run.measure(model, data, history);
    const weights: tf.NamedTensorMap = {};
    for (const weight of model.weights) weights[weight.originalName] = weight.read();
    const result = {
      key,
      config,
      ...run.fields,
      runtime: runtimeInfo(),
      finishedAt: new Date().toISOString(),
      history,
      costs: costs as Record<string, unknown>,
    };
    await saveResult(dir, result, weights);
    await deleteCheckpoint(dir, key);
    return { result: (await loadResult(dir, key))!, cached: false };
  } finally {
    model.dispose();
  }
}

/** Options of `trainWithCheckpoints`. */
export interface CheckpointedTrainingOptions
  extends Pick<ExperimentOptions, "onBatch" | "onEpoch" | "onResume"> {
  config: TrainConfig;
  /** The results folder; the checkpoint lives in its `checkpoints/` folder. */
  resultsDir: string;
  /** The run's key in the store (`resultKey`), which names its checkpoint. */
  key: string;
}

/**
 * Trains `model` (built fresh by the caller) with `config`, saving a checkpoint after every
 * epoch and resuming from the checkpoint stored under `key` if there is one. The training
 * half of `runExperiment`, for runs of models outside `MODEL_NAMES` (e.g. search candidates).
 */
export async function trainWithCheckpoints(
  model: tf.LayersModel,
  data: Mnist,
  options: CheckpointedTrainingOptions,
): Promise<EpochMetrics[]> {
  const { resultsDir: dir, key } = options;
  const resumeFrom = await loadCheckpoint(dir, key);
  try {
    if (resumeFrom) await options.onResume?.(resumeFrom.history);
    return await trainModel(model, data, {
      config: options.config,
      resumeFrom,
      onBatch: options.onBatch,
      onEpoch: async (metrics, checkpoint) => {
        const snapshot = checkpoint();
        try {
          await saveCheckpoint(dir, key, snapshot);
        } finally {
          tf.dispose([
            ...Object.values(snapshot.modelWeights),
            ...Object.values(snapshot.optimizerWeights),
          ]);
        }
        await options.onEpoch?.(metrics);
      },
    });
  } finally {
    if (resumeFrom) {
      tf.dispose([
        ...Object.values(resumeFrom.modelWeights),
        ...Object.values(resumeFrom.optimizerWeights),
      ]);
    }
  }
}

/**
 * The data for `config`: `data` when given (checked to have the config's sizes), else MNIST
 * loaded with the config's sizes and seed.
 */
export async function loadExperimentData(config: TrainConfig, data?: Mnist): Promise<Mnist> {
  const loaded = data ?? await loadMnist({
    trainSize: config.trainSize,
    testSize: config.testSize,
    seed: config.seed,
  });
  if (loaded.train.count !== config.trainSize || loaded.test.count !== config.testSize) {
    throw new Error(
      `The data given has ${loaded.train.count} training and ${loaded.test.count} test images, ` +
        `the config asks for ${config.trainSize} and ${config.testSize}; load it with the same sizes`,
    );
  }
  return loaded;
}

/**
 * The stored result under `key`, unless `retrain` asks to train again: then there is none, and
 * any checkpoint of the key is dropped too, so training starts from epoch 1.
 */
export async function storedUnlessRetrain(
  dir: string,
  key: string,
  retrain = false,
): Promise<RunResult | undefined> {
  if (!retrain) return await loadResult(dir, key);
  await deleteCheckpoint(dir, key);
  return undefined;
}

/** The stored result of `config` on the current (or default) backend, if there is one. */
export async function findStoredResult(
  config: TrainConfig,
  options: { resultsDir?: string } = {},
): Promise<ExperimentOutcome["result"] | undefined> {
  const backend = await initBackend(currentBackend());
  const key = await resultKey(config, backend);
  const result = await loadResult(options.resultsDir ?? defaultResultsDir(), key);
  return result as ExperimentOutcome["result"] | undefined;
}

/**
 * One training step's peak memory at `batchSize`, measured once per model, batch size and
 * backend and then read from the store (a large batch takes tens of seconds to measure).
 */
export async function measureTrainingMemoryStored(
  modelName: string,
  options: { batchSize: number; resultsDir?: string },
): Promise<MemoryMeasurement> {
  const dir = options.resultsDir ?? defaultResultsDir();
  const backend = await initBackend(currentBackend());
  const name = `memory_${modelName}_${backend}_batch${options.batchSize}`;
  const stored = await loadMeasurement<MemoryMeasurement>(dir, name);
  if (stored) return stored;
  const measured = await measureTrainingMemory(modelName, {
    batchSize: options.batchSize,
    backend,
  });
  await saveMeasurement(dir, name, measured);
  return measured;
}

/** Rebuilds the trained model of a stored result (the caller disposes it). */
export async function loadTrainedModel(
  result: RunResult,
  options: { resultsDir?: string } = {},
): Promise<tf.LayersModel> {
  const weights = await loadResultWeights(options.resultsDir ?? defaultResultsDir(), result);
  const model = buildModel(result.config.model, { seed: result.config.seed });
  try {
    for (const weight of model.weights) {
      const saved = weights[weight.originalName];
      if (!saved) {
        model.dispose();
        throw new Error(`The stored weights of ${result.key} lack "${weight.originalName}"`);
      }
      weight.write(saved); // copies the values: the decoded tensors are freed below
    }
  } finally {
    tf.dispose(Object.values(weights));
  }
  return model;
}

async function measureCosts(
  model: tf.LayersModel,
  data: Mnist,
  config: TrainConfig,
  history: EpochMetrics[],
  memoryBatchSizes = [config.batchSize],
): Promise<ExperimentCosts> {
  const summary = summarizeModel(model);
  const trainSecondsPerEpoch = median(history.map((epoch) => epoch.trainSeconds));
  const inference = measureInference(model, data.test, { batchSize: config.evalBatchSize });
  const saved = await measureSavedSize(model);
  const trainingMemory: MemoryMeasurement[] = [];
  for (const batchSize of memoryBatchSizes) {
    trainingMemory.push(await measureTrainingMemory(config.model, { batchSize }));
  }
  return {
    trainableParams: summary.trainableParams,
    nonTrainableParams: summary.nonTrainableParams,
    macsPerImage: summary.macs,
    trainSecondsPerEpoch,
    trainSecondsPerFullEpoch: trainSecondsPerEpoch * MNIST_TRAIN_SIZE / config.trainSize,
    inferenceSeconds: inference.medianSeconds,
    inferenceSecondsFullTestSet: inference.medianSeconds * MNIST_TEST_SIZE / config.testSize,
    weightFileBytes: saved.weightBytes,
    modelJsonBytes: saved.modelJsonBytes,
    trainingMemory,
  };
}

/** The backend already started (wasm or cpu), or undefined for "start the default one". */
export function currentBackend(): BackendName | undefined {
  const name = tf.engine().backendName; // unlike tf.getBackend(), does not start one
  return name === "wasm" || name === "cpu" ? name : undefined;
}
