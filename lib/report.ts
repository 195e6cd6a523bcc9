/** Side-by-side tables of stored runs: accuracy against what each model costs. */
import type { ExperimentOutcome } from "./experiment.ts";
import { formatCount } from "./summary.ts";

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
    row.weightMB < 0.01 ? row.weightMB.toFixed(4) : row.weightMB.toFixed(2),
    ...batchSizes.map((size) => {
      const value = row.memoryMB[size];
      return value === undefined ? "-" : value === null ? "does not fit" : value.toFixed(1);
    }),
  ]);
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "--:")).join("|")}|`,
    ...lines.map((cells) => `| ${cells.join(" | ")} |`),
  ].join("\n");
}
