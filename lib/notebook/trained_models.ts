/**
 * The trained models a notebook analyses: the article's full-schedule runs where they are
 * stored (committed in data/reproduction/), else the preset's short runs, said as such.
 */
import { loadMnist, MNIST_TEST_SIZE, type MnistSplit } from "../data/mnist.ts";
import { formatCount } from "../common/format.ts";
import { loadReproduction, REPRODUCTION_DIR } from "../studies/reproduction.ts";
import { makeConfig } from "../training/config.ts";
import { defaultResultsDir, type RunResult } from "../training/results.ts";
import { trainAll, type TrainAllOptions } from "./train_all.ts";

/** The results to analyse, the test images they were measured on, and where they live. */
export interface TrainedModels {
  results: RunResult[];
  /** The test split every result was evaluated on (its config's size and seed). */
  test: MnistSplit;
  /** The store that holds the results' weights. */
  resultsDir: string;
  /** True for the full schedule; false for the preset's short runs. */
  fullSchedule: boolean;
  /** What they are, for the reader: schedule, images, and the models left out. */
  label: string;
}

/**
 * The full-schedule runs of `models` that are stored, on all 10,000 test images; where none
 * is stored, each model trained (or read back) on `preset`, marked as a short run.
 */
export async function trainedModels(
  models: readonly string[],
  preset: string,
  options: Omit<TrainAllOptions, "data"> = {},
): Promise<TrainedModels> {
  const full = await loadReproduction();
  const found = models.filter((name) => full[name] !== undefined);
  if (found.length > 0) {
    const missing = models.filter((name) => full[name] === undefined);
    const { test } = await loadMnist({ trainSize: 16, testSize: MNIST_TEST_SIZE, seed: 0 });
    return {
      results: found.map((name) => full[name]),
      test,
      resultsDir: REPRODUCTION_DIR,
      fullSchedule: true,
      label: `the article's full schedule (20 epochs on 60,000 images), measured on all ` +
        `${formatCount(MNIST_TEST_SIZE)} test images` +
        (missing.length > 0 ? `; not yet run on it: ${missing.join(", ")}` : ""),
    };
  }
  const { trainSize, testSize, seed, numEpochs } = makeConfig(models[0], { preset });
  const data = await loadMnist({ trainSize, testSize, seed });
  const outcomes = await trainAll(models, preset, { ...options, data, showStored: false });
  return {
    results: Object.values(outcomes).map(({ result }) => result),
    test: data.test,
    resultsDir: options.resultsDir ?? defaultResultsDir(),
    fullSchedule: false,
    label: `the **${preset}** preset's short runs (${numEpochs} epoch(s) on ` +
      `${formatCount(trainSize)} images: half-trained), measured on ${formatCount(testSize)} ` +
      `test images; \`deno task reproduce\` trains them fully`,
  };
}
