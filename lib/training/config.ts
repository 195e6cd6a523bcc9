/**
 * One typed configuration per training run: the article's schedule, with the presets of
 * lib/training/presets.ts spread over it as overrides.
 */
import { checkModelName } from "../models/registry.ts";
import { PRESET_SETTINGS, presetSettings } from "./presets.ts";

/** A drop of the learning rate: from `fromEpoch` (1-based) on, use `learningRate`. */
export interface LearningRateDrop {
  fromEpoch: number;
  learningRate: number;
}

/** Everything that determines a training run's numbers (with the backend). */
export interface TrainConfig {
  /** One of `MODEL_NAMES`. */
  model: string;
  /** Passes over the training set. The article: 20. */
  numEpochs: number;
  /** Images per gradient step. The article: 16. */
  batchSize: number;
  /** Starting learning rate of SGD. The article: 5e-3. */
  learningRate: number;
  /** The article: 5e-4 after epoch 10, 5e-5 after epoch 15. */
  learningRateDrops: LearningRateDrop[];
  /** SGD momentum; the article uses Nesterov momentum 0.9. */
  momentum: number;
  nesterov: boolean;
  /** Training images used, a seeded random subset of MNIST's 60,000. */
  trainSize: number;
  /** Test images used, a seeded random subset of MNIST's 10,000. */
  testSize: number;
  /** The one seed: weights, shuffles, dropout masks and subsets derive from it. */
  seed: number;
  /** Images per forward pass when evaluating; does not change the numbers, only speed. */
  evalBatchSize: number;
  /**
   * Cores that share each batch's gradient: 2 splits every batch between the main thread and
   * a worker (lib/data_parallel.ts). Left out for one, so results stored before it existed
   * keep their keys; 2 changes the dropout masks and float rounding, hence the key.
   */
  workers?: number;
  /**
   * Training images held out as a validation split (lib/data/mnist.ts: the same images for
   * every seed), on which studies choose; `trainSize` then counts from the rest. Left out for
   * none, so results stored before it existed keep their keys.
   */
  validationSize?: number;
  /**
   * Seed of the data subsets alone (which training and test images a run uses), so a seed
   * study can keep the images fixed while `seed` changes weights, shuffles and dropout. Left
   * out when it equals `seed` (the data then follow `seed`, as every stored result's did), so
   * results stored before it existed keep their keys.
   */
  dataSeed?: number;
}

/** MNIST's sizes, the upper bounds of `trainSize` and `testSize`. */
export { MNIST_TEST_SIZE, MNIST_TRAIN_SIZE } from "../data/mnist.ts";
import { MNIST_TEST_SIZE, MNIST_TRAIN_SIZE } from "../data/mnist.ts";

/** The article's schedule, for any model: the full data, batch 16, 20 epochs. */
export const ARTICLE_CONFIG: Readonly<Omit<TrainConfig, "model">> = {
  numEpochs: 20,
  batchSize: 16,
  learningRate: 5e-3,
  learningRateDrops: [
    { fromEpoch: 11, learningRate: 5e-4 },
    { fromEpoch: 16, learningRate: 5e-5 },
  ],
  momentum: 0.9,
  nesterov: true,
  trainSize: MNIST_TRAIN_SIZE,
  testSize: MNIST_TEST_SIZE,
  seed: 0,
  evalBatchSize: 1000,
};

/** The training part of each preset (see `PRESET_SETTINGS`): overrides of `ARTICLE_CONFIG`. */
export const PRESETS: Readonly<Record<string, Partial<TrainConfig>>> = Object.fromEntries(
  Object.entries(PRESET_SETTINGS).map(([name, settings]) => [name, settings.training]),
);

export { PRESET_NAMES } from "./presets.ts";

/**
 * Builds a checked config for `model`: the article's schedule (`ARTICLE_CONFIG`), shrunk by
 * `preset` when one is named (tasks and notebooks name `defaultPreset()` or the user's),
 * then `overrides`. An unknown preset is an error listing the known ones.
 */
export function makeConfig(
  model: string,
  options: { preset?: string; overrides?: Partial<TrainConfig> } = {},
): TrainConfig {
  const preset = options.preset === undefined ? {} : presetSettings(options.preset).training;
  const config: TrainConfig = {
    ...ARTICLE_CONFIG,
    ...preset,
    ...withoutUndefined(options.overrides ?? {}),
    model,
  };
  // A fresh copy of the drops, so editing one config never changes the presets or another.
  config.learningRateDrops = config.learningRateDrops.map((drop) => ({ ...drop }));
  if (config.workers === 1) delete config.workers;
  if (config.validationSize === 0) delete config.validationSize;
  if (config.dataSeed === config.seed) delete config.dataSeed;
  return checkConfig(config);
}

/** Throws a clear error for a setting that makes no sense, before any work starts. */
export function checkConfig(config: TrainConfig): TrainConfig {
  checkModelName(config.model);
  requirePositiveInteger("numEpochs", config.numEpochs);
  requirePositiveInteger("batchSize", config.batchSize);
  requirePositiveInteger("evalBatchSize", config.evalBatchSize);
  if (config.validationSize !== undefined) {
    requirePositiveInteger("validationSize", config.validationSize, MNIST_TRAIN_SIZE - 1);
    if (config.trainSize > MNIST_TRAIN_SIZE - config.validationSize) {
      throw new Error(
        `trainSize ${config.trainSize} and validationSize ${config.validationSize} add up to ` +
          `more than the ${MNIST_TRAIN_SIZE} training images MNIST has; use at most ` +
          `${MNIST_TRAIN_SIZE - config.validationSize} for training`,
      );
    }
  }
  requirePositiveInteger("trainSize", config.trainSize, MNIST_TRAIN_SIZE);
  requirePositiveInteger("testSize", config.testSize, MNIST_TEST_SIZE);
  if (config.batchSize > config.trainSize) {
    throw new Error(
      `batchSize ${config.batchSize} is larger than trainSize ${config.trainSize}; ` +
        `use a smaller batch or more training images`,
    );
  }
  requirePositiveNumber("learningRate", config.learningRate);
  if (!(config.momentum >= 0 && config.momentum < 1)) {
    throw new Error(`momentum must be in [0, 1), got ${config.momentum}`);
  }
  if (!Number.isInteger(config.seed) || config.seed < 0) {
    throw new Error(`seed must be a non-negative integer, got ${config.seed}`);
  }
  if (
    config.dataSeed !== undefined && !(Number.isInteger(config.dataSeed) && config.dataSeed >= 0)
  ) {
    throw new Error(
      `dataSeed must be a non-negative integer (or left out: the data follow seed), got ${config.dataSeed}`,
    );
  }
  if (config.workers !== undefined && config.workers !== 2) {
    throw new Error(
      `workers must be 1 or 2 (this machine's wasm backend uses one core per worker), ` +
        `got ${config.workers}`,
    );
  }
  let previous = 1;
  for (const drop of config.learningRateDrops) {
    requirePositiveInteger("learningRateDrops[].fromEpoch", drop.fromEpoch);
    requirePositiveNumber("learningRateDrops[].learningRate", drop.learningRate);
    if (drop.fromEpoch <= previous) {
      throw new Error(
        `learningRateDrops must start after epoch 1 and be in increasing epoch order, ` +
          `got fromEpoch ${drop.fromEpoch} after ${previous}`,
      );
    }
    previous = drop.fromEpoch;
  }
  return config;
}

/** The seed that picks `config`'s data subsets: `dataSeed` when set, else `seed`. */
export function dataSeedOf(config: TrainConfig): number {
  return config.dataSeed ?? config.seed;
}

/** The learning rate in force during `epoch` (1-based). */
export function learningRateAt(config: TrainConfig, epoch: number): number {
  let rate = config.learningRate;
  for (const drop of config.learningRateDrops) {
    if (epoch >= drop.fromEpoch) rate = drop.learningRate;
  }
  return rate;
}

function requirePositiveInteger(name: string, value: number, max = Infinity): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, got ${value}`);
  }
  if (value > max) {
    throw new Error(
      `${name} ${value} is larger than the ${max} that MNIST has; use at most ${max}`,
    );
  }
}

function requirePositiveNumber(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new Error(`${name} must be a positive number, got ${value}`);
  }
}

// Lets a CLI pass `{batchSize: undefined}` for "not given" without erasing the preset's value.
function withoutUndefined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
