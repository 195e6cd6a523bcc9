/** Side-by-side tables of stored runs: accuracy against what each model costs. */
import { MODEL_REGISTRY } from "../models/registry.ts";
import { estimateStepMemory, exceedsHeapText, type MemoryMeasurement } from "./cost.ts";
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
  /** Where a batch did not fit: its memory estimated from the batches that did, in MB. */
  memoryEstimateMB?: Record<number, number>;
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
      return value === undefined
        ? "-"
        : value === null
        ? exceedsHeapText(estimatedBytes(row, size))
        : value.toFixed(1);
    }),
  ]);
  return formatTable(header, lines, { align: header.map((_, i) => (i === 0 ? "l" : "r")) });
}

/** Replaces the rows' memory figures with separately stored measurements, by model. */
export function withMemory(
  rows: ComparisonRow[],
  measurements: Record<string, MemoryMeasurement[]>,
): ComparisonRow[] {
  return rows.map((row) => {
    const measured = measurements[row.model] ?? [];
    const estimates = measured.filter((m) => !m.fits).flatMap((m) => {
      const estimate = estimateStepMemory(measured, m.batchSize);
      return estimate ? [[m.batchSize, estimate.estimatedBytes / 2 ** 20]] : [];
    });
    return {
      ...row,
      memoryMB: Object.fromEntries(
        measured.map((m) => [m.batchSize, m.fits ? m.peakBytes! / 2 ** 20 : null]),
      ),
      ...(estimates.length > 0 ? { memoryEstimateMB: Object.fromEntries(estimates) } : {}),
    };
  });
}

// The estimate for a batch that did not fit, in bytes, where there is one.
function estimatedBytes(row: ComparisonRow, batchSize: number): number | undefined {
  const mb = row.memoryEstimateMB?.[batchSize];
  return mb === undefined ? undefined : mb * 2 ** 20;
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
  const memory = (row: ComparisonRow, size: number) => {
    const value = row.memoryMB[size];
    return value === undefined
      ? "-"
      : value === null
      ? exceedsHeapText(estimatedBytes(row, size))
      : value.toFixed(0);
  };
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
      pair(memory(row, 16), article?.gpuMemoryMB?.batch16.toFixed(0)),
      pair(
        memory(row, largeBatch),
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

/** The timing metrics `compareRatios` holds against each other. */
export const RATIO_METRICS = ["trainSecondsPerFullEpoch", "inferenceSecondsFullTestSet"] as const;

/** One pair of models, one metric: the ratio in each table, and whether it carries over. */
export interface RatioAgreement {
  models: [string, string];
  metric: (typeof RATIO_METRICS)[number];
  /** First model's figure over the second's, in each table. */
  ratioA: number;
  ratioB: number;
  /**
   * Both tables put the same model ahead and agree within `tolerance` (ratio of ratios): only
   * then may a text say the ratio carries over from one preset to the other.
   */
  holds: boolean;
}

/**
 * For every pair of models in both tables, the ratio of each timing metric in table `a` and in
 * table `b`, and whether it holds in both (same direction, within `tolerance`, default 1.5x).
 */
export function compareRatios(
  a: ComparisonRow[],
  b: ComparisonRow[],
  options: { tolerance?: number } = {},
): RatioAgreement[] {
  const tolerance = options.tolerance ?? 1.5;
  if (!(tolerance >= 1)) throw new Error(`tolerance is a factor of at least 1, got ${tolerance}`);
  const inB = new Map(b.map((row) => [row.model, row]));
  const models = a.map((row) => row.model).filter((model) => inB.has(model));
  const inA = new Map(a.map((row) => [row.model, row]));
  const agreements: RatioAgreement[] = [];
  for (const [i, first] of models.entries()) {
    for (const second of models.slice(i + 1)) {
      for (const metric of RATIO_METRICS) {
        const ratioA = inA.get(first)![metric] / inA.get(second)![metric];
        const ratioB = inB.get(first)![metric] / inB.get(second)![metric];
        const sameSide = (ratioA - 1) * (ratioB - 1) > 0 || (ratioA === 1 && ratioB === 1);
        const apart = Math.max(ratioA / ratioB, ratioB / ratioA);
        agreements.push({
          models: [first, second],
          metric,
          ratioA,
          ratioB,
          holds: Number.isFinite(apart) && sameSide && apart <= tolerance,
        });
      }
    }
  }
  return agreements;
}

/** A Markdown table of `compareRatios`: one row per pair, each timing's two ratios and verdict. */
export function formatRatioAgreement(
  agreements: RatioAgreement[],
  options: { labels?: [string, string] } = {},
): string {
  const [la, lb] = options.labels ?? ["table A", "table B"];
  const pairs = [...new Set(agreements.map((g) => g.models.join(" / ")))];
  const cell = (g: RatioAgreement | undefined) =>
    g === undefined
      ? "- | - | -"
      : `${g.ratioA.toFixed(1)}x | ${g.ratioB.toFixed(1)}x | ${
        g.holds ? "holds" : "does not hold"
      }`;
  const lines = pairs.map((pair) => {
    const of = (metric: string) =>
      agreements.find((g) => g.models.join(" / ") === pair && g.metric === metric);
    return `| ${pair} | ${cell(of("trainSecondsPerFullEpoch"))} | ${
      cell(of("inferenceSecondsFullTestSet"))
    } |`;
  });
  return [
    `| models | training time, ${la} | ${lb} | both? | inference time, ${la} | ${lb} | both? |`,
    "|---|--:|--:|---|--:|--:|---|",
    ...lines,
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

/**
 * The last epoch of each run as a table: what a chart squeezed into a narrow band of accuracy
 * cannot show, to two decimals.
 */
export function formatFinalValues(
  runs: {
    model: string;
    history: { testAccuracy: number; testLoss: number; trainLoss: number }[];
  }[],
): string {
  return formatTable(
    ["model", "epochs", "final test accuracy", "final test loss", "final training loss"],
    runs.map(({ model, history }) => {
      const last = history.at(-1)!;
      return [
        model,
        history.length,
        `${(last.testAccuracy * 100).toFixed(2)}%`,
        last.testLoss.toFixed(4),
        last.trainLoss.toFixed(4),
      ];
    }),
    { align: ["l", "r", "r", "r", "r"] },
  );
}
