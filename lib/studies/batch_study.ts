/**
 * How the batch size changes the cost and the result of training: seconds per epoch and final
 * accuracy from batch 16 (the article's) to 8192, with the learning rate scaled to the batch.
 * Every run goes through `runExperiment`, so each batch size's result is stored.
 */
import { makeConfig, type TrainConfig } from "../training/config.ts";
import { studySettings } from "../training/presets.ts";
import { defaultPreset } from "../common/settings.ts";
import { currentBackend } from "../backend/backend.ts";
import { findStoredResult, runExperiment } from "./experiment.ts";
import { initBackend } from "../backend/backend.ts";
import { loadMnist, type Mnist } from "../data/mnist.ts";
import { formatTable } from "../common/markdown.ts";
import {
  defaultResultsDir,
  loadMeasurement,
  resultKey,
  saveMeasurement,
} from "../training/results.ts";

/** The study's batch sizes on the full data: 16 (the article's) to 8192, each 8x the last. */
export const BATCH_STUDY_SIZES: readonly number[] = studySettings("article").batchStudy.batchSizes;

/**
 * The PyTorch example and its GAP version: both learn within one quick epoch, so the study
 * shows what the batch changes. (Small Net barely moves in one epoch at the article's rate,
 * 14% at batch 16, so its accuracy says nothing about the batch on the quick preset.)
 */
export const BATCH_STUDY_MODELS: readonly string[] = ["pytorch", "pytorch-gap"];

/**
 * The batch sizes of the study on `preset`: its `studies.batchStudy.batchSizes`, each of which
 * fits the study's training set (16 to 8192 on article and quick, fewer on smoke's 512 images).
 */
export function batchSizesFor(preset: string): number[] {
  return studySettings(preset).batchStudy.batchSizes;
}

/** How the learning rate follows the batch size. */
export type LearningRateRule = "linear" | "sqrt" | "constant";

/** Options of `scaledLearningRate`. */
export interface LearningRateScaling {
  /**
   * "linear" (default): rate x batch / base batch (Goyal et al. 2017, "Accurate, Large
   * Minibatch SGD"): k small steps of rate r on k batches move the weights about as far as one
   * step of rate k r on their union, so each image keeps its influence. "sqrt": rate x
   * sqrt(batch / base batch) (Krizhevsky 2014; Hoffer et al. 2017), which keeps the noise of
   * the gradient steps the same instead. "constant": the base rate at every batch size.
   */
  rule?: LearningRateRule;
  /** The rate at the base batch. Default the article's 5e-3. */
  baseLearningRate?: number;
  /** Default the article's 16. */
  baseBatchSize?: number;
  /**
   * The largest rate used. The linear rule holds only while steps stay small: with Nesterov
   * momentum 0.9, 0.1 was the largest rate that trained Small Net steadily here (0.2 made
   * accuracy jump back and forth, 0.4 diverged). Default 0.1, reached at batch 320;
   * Infinity for no cap.
   */
  maxLearningRate?: number;
}

/** The learning rate for `batchSize` under a scaling rule, capped at `maxLearningRate`. */
export function scaledLearningRate(batchSize: number, options: LearningRateScaling = {}): number {
  const rule = options.rule ?? "linear";
  const base = options.baseLearningRate ?? 5e-3;
  const baseBatch = options.baseBatchSize ?? 16;
  const max = options.maxLearningRate ?? 0.1;
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!(Number.isFinite(base) && base > 0)) {
    throw new Error(`baseLearningRate must be a positive number, got ${base}`);
  }
  if (!(max > 0)) {
    throw new Error(`maxLearningRate must be a positive number (Infinity: no cap), got ${max}`);
  }
  if (!Number.isInteger(baseBatch) || baseBatch <= 0) {
    throw new Error(`baseBatchSize must be a positive integer, got ${baseBatch}`);
  }
  const ratio = batchSize / baseBatch;
  const scaled = rule === "linear"
    ? base * ratio
    : rule === "sqrt"
    ? base * Math.sqrt(ratio)
    : rule === "constant"
    ? base
    : NaN;
  if (Number.isNaN(scaled)) {
    throw new Error(`Unknown learning rate rule "${rule}"; use "linear", "sqrt" or "constant"`);
  }
  return Math.min(scaled, max);
}

/** One model trained at one batch size. */
export interface BatchRun {
  model: string;
  batchSize: number;
  learningRate: number;
  /** Median training time of one epoch of this run, and the same scaled to 60,000 images. */
  trainSecondsPerEpoch: number;
  trainSecondsPerFullEpoch: number;
  /** Test accuracy after the last epoch, 0-1; NaN when training diverged. */
  accuracy: number;
  /** The loss became NaN or infinite: the learning rate was too large for this batch. */
  diverged: boolean;
  cached: boolean;
}

/** Options of `runBatchStudy`. */
export interface BatchStudyOptions {
  /** Default `defaultPreset()`, with its `studies.batchStudy.overrides`. */
  preset?: string;
  /** Overrides on top of the preset's, the same for every run; not `model` or `batchSize`. */
  overrides?: Partial<Omit<TrainConfig, "model" | "batchSize">>;
  /** How the learning rate follows the batch; its base is the config's learning rate. */
  scaling?: Omit<LearningRateScaling, "baseLearningRate">;
  resultsDir?: string;
  retrain?: boolean;
  onRunStart?: (
    run: { model: string; batchSize: number; learningRate: number; index: number; total: number },
  ) => void | Promise<void>;
  onRunDone?: (run: BatchRun) => void | Promise<void>;
}

/** The config of one run of the study: the preset, the batch size, the scaled learning rate. */
export function batchStudyConfig(
  model: string,
  batchSize: number,
  options: Pick<BatchStudyOptions, "preset" | "overrides" | "scaling"> = {},
): TrainConfig {
  const preset = options.preset ?? defaultPreset();
  const study = studySettings(preset).batchStudy.overrides;
  const base = makeConfig(model, { preset, overrides: { ...study, ...options.overrides } });
  const learningRate = scaledLearningRate(batchSize, {
    ...options.scaling,
    baseLearningRate: base.learningRate,
  });
  const factor = learningRate / base.learningRate;
  return makeConfig(model, {
    preset,
    overrides: {
      ...study,
      ...options.overrides,
      batchSize,
      learningRate,
      // The schedule's drops keep their ratio to the starting rate.
      learningRateDrops: base.learningRateDrops.map((drop) => ({
        ...drop,
        learningRate: drop.learningRate * factor,
      })),
    },
  });
}

/**
 * Trains each of `models` at each of `batchSizes` (learning rate scaled) and returns seconds
 * per epoch and final accuracy per run. Stored runs are read back; a run that diverges is
 * recorded as diverged (and remembered, so it is not tried again unless `retrain`).
 */
export async function runBatchStudy(
  models: readonly string[],
  batchSizes: readonly number[],
  options: BatchStudyOptions = {},
): Promise<BatchRun[]> {
  if (models.length === 0) throw new Error("runBatchStudy() needs at least one model");
  if (batchSizes.length === 0) {
    throw new Error(`runBatchStudy() needs at least one batch size, e.g. ${BATCH_STUDY_SIZES}`);
  }
  // Every config is built (and so checked) before the first run starts.
  const configs = models.flatMap((model) =>
    batchSizes.map((batchSize) => batchStudyConfig(model, batchSize, options))
  );
  const backend = await initBackend(currentBackend());
  let data: Mnist | undefined;
  const runs: BatchRun[] = [];
  for (const [i, config] of configs.entries()) {
    const { model, batchSize, learningRate } = config;
    await options.onRunStart?.({
      model,
      batchSize,
      learningRate,
      index: i + 1,
      total: configs.length,
    });
    const divergedName = `diverged_${await resultKey(config, backend)}`;
    const stored = options.retrain
      ? undefined
      : await findStoredResult(config, { resultsDir: options.resultsDir });
    let run: BatchRun;
    if (stored) {
      run = batchRun(config, stored, true);
    } else if (
      !options.retrain &&
      await loadMeasurement<DivergedRun>(resultsDirOf(options), divergedName)
    ) {
      run = divergedRun(config, true);
    } else {
      try {
        const { result } = await runExperiment(config, {
          resultsDir: options.resultsDir,
          retrain: options.retrain,
          data: data ??= await loadMnist({
            trainSize: config.trainSize,
            testSize: config.testSize,
            seed: config.seed,
          }),
        });
        run = batchRun(config, result, false);
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith("Training diverged"))) throw error;
        await saveMeasurement(resultsDirOf(options), divergedName, { message: error.message });
        run = divergedRun(config, false);
      }
    }
    runs.push(run);
    await options.onRunDone?.(run);
  }
  return runs;
}

/** A Markdown table of a batch study: learning rate, seconds per epoch and accuracy per run. */
export function formatBatchStudy(runs: BatchRun[]): string {
  return formatTable(
    [
      "model",
      "batch size",
      "learning rate",
      "steps per epoch of 60,000",
      "seconds per epoch of 60,000",
      "test accuracy",
    ],
    runs.map((run) => [
      run.model,
      run.batchSize,
      Number(run.learningRate.toPrecision(3)),
      Math.ceil(60_000 / run.batchSize).toLocaleString("en-US"),
      ...(run.diverged
        ? ["–", "diverged"]
        : [run.trainSecondsPerFullEpoch.toFixed(1), `${(run.accuracy * 100).toFixed(2)}%`]),
    ]),
    { align: ["l", "r", "r", "r", "r", "r"] },
  );
}

interface DivergedRun {
  message: string;
}

function batchRun(
  config: TrainConfig,
  result: { history: { testAccuracy: number }[]; costs: Record<string, unknown> },
  cached: boolean,
): BatchRun {
  return {
    model: config.model,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    trainSecondsPerEpoch: result.costs.trainSecondsPerEpoch as number,
    trainSecondsPerFullEpoch: result.costs.trainSecondsPerFullEpoch as number,
    accuracy: result.history[result.history.length - 1].testAccuracy,
    diverged: false,
    cached,
  };
}

function divergedRun(config: TrainConfig, cached: boolean): BatchRun {
  return {
    model: config.model,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    trainSecondsPerEpoch: NaN,
    trainSecondsPerFullEpoch: NaN,
    accuracy: NaN,
    diverged: true,
    cached,
  };
}

function resultsDirOf(options: { resultsDir?: string }): string {
  return options.resultsDir ?? defaultResultsDir();
}
