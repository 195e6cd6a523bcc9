/** Side-by-side tables of stored runs: accuracy against what each model costs. */
import { MODEL_REGISTRY } from "../models/registry.ts";
import type { MemoryMeasurement } from "./cost.ts";
import type { ExperimentOutcome } from "./experiment_costs.ts";
import { formatCount, formatMB } from "../common/format.ts";
import { formatTable } from "../common/markdown.ts";

type Result = ExperimentOutcome["result"];

/** One model's line in a comparison. */
export interface ComparisonRow {
  model: string;
  trainableParams: number;
  macsPerImage: number;
  testAccuracy: number;
  testLoss: number;
  /** Seconds per 60,000-image epoch and per 10,000-image inference, scaled from the run. */
  trainSecondsPerFullEpoch: number;
  inferenceSecondsFullTestSet: number;
  weightMB: number;
  /** Peak training memory in MB per measured batch size; null where it did not fit. */
  memoryMB: Record<number, number | null>;
}

/** Turns stored results into comparison rows, in the order given. */
export function comparisonRows(results: Result[]): ComparisonRow[] {
  return results.map((result) => {
    const last = result.history.at(-1)!;
    const costs = result.costs;
    return {
      model: result.config.model,
      trainableParams: costs.trainableParams,
      macsPerImage: costs.macsPerImage,
      testAccuracy: last.testAccuracy,
      testLoss: last.testLoss,
      trainSecondsPerFullEpoch: costs.trainSecondsPerFullEpoch,
      inferenceSecondsFullTestSet: costs.inferenceSecondsFullTestSet,
      weightMB: costs.weightFileBytes / 2 ** 20,
      memoryMB: Object.fromEntries(
        costs.trainingMemory.map((m) => [m.batchSize, m.fits ? m.peakBytes! / 2 ** 20 : null]),
      ),
    };
  });
}

/** Renders comparison rows as a Markdown table. */
export function formatComparison(rows: ComparisonRow[]): string {
  const batchSizes = [...new Set(rows.flatMap((row) => Object.keys(row.memoryMB).map(Number)))]
    .sort((a, b) => a - b);
  const header = [
    "model",
    "params",
    "MACs/image",
    "test acc.",
    "test loss",
    "train s/epoch (60k)",
    "inference s (10k)",
    "weights MB",
    ...batchSizes.map((size) => `memory MB @${size}`),
  ];
  const lines = rows.map((row) => [
    row.model,
    formatCount(row.trainableParams),
    formatCount(row.macsPerImage),
    `${(row.testAccuracy * 100).toFixed(2)}%`,
    row.testLoss.toFixed(4),
    row.trainSecondsPerFullEpoch.toFixed(1),
    row.inferenceSecondsFullTestSet.toFixed(2),
    formatMB(row.weightMB),
    ...batchSizes.map((size) => {
      const value = row.memoryMB[size];
      return value === undefined ? "-" : value === null ? "does not fit" : value.toFixed(1);
    }),
  ]);
  return formatTable(header, lines, { align: header.map((_, i) => (i === 0 ? "l" : "r")) });
}

/** Replaces the rows' memory figures with separately stored measurements, by model. */
export function withMemory(
  rows: ComparisonRow[],
  measurements: Record<string, MemoryMeasurement[]>,
): ComparisonRow[] {
  return rows.map((row) => ({
    ...row,
    memoryMB: Object.fromEntries(
      (measurements[row.model] ?? []).map((
        m,
      ) => [m.batchSize, m.fits ? m.peakBytes! / 2 ** 20 : null]),
    ),
  }));
}

/** Ours beside the article's, per model: "ours / article" in each cell, "-" where it gives none. */
export function formatArticleComparison(
  rows: ComparisonRow[],
  options: { largeBatch?: number } = {},
): string {
  const largeBatch = options.largeBatch ?? 8192; // the article's

  const pair = (ours: string, theirs: string | undefined) => `${ours} / ${theirs ?? "-"}`;
  const header = [
    "model",
    "test accuracy",
    "params",
    "weights MB",
    "train s/epoch (60k, CPU)",
    "inference s (10k, CPU)",
    "memory MB @16",
    `memory MB @${largeBatch}`,
  ];
  const memory = (value: number | null | undefined) =>
    value === undefined ? "-" : value === null ? "does not fit" : value.toFixed(0);
  const lines = rows.map((row) => {
    // The registry entry's figures; none for a model the article does not give (or one that is
    // not registered, such as a search candidate).
    const article = MODEL_REGISTRY.find((entry) => entry.name === row.model)?.article;
    return [
      row.model,
      pair(
        `${(row.testAccuracy * 100).toFixed(2)}%`,
        article && `${(article.testAccuracy * 100).toFixed(2)}%`,
      ),
      pair(formatCount(row.trainableParams), article && formatCount(article.trainableParams)),
      pair(formatMB(row.weightMB), article?.weightMB?.toFixed(2)),
      pair(row.trainSecondsPerFullEpoch.toFixed(0), article?.cpuSecondsPerEpoch?.toFixed(0)),
      pair(row.inferenceSecondsFullTestSet.toFixed(1), article?.cpuInferenceSeconds?.toFixed(0)),
      pair(memory(row.memoryMB[16]), article?.gpuMemoryMB?.batch16.toFixed(0)),
      pair(
        memory(row.memoryMB[largeBatch]),
        largeBatch === 8192 ? article?.gpuMemoryMB?.batch8192.toFixed(0) : undefined,
      ),
    ];
  });
  return formatTable(header, lines, { align: header.map((_, i) => (i === 0 ? "l" : "r")) });
}

/**
 * Each model against the most accurate one: accuracy given up, and how many times fewer
 * parameters, less training time, smaller weights it buys. As a Markdown table.
 */
export function formatTradeOffs(rows: ComparisonRow[]): string {
  const best = rows.reduce((a, b) => (b.testAccuracy > a.testAccuracy ? b : a));
  const times = (ours: number, theirs: number) =>
    ours >= theirs ? `${(ours / theirs).toFixed(1)}x more` : `${(theirs / ours).toFixed(1)}x less`;
  const lines = rows.filter((row) => row !== best).map((row) => [
    row.model,
    `${((best.testAccuracy - row.testAccuracy) * 100).toFixed(2)} points`,
    times(row.trainableParams, best.trainableParams),
    times(row.trainSecondsPerFullEpoch, best.trainSecondsPerFullEpoch),
    times(row.inferenceSecondsFullTestSet, best.inferenceSecondsFullTestSet),
    times(row.weightMB, best.weightMB),
  ]);
  const header = [
    "model",
    "accuracy given up",
    "parameters",
    "training time",
    "inference time",
    "weight size",
  ];
  return [
    `Compared with the most accurate model, **${best.model}** ` +
    `(${(best.testAccuracy * 100).toFixed(2)}%):`,
    "",
    formatTable(header, lines, { align: ["l", "r", "r", "r", "r", "r"] }),
  ].join("\n");
}

/** A figure the article gives per model, as `articleReference` reads it. */
export type ArticleFigureName =
  | "testAccuracy"
  | "testLoss"
  | "trainableParams"
  | "weightMB"
  | "cpuSecondsPerEpoch"
  | "cpuInferenceSeconds"
  | "gpuMemoryMB";

/**
 * The article's value of `figure` for each registered model that has one (in the registry's
 * order), as chart reference marks. "gpuMemoryMB" needs the `batchSize`: the article
 * measured 16 and 8192, so any other batch size has no figures.
 */
export function articleReference(
  figure: ArticleFigureName,
  options: { batchSize?: number } = {},
): { model: string; value: number }[] {
  if (figure === "gpuMemoryMB" && options.batchSize === undefined) {
    throw new Error(
      'articleReference("gpuMemoryMB") needs a batchSize: 16 or 8192, the ones the article measured',
    );
  }
  const valueOf = (entry: (typeof MODEL_REGISTRY)[number]): number | undefined => {
    const article = entry.article;
    if (figure !== "gpuMemoryMB") return article?.[figure];
    const memory = article?.gpuMemoryMB;
    return options.batchSize === 16
      ? memory?.batch16
      : options.batchSize === 8192
      ? memory?.batch8192
      : undefined;
  };
  return MODEL_REGISTRY.flatMap((entry) => {
    const value = valueOf(entry);
    return value === undefined ? [] : [{ model: entry.name, value }];
  });
}
