/**
 * Too small or too big? A model too small for its data underfits: its training loss stays high
 * and the held-out loss sits right beside it. One too big for its data overfits: its training
 * loss falls far below the held-out loss. `diagnoseFit` reads that from a run's last epoch, and
 * `runTrainingSizeStudy` trains models of two sizes on more and more images, since the rule of
 * thumb ties a model's size to the number of observations.
 */
import type { EpochMetrics } from "../training/train.ts";
import { makeConfig, type TrainConfig } from "../training/config.ts";
import { studySettings } from "../training/presets.ts";
import { defaultPreset } from "../common/settings.ts";
import { VALIDATION_SIZE } from "../data/mnist.ts";
import { runExperiment } from "./experiment.ts";

/** What a run's final losses say about its size. */
export type FitVerdict = "overfits" | "underfits" | "fine";

/** Thresholds of `diagnoseFit`, each with its default. */
export interface FitThresholds {
  /** Held-out loss at least this many times the training loss: overfitting. Default 2. */
  overfitRatio?: number;
  /** ... and at least this much above it, so tiny losses do not count. Default 0.02. */
  overfitGap?: number;
  /** Training loss above this (cross-entropy; 0.15 is about 95% accuracy): too high. */
  underfitLoss?: number;
  /** ... with the held-out loss at most this many times it: no gap to speak of. Default 1.25. */
  underfitRatio?: number;
}

/** The diagnosis of one run. */
export interface FitDiagnosis {
  verdict: FitVerdict;
  trainLoss: number;
  heldOutLoss: number;
  /** The validation split where the run held one out, else the test set (stored older runs). */
  heldOutOn: "validation" | "test";
  /** Held-out loss over training loss. */
  ratio: number;
  /** One sentence: why this verdict. */
  reason: string;
}

/**
 * Reads a run's last epoch: held-out loss far above the training loss means too big for the
 * data (overfits), both high and close means too small (underfits), else fine. The training
 * loss is the epoch's mean with dropout on, which makes a dropout model look less overfit.
 */
export function diagnoseFit(history: EpochMetrics[], thresholds: FitThresholds = {}): FitDiagnosis {
  const last = history.at(-1);
  if (!last) throw new Error("diagnoseFit() needs a run with at least one epoch");
  const overfitRatio = thresholds.overfitRatio ?? 2;
  const overfitGap = thresholds.overfitGap ?? 0.02;
  const underfitLoss = thresholds.underfitLoss ?? 0.15;
  const underfitRatio = thresholds.underfitRatio ?? 1.25;
  const heldOutOn = last.validationLoss === undefined ? "test" : "validation";
  const heldOutLoss = last.validationLoss ?? last.testLoss;
  const trainLoss = last.trainLoss;
  const ratio = heldOutLoss / trainLoss;
  const f = (value: number) => value.toFixed(3);
  const losses = `training loss ${f(trainLoss)}, ${heldOutOn} loss ${f(heldOutLoss)}`;
  if (ratio >= overfitRatio && heldOutLoss - trainLoss >= overfitGap) {
    return {
      verdict: "overfits",
      trainLoss,
      heldOutLoss,
      heldOutOn,
      ratio,
      reason: `${losses}: ${ratio.toFixed(1)}x apart, it fits its training images far better ` +
        `than new ones (more data, fewer parameters or more regularisation)`,
    };
  }
  if (trainLoss > underfitLoss && ratio <= underfitRatio) {
    return {
      verdict: "underfits",
      trainLoss,
      heldOutLoss,
      heldOutOn,
      ratio,
      reason: `${losses}: both high and close, it cannot fit even its training images ` +
        `(more capacity or more training)`,
    };
  }
  return {
    verdict: "fine",
    trainLoss,
    heldOutLoss,
    heldOutOn,
    ratio,
    reason: `${losses}: low, without a large gap`,
  };
}

/** One model trained on one number of images, with its diagnosis. */
export interface TrainingSizeRun {
  model: string;
  trainSize: number;
  validationAccuracy: number;
  diagnosis: FitDiagnosis;
  cached: boolean;
}

/** Options of `runTrainingSizeStudy`. */
export interface TrainingSizeStudyOptions {
  /** Default `defaultPreset()`, with its `studies.trainingSizes.overrides`. */
  preset?: string;
  /** Overrides on top of the preset's, the same for every run; not `model` or `trainSize`. */
  overrides?: Partial<Omit<TrainConfig, "model" | "trainSize">>;
  resultsDir?: string;
  retrain?: boolean;
  onRunDone?: (run: TrainingSizeRun) => void | Promise<void>;
}

/** The study's config for one model and training-set size, validation split held out. */
export function trainingSizeConfig(
  model: string,
  trainSize: number,
  options: Pick<TrainingSizeStudyOptions, "preset" | "overrides"> = {},
): TrainConfig {
  const preset = options.preset ?? defaultPreset();
  const study = studySettings(preset).trainingSizes.overrides;
  return makeConfig(model, {
    preset,
    overrides: { validationSize: VALIDATION_SIZE, ...study, ...options.overrides, trainSize },
  });
}

/**
 * Trains each of `models` on each of `trainSizes` images (the validation split held out, the
 * same images for all) and diagnoses each run on the validation split. Stored runs are read back.
 */
export async function runTrainingSizeStudy(
  models: readonly string[],
  trainSizes: readonly number[],
  options: TrainingSizeStudyOptions = {},
): Promise<TrainingSizeRun[]> {
  if (models.length === 0) throw new Error("runTrainingSizeStudy() needs at least one model");
  if (trainSizes.length === 0) {
    throw new Error("runTrainingSizeStudy() needs at least one training-set size, e.g. 6000");
  }
  // Every config is built (and so checked) before the first run starts.
  const configs = models.flatMap((model) =>
    trainSizes.map((size) => trainingSizeConfig(model, size, options))
  );
  const runs: TrainingSizeRun[] = [];
  for (const config of configs) {
    const { result, cached } = await runExperiment(config, {
      resultsDir: options.resultsDir,
      retrain: options.retrain,
      memoryBatchSizes: [],
    });
    const last = result.history.at(-1)!;
    const run: TrainingSizeRun = {
      model: config.model,
      trainSize: config.trainSize,
      validationAccuracy: last.validationAccuracy ?? NaN,
      diagnosis: diagnoseFit(result.history),
      cached,
    };
    runs.push(run);
    await options.onRunDone?.(run);
  }
  return runs;
}

/** A Markdown table of a training-set-size study: losses, accuracy and verdict per run. */
export function formatTrainingSizeStudy(runs: TrainingSizeRun[]): string {
  const lines = [
    "| model | training images | training loss | validation loss | validation accuracy | verdict |",
    "|---|--:|--:|--:|--:|---|",
  ];
  for (const run of runs) {
    lines.push(
      `| ${run.model} | ${run.trainSize.toLocaleString("en-US")} | ` +
        `${run.diagnosis.trainLoss.toFixed(3)} | ${run.diagnosis.heldOutLoss.toFixed(3)} | ` +
        `${(run.validationAccuracy * 100).toFixed(2)}% | ${run.diagnosis.verdict} |`,
    );
  }
  return lines.join("\n");
}

/** A Markdown table of each run's diagnosis: final losses, which split, and the verdict. */
export function formatFitDiagnoses(runs: { model: string; history: EpochMetrics[] }[]): string {
  const lines = [
    "| model | epochs | training loss | held-out loss | held out on | held-out / training | verdict |",
    "|---|--:|--:|--:|---|--:|---|",
  ];
  for (const { model, history } of runs) {
    const d = diagnoseFit(history);
    lines.push(
      `| ${model} | ${history.length} | ${d.trainLoss.toFixed(3)} | ${
        d.heldOutLoss.toFixed(3)
      } | ` +
        `${d.heldOutOn} | ${d.ratio.toFixed(2)}x | ${d.verdict} |`,
    );
  }
  return lines.join("\n");
}
