/**
 * Is a 0.3% difference real? The same model trained with different seeds (initial weights,
 * shuffles, dropout masks) on the same images ends at different accuracies; the spread across
 * seeds says how large a difference must be before it means anything. The images stay fixed
 * (one data seed, all 10,000 test images), so the spread is the seed's alone, and the test
 * set's own sampling error is reported beside it. Every run goes through `runExperiment`, so
 * each seed's result is stored, and an interrupted run resumes.
 */
import { dataSeedOf, makeConfig, MNIST_TEST_SIZE, type TrainConfig } from "../training/config.ts";
import { type ExperimentOptions, findStoredResult, runExperiment } from "./experiment.ts";
import { loadMnist, type Mnist } from "../data/mnist.ts";
import { defaultPreset } from "../common/settings.ts";
import { accuracyStandardError } from "./chooser.ts";
import { tCritical95 } from "./t_table.ts";
import { formatTable } from "../common/markdown.ts";

/** The cheaper models of the article, the ones a seed study can afford. */
export const SEED_STUDY_MODELS: readonly string[] = ["pytorch", "pytorch-gap", "small-net"];

/**
 * The converged study the 0.3-point question needs: the article's two models on either side
 * of it, three seeds each, the article's full schedule (hours per run on a CPU; resumable with
 * `deno task seeds -- --preset article`). Seed 0 is the reproduction's run.
 */
export const CONVERGED_SEED_STUDY = {
  models: ["keras-cnn", "pytorch"],
  seeds: [0, 1, 2],
  preset: "article",
} as const;

/** The data seed a seed study fixes: every seed trains and is tested on the same images. */
export const SEED_STUDY_DATA_SEED = 0;

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
  /** Test images the accuracy was measured on (for the test set's own standard error). */
  testImages?: number;
}

/** A model's accuracy across seeds. */
export interface SeedSpread extends SpreadStats {
  model: string;
  accuracies: number[];
  /** Test images of every run, when all runs used the same number. */
  testImages?: number;
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
  /**
   * Keep the data fixed (default true): every seed trains on the same images
   * (`dataSeed` `SEED_STUDY_DATA_SEED`) and is tested on all 10,000 test images unless
   * `overrides.testSize` says otherwise, so only the model's seed varies. false: each seed
   * also draws its own subsets (the study before it separated the two).
   */
  fixedData?: boolean;
  resultsDir?: string;
  retrain?: boolean;
  /**
   * Read stored runs only and train nothing (runs not stored are left out): how a notebook
   * shows a study too long to run in it, e.g. `CONVERGED_SEED_STUDY`.
   */
  storedOnly?: boolean;
  /** Passed to each run's training: called after every epoch. */
  onEpoch?: ExperimentOptions["onEpoch"];
  /** Called before each run (1-based `index` of `total`). */
  onRunStart?: (run: { model: string; seed: number; index: number; total: number }) =>
    | void
    | Promise<void>;
  onRunDone?: (run: SeedRun) => void | Promise<void>;
}

/**
 * Trains each of `models` once per seed in `seeds` on one preset and returns each run's
 * final test accuracy and the spread per model. Runs already stored are read back; an
 * interrupted run resumes from its last epoch.
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
  const configs = seedStudyConfigs(models, seeds, options);
  const runs: SeedRun[] = [];
  const total = models.length * seeds.length;
  // With fixed data, one load serves every run; otherwise one per seed.
  const loads = new Map<number, Promise<Mnist>>();
  for (const [i, seed] of seeds.entries()) {
    for (const config of configs[i]) {
      // A stored run needs no data; the rest share the loads.
      const stored = options.retrain
        ? undefined
        : await findStoredResult(config, { resultsDir: options.resultsDir });
      if (!stored && options.storedOnly) continue;
      await options.onRunStart?.({ model: config.model, seed, index: runs.length + 1, total });
      const { result, cached } = stored ? { result: stored, cached: true } : await runExperiment(
        config,
        {
          resultsDir: options.resultsDir,
          retrain: options.retrain,
          onEpoch: options.onEpoch,
          data: await loadOnce(loads, config),
        },
      );
      const run: SeedRun = {
        model: config.model,
        seed,
        accuracy: result.history[result.history.length - 1].testAccuracy,
        cached,
        testImages: config.testSize,
      };
      runs.push(run);
      await options.onRunDone?.(run);
    }
  }
  return { runs, spreads: seedSpreads(runs, models) };
}

/**
 * The configs of a seed study, per seed then per model, each built and checked: the preset,
 * the overrides, the seed, and (unless `fixedData` is false) the fixed data seed and all
 * 10,000 test images.
 */
export function seedStudyConfigs(
  models: readonly string[],
  seeds: readonly number[],
  options: Pick<SeedStudyOptions, "preset" | "overrides" | "fixedData"> = {},
): TrainConfig[][] {
  const preset = options.preset ?? defaultPreset();
  const fixed = options.fixedData ?? true;
  const data = fixed ? { testSize: MNIST_TEST_SIZE, dataSeed: SEED_STUDY_DATA_SEED } : {};
  return seeds.map((seed) =>
    models.map((model) =>
      makeConfig(model, { preset, overrides: { ...data, ...options.overrides, seed } })
    )
  );
}

// The data of `config`, loaded once per data seed and size.
function loadOnce(loads: Map<number, Promise<Mnist>>, config: TrainConfig): Promise<Mnist> {
  const seed = dataSeedOf(config);
  let load = loads.get(seed);
  if (!load) {
    load = loadMnist({ trainSize: config.trainSize, testSize: config.testSize, seed });
    loads.set(seed, load);
  }
  return load;
}

/**
 * Groups runs by model (in `models`' order, else first appearance) with their spread; a model
 * without runs yet (e.g. while a study is running) is left out.
 */
export function seedSpreads(runs: SeedRun[], models?: readonly string[]): SeedSpread[] {
  const order = (models ?? runs.map((run) => run.model))
    .filter((model, i, all) => all.indexOf(model) === i && runs.some((run) => run.model === model));
  return order.map((model) => {
    const mine = runs.filter((run) => run.model === model);
    const accuracies = mine.map((run) => run.accuracy);
    const sizes = new Set(mine.map((run) => run.testImages));
    const testImages = sizes.size === 1 ? [...sizes][0] : undefined;
    return {
      model,
      accuracies,
      ...spreadStats(accuracies),
      ...(testImages === undefined ? {} : { testImages }),
    };
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

/** A 95% confidence interval for a mean from few runs: Student's t with count - 1 degrees. */
export interface MeanInterval {
  mean: number;
  /** t x standard error; NaN for a single run (no spread to go on). */
  halfWidth: number;
  low: number;
  high: number;
  degreesOfFreedom: number;
  /** The two-sided 95% t value used (4.30 for 3 runs, against 1.96 for many). */
  tCritical: number;
}

/** The 95% t interval of the mean of `stats` (n - 1 degrees of freedom). */
export function meanInterval(stats: SpreadStats): MeanInterval {
  const degreesOfFreedom = stats.count - 1;
  const tCritical = degreesOfFreedom >= 1 ? tCritical95(degreesOfFreedom) : NaN;
  const halfWidth = tCritical * stats.standardError;
  return {
    mean: stats.mean,
    halfWidth,
    low: stats.mean - halfWidth,
    high: stats.mean + halfWidth,
    degreesOfFreedom,
    tCritical,
  };
}

/** Two models' mean accuracies compared with a 95% t interval of their difference. */
export interface IntervalComparison {
  /** Mean of `a` minus mean of `b`, 0-1. */
  difference: number;
  /** sqrt(a.standardError² + b.standardError²). */
  standardError: number;
  /** Welch-Satterthwaite degrees of freedom, rounded down (the cautious side). */
  degreesOfFreedom: number;
  tCritical: number;
  low: number;
  high: number;
  /** The interval leaves out 0: the seeds alone are unlikely to explain the difference. */
  clear: boolean;
}

/**
 * Compares two models' mean accuracies over seeds with Welch's t interval (95%), the right
 * tool for 3 seeds each, where "twice the standard error" is far too generous.
 */
export function compareWithInterval(a: SpreadStats, b: SpreadStats): IntervalComparison {
  if (a.count < 2 || b.count < 2) {
    throw new Error(
      `compareWithInterval() needs at least 2 runs per model to see their spread, got ` +
        `${a.count} and ${b.count}; train more seeds`,
    );
  }
  const difference = a.mean - b.mean;
  const va = a.standardError ** 2;
  const vb = b.standardError ** 2;
  const standardError = Math.sqrt(va + vb);
  const welch = (va + vb) ** 2 / (va ** 2 / (a.count - 1) + vb ** 2 / (b.count - 1));
  // Both spreads 0: the degrees of freedom are undefined; take the smaller count's.
  const degreesOfFreedom = Number.isFinite(welch)
    ? Math.max(1, Math.floor(welch))
    : Math.min(a.count, b.count) - 1;
  const tCritical = tCritical95(degreesOfFreedom);
  const low = difference - tCritical * standardError;
  const high = difference + tCritical * standardError;
  return {
    difference,
    standardError,
    degreesOfFreedom,
    tCritical,
    low,
    high,
    clear: low > 0 || high < 0,
  };
}

/**
 * A Markdown table of each model's mean with its 95% t interval, the spread across seeds, and
 * the test set's own binomial standard error at that accuracy: the noise one evaluation on
 * that many images carries even with no seed changed.
 */
export function formatSeedIntervals(spreads: SeedSpread[]): string {
  const percent = (value: number) => `${(value * 100).toFixed(2)}%`;
  const points = (value: number) => `${(value * 100).toFixed(2)} points`;
  const lines = [
    "| model | seeds | mean | 95% t interval of the mean | standard deviation | test images | test set's own standard error |",
    "|---|--:|--:|--:|--:|--:|--:|",
  ];
  for (const s of spreads) {
    const interval = meanInterval(s);
    const tInterval = s.count < 2
      ? "– (one seed)"
      : `${percent(interval.low)} to ${percent(interval.high)} (± ${
        points(interval.halfWidth)
      }, t = ${interval.tCritical.toFixed(2)})`;
    const own = s.testImages === undefined
      ? "–"
      : points(accuracyStandardError(s.mean, s.testImages));
    lines.push(
      `| ${s.model} | ${s.count} | ${percent(s.mean)} | ${tInterval} | ${points(s.std)} | ` +
        `${s.testImages?.toLocaleString("en-US") ?? "–"} | ${own} |`,
    );
  }
  return lines.join("\n");
}
