/**
 * Is a 0.3% difference real? The same model trained with different seeds (initial weights,
 * shuffles, dropout masks, and on a subset preset also which images are used) ends at
 * different accuracies; the spread across seeds says how large a difference must be before
 * it means anything. Every run goes through `runExperiment`, so each seed's result is stored.
 */
import { makeConfig, type TrainConfig } from "../training/config.ts";
import { findStoredResult, runExperiment } from "./experiment.ts";
import { loadMnist, type Mnist } from "../data/mnist.ts";
import { defaultPreset } from "../common/settings.ts";
import { formatTable } from "../common/markdown.ts";

/** The cheaper models of the article, the ones a seed study can afford. */
export const SEED_STUDY_MODELS: readonly string[] = ["pytorch", "pytorch-gap", "small-net"];

/** Mean and spread of a list of numbers. */
export interface SpreadStats {
  count: number;
  mean: number;
  /** Sample standard deviation (divides by count - 1); 0 for a single value. */
  std: number;
  /** std / sqrt(count): how far the mean itself may be off. */
  standardError: number;
  min: number;
  max: number;
}

/** Mean, sample standard deviation, standard error, minimum and maximum of `values`. */
export function spreadStats(values: number[]): SpreadStats {
  if (values.length === 0) throw new Error("spreadStats() needs at least one value");
  if (values.some((value) => !Number.isFinite(value))) {
    throw new Error(`spreadStats() needs finite numbers, got ${JSON.stringify(values)}`);
  }
  const count = values.length;
  const mean = values.reduce((sum, value) => sum + value, 0) / count;
  const squares = values.reduce((sum, value) => sum + (value - mean) ** 2, 0);
  const std = count > 1 ? Math.sqrt(squares / (count - 1)) : 0;
  return {
    count,
    mean,
    std,
    standardError: std / Math.sqrt(count),
    min: Math.min(...values),
    max: Math.max(...values),
  };
}

/** One model trained with one seed. */
export interface SeedRun {
  model: string;
  seed: number;
  /** Test accuracy after the last epoch, 0-1. */
  accuracy: number;
  /** Read from the store rather than trained in this call. */
  cached: boolean;
}

/** A model's accuracy across seeds. */
export interface SeedSpread extends SpreadStats {
  model: string;
  accuracies: number[];
}

/** What a seed study found: every run, and the spread per model (in the order asked). */
export interface SeedStudy {
  runs: SeedRun[];
  spreads: SeedSpread[];
}

/** Options of `runSeedStudy`. */
export interface SeedStudyOptions {
  /** The preset every run uses (see `PRESET_SETTINGS`). Default `defaultPreset()`. */
  preset?: string;
  /** Overrides of the preset, the same for every run; not `model` or `seed`. */
  overrides?: Partial<Omit<TrainConfig, "model" | "seed">>;
  resultsDir?: string;
  retrain?: boolean;
  /** Called before each run (1-based `index` of `total`). */
  onRunStart?: (run: { model: string; seed: number; index: number; total: number }) =>
    | void
    | Promise<void>;
  onRunDone?: (run: SeedRun) => void | Promise<void>;
}

/**
 * Trains each of `models` once per seed in `seeds` on one preset and returns each run's
 * final test accuracy and the spread per model. Runs already stored are read back.
 */
export async function runSeedStudy(
  models: readonly string[],
  seeds: readonly number[],
  options: SeedStudyOptions = {},
): Promise<SeedStudy> {
  if (models.length === 0) throw new Error("runSeedStudy() needs at least one model");
  if (seeds.length === 0) throw new Error("runSeedStudy() needs at least one seed, e.g. [0, 1, 2]");
  if (new Set(seeds).size !== seeds.length) {
    throw new Error(`The seeds must differ, got ${seeds.join(", ")}`);
  }
  const preset = options.preset ?? defaultPreset();
  // Every config is built (and so checked) before the first run starts.
  const configs = seeds.map((seed) =>
    models.map((model) => makeConfig(model, { preset, overrides: { ...options.overrides, seed } }))
  );
  const runs: SeedRun[] = [];
  const total = models.length * seeds.length;
  for (const [i, seed] of seeds.entries()) {
    // The seed also picks the data subset: one load per seed, shared by the models.
    let data: Mnist | undefined;
    for (const config of configs[i]) {
      await options.onRunStart?.({ model: config.model, seed, index: runs.length + 1, total });
      // A stored run needs no data; the rest share one load per seed.
      const stored = options.retrain
        ? undefined
        : await findStoredResult(config, { resultsDir: options.resultsDir });
      const { result, cached } = stored ? { result: stored, cached: true } : await runExperiment(
        config,
        {
          resultsDir: options.resultsDir,
          retrain: options.retrain,
          data: data ??= await loadMnist({
            trainSize: config.trainSize,
            testSize: config.testSize,
            seed,
          }),
        },
      );
      const run: SeedRun = {
        model: config.model,
        seed,
        accuracy: result.history[result.history.length - 1].testAccuracy,
        cached,
      };
      runs.push(run);
      await options.onRunDone?.(run);
    }
  }
  return { runs, spreads: seedSpreads(runs, models) };
}

/**
 * Groups runs by model (in `models`' order, else first appearance) with their spread; a model
 * without runs yet (e.g. while a study is running) is left out.
 */
export function seedSpreads(runs: SeedRun[], models?: readonly string[]): SeedSpread[] {
  const order = (models ?? runs.map((run) => run.model))
    .filter((model, i, all) => all.indexOf(model) === i && runs.some((run) => run.model === model));
  return order.map((model) => {
    const accuracies = runs.filter((run) => run.model === model).map((run) => run.accuracy);
    return { model, accuracies, ...spreadStats(accuracies) };
  });
}

/** How two models' mean accuracies compare, given their spread across seeds. */
export interface SpreadComparison {
  /** Mean of `a` minus mean of `b`, 0-1. */
  difference: number;
  /** Standard error of that difference: sqrt(a.standardError² + b.standardError²). */
  standardError: number;
  /**
   * Whether the difference is more than twice its standard error: a rough line (with few
   * seeds it is optimistic) below which the seeds alone could explain the difference.
   */
  clear: boolean;
}

/** Compares the mean accuracies of two models trained with several seeds each. */
export function compareSpreads(a: SpreadStats, b: SpreadStats): SpreadComparison {
  const difference = a.mean - b.mean;
  const standardError = Math.sqrt(a.standardError ** 2 + b.standardError ** 2);
  return { difference, standardError, clear: Math.abs(difference) > 2 * standardError };
}

/** A Markdown table of the spread per model, in percent. */
export function formatSeedSpreads(spreads: SeedSpread[]): string {
  const percent = (value: number) => `${(value * 100).toFixed(2)}%`;
  return formatTable(
    ["model", "seeds", "mean", "standard deviation", "lowest", "highest", "highest − lowest"],
    spreads.map((s) => [
      s.model,
      s.count,
      percent(s.mean),
      `${(s.std * 100).toFixed(2)} points`,
      percent(s.min),
      percent(s.max),
      `${((s.max - s.min) * 100).toFixed(2)} points`,
    ]),
    { align: ["l", "r", "r", "r", "r", "r", "r"] },
  );
}
