/**
 * One experiment = train one model with one config, measure what it costs, and store the
 * result; a stored result is reused, and an interrupted run resumes from its last epoch.
 */
import type * as tf from "@tensorflow/tfjs";
import { currentBackend, initBackend, runtimeInfo } from "../backend/backend.ts";
import { loadMnist, type Mnist } from "../data/mnist.ts";
import { buildModel } from "../models/registry.ts";
import { measureTrainingMemory, type MemoryMeasurement } from "../measure/cost.ts";
import { type ExperimentOutcome, measureCosts } from "../measure/experiment_costs.ts";
import { finishRunInProgress, trainWithCheckpoints } from "../training/checkpoints.ts";
import { checkConfig, type TrainConfig } from "../training/config.ts";
import {
  canonicalSha256,
  checkResultWeights,
  defaultResultsDir,
  deleteCheckpoint,
  deleteStoredRun,
  loadMeasurement,
  loadResult,
  RESULT_FIX,
  resultKey,
  type RunResult,
  saveMeasurement,
  saveResult,
} from "../training/results.ts";
import {
  checkFiniteTree,
  requireFinite,
  requireRecord,
  StoredFieldError,
} from "../training/store_schema.ts";
import type { BatchProgress, EpochMetrics } from "../training/train.ts";

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
    checkCosts: checkExperimentCosts,
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
  /** Checks a stored result's costs before it is reused (throwing `StoredFieldError`). */
  checkCosts?: (costs: Record<string, unknown>) => void;
}

/** The fields of `ExperimentCosts` that are plain numbers. */
const EXPERIMENT_COST_NUMBERS = [
  "trainableParams",
  "nonTrainableParams",
  "macsPerImage",
  "trainSecondsPerEpoch",
  "trainSecondsPerFullEpoch",
  "inferenceSeconds",
  "inferenceSecondsFullTestSet",
  "weightFileBytes",
  "modelJsonBytes",
] as const;

/** Checks that stored costs have every field `measureCosts` writes (throws `StoredFieldError`). */
export function checkExperimentCosts(costs: Record<string, unknown>): void {
  for (const name of EXPERIMENT_COST_NUMBERS) requireFinite(costs[name], `costs.${name}`);
  if (!Array.isArray(costs.trainingMemory)) {
    throw new StoredFieldError("costs.trainingMemory", "must be an array of measurements");
  }
  costs.trainingMemory.forEach((entry, i) =>
    checkMemoryMeasurement(entry, `costs.trainingMemory[${i}]`)
  );
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
  if (stored) {
    checkStoredCosts(stored, dir, run.checkCosts);
    return { result: stored, cached: true };
  }
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
    finishRunInProgress(key);
    model.dispose();
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
    validationSize: config.validationSize,
  });
  const validationSize = config.validationSize ?? 0;
  const heldOut = loaded.validation?.count ?? 0;
  if (
    loaded.train.count !== config.trainSize || loaded.test.count !== config.testSize ||
    heldOut !== validationSize
  ) {
    const validation = validationSize === 0 && heldOut === 0
      ? ["", ""]
      : [` and ${heldOut} validation`, ` and ${validationSize}`];
    throw new Error(
      `The data given has ${loaded.train.count} training and ${loaded.test.count} test` +
        `${validation[0]} images, the config asks for ${config.trainSize} and ` +
        `${config.testSize}${validation[1]}; load it with the same sizes`,
    );
  }
  return loaded;
}

/**
 * The stored result under `key`, its weights checked against their SHA-256, unless `retrain`
 * asks to train again: then everything stored for the key is cleared (result, weights,
 * checkpoint, and the measurements made from those weights), so training starts from epoch 1.
 */
export async function storedUnlessRetrain(
  dir: string,
  key: string,
  retrain = false,
): Promise<RunResult | undefined> {
  if (retrain) {
    await deleteStoredRun(dir, key);
    return undefined;
  }
  const stored = await loadResult(dir, key);
  if (stored) await checkResultWeights(dir, stored);
  return stored;
}

/** The stored result of `config` on the current (or default) backend, if there is one. */
export async function findStoredResult(
  config: TrainConfig,
  options: { resultsDir?: string } = {},
): Promise<ExperimentOutcome["result"] | undefined> {
  const backend = await initBackend(currentBackend());
  const key = await resultKey(config, backend);
  const dir = options.resultsDir ?? defaultResultsDir();
  const result = await loadResult(dir, key);
  if (result) await checkResultWeights(dir, result);
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
  // Keyed by what the model is (its layers, as built now), not only by its name: a changed
  // builder measures again.
  const measuredFrom = await modelSpecSha256(modelName);
  const stored = await loadMeasurement<MemoryMeasurement>(dir, name, {
    measuredFrom,
    check: (value) => checkMemoryMeasurement(value, "value"),
  });
  if (stored) return stored;
  const measured = await measureTrainingMemory(modelName, {
    batchSize: options.batchSize,
    backend,
  });
  await saveMeasurement(dir, name, measured, { measuredFrom });
  return measured;
}

/** SHA-256 of a registry model's spec: its layers' configs as built now, without weights. */
export async function modelSpecSha256(modelName: string): Promise<string> {
  const model = buildModel(modelName, { seed: 0 });
  try {
    // The layer configs minus their initializers' seeds: what the model is, not how it starts.
    const spec = model.layers.map((layer) => ({
      className: layer.getClassName(),
      config: withoutInitializers(layer.getConfig()),
    }));
    return await canonicalSha256(spec);
  } finally {
    model.dispose();
  }
}

function withoutInitializers(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).filter(([name]) => !name.endsWith("Initializer") && name !== "seed"),
  );
}

function checkMemoryMeasurement(value: unknown, field: string): MemoryMeasurement {
  const record = requireRecord(value, field);
  requireFinite(record.batchSize, `${field}.batchSize`);
  if (typeof record.fits !== "boolean") {
    throw new StoredFieldError(`${field}.fits`, "must be true or false");
  }
  if (record.fits) requireFinite(record.peakBytes, `${field}.peakBytes`);
  checkFiniteTree(record, field);
  return record as unknown as MemoryMeasurement;
}

function checkStoredCosts(
  result: RunResult,
  dir: string,
  checkCosts?: (costs: Record<string, unknown>) => void,
): void {
  try {
    checkCosts?.(result.costs);
  } catch (error) {
    if (!(error instanceof StoredFieldError)) throw error;
    throw new Error(
      `The result file ${dir}/${result.key}.json is invalid: ${error.message}; ${RESULT_FIX}`,
    );
  }
}
