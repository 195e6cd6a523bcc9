/**
 * What it costs to deploy a trained model: how long one image takes (the latency a user
 * feels), how small its weights get at lower precision and what accuracy that costs, and the
 * `model.json` + weights files a web app loads with TensorFlow.js; measured once per stored
 * result and kept, keyed by the SHA-256 of the weights they measured. The parts live in
 * latency.ts, low_precision.ts, quantize.ts and export.ts and are re-exported here.
 */
import * as tf from "@tensorflow/tfjs";
import type { MnistSplit } from "../data/mnist.ts";
import { loadTrainedModel } from "../training/trained_model.ts";
import {
  defaultResultsDir,
  loadMeasurement,
  type RunResult,
  saveMeasurement,
} from "../training/results.ts";
import {
  requireFinite,
  requireRecord,
  requireSha256,
  requireString,
} from "../training/store_schema.ts";
import { formatCount, formatMB } from "../common/format.ts";
import { type LatencyMeasurement, measureLatency } from "./latency.ts";
import { evaluateQuantized, type Precision, PRECISIONS } from "./quantize.ts";
import { type ExportFormat, exportModel } from "./export.ts";

export * from "./export.ts";
export * from "./latency.ts";
export * from "./low_precision.ts";
export * from "./quantize.ts";

/** A trained model's deployment figures. */
export interface DeploymentRow {
  model: string;
  /** The stored result these figures come from. */
  key: string;
  /** SHA-256 of the weights measured (the result's `weightsSha256`): other weights, other row. */
  weightsSha256: string;
  backend: string;
  trainableParams: number;
  macsPerImage: number;
  latency: LatencyMeasurement;
  /** Test images the accuracies were measured on (the result's own test set). */
  testImages: number;
  /** The result's stored final test accuracy, which `float32` reproduces. */
  storedAccuracy: number;
  /** Size, accuracy and loss at each precision, after dequantizing. */
  precisions: Record<Precision, { bytes: number; accuracy: number; loss: number }>;
  /** Sizes of the exported files (`model.json` + weights) in each web format. */
  exports: Record<ExportFormat, { modelJsonBytes: number; weightBytes: number; dir: string }>;
}

/** Bump when `DeploymentRow` changes shape: older stored rows are then measured again. */
const DEPLOYMENT_VERSION = 2;

/**
 * Everything a deployment decision needs about one stored result: latency per image, accuracy
 * and size at each precision, and the exported files (kept in `<resultsDir>/exports/<key>/`).
 * Measured once and stored (`measurements/deployment_v2_<key>.json`) with the SHA-256 of the
 * weights it measured: a stored row of other weights (a retrained or replaced result) is
 * measured again, and `remeasure` measures again anyway. The weights are checked against their
 * result's SHA-256 before they are measured. `test` must be the result's own test set.
 */
export async function measureDeployment(
  result: RunResult,
  test: MnistSplit,
  options: {
    /** Where the result and its weights are stored; default `defaultResultsDir()`. */
    resultsDir?: string;
    /** Where measurements and exports go; default `defaultResultsDir()`. */
    measurementsDir?: string;
    remeasure?: boolean;
    repeats?: number;
    warmup?: number;
  } = {},
): Promise<DeploymentRow> {
  const config = result.config;
  if (test.count !== config.testSize) {
    throw new Error(
      `${result.key} was tested on ${config.testSize} images, the data given has ${test.count}; ` +
        `pass the test split of loadMnist({ trainSize, testSize, seed }) with its config's values`,
    );
  }
  const dir = options.measurementsDir ?? defaultResultsDir();
  const name = `deployment_v${DEPLOYMENT_VERSION}_${result.key}`;
  if (!options.remeasure) {
    const stored = await loadMeasurement<DeploymentRow>(dir, name, {
      measuredFrom: result.weightsSha256,
      check: checkDeploymentRow,
      fix: `delete it, or run "deno task choose" with --remeasure`,
    });
    if (stored?.weightsSha256 === result.weightsSha256) return stored;
  }
  const model = await loadTrainedModel(result, { resultsDir: options.resultsDir });
  try {
    const latency = measureLatency(model, test, options);
    const precisions = {} as DeploymentRow["precisions"];
    for (const precision of PRECISIONS) {
      const evaluation = await evaluateQuantized(model, test, {
        precision,
        batchSize: config.evalBatchSize,
      });
      precisions[precision] = {
        bytes: evaluation.bytes,
        accuracy: evaluation.accuracy,
        loss: evaluation.loss,
      };
    }
    const exports = {} as DeploymentRow["exports"];
    for (const format of ["float32", "float16", "uint8"] as const) {
      const exportDir = `${dir}/exports/${result.key}/${format}`;
      const written = await exportModel(model, exportDir, {
        quantize: format === "float32" ? undefined : format,
      });
      exports[format] = {
        modelJsonBytes: written.modelJsonBytes,
        weightBytes: written.weightBytes,
        dir: exportDir,
      };
    }
    const costs = result.costs as { trainableParams?: number; macsPerImage?: number };
    const row: DeploymentRow = {
      model: config.model,
      key: result.key,
      weightsSha256: result.weightsSha256,
      backend: tf.getBackend(),
      trainableParams: costs.trainableParams ?? 0,
      macsPerImage: costs.macsPerImage ?? 0,
      latency,
      testImages: test.count,
      storedAccuracy: result.history.at(-1)!.testAccuracy,
      precisions,
      exports,
    };
    await saveMeasurement(dir, name, row, { measuredFrom: result.weightsSha256 });
    return row;
  } finally {
    model.dispose();
  }
}

/** Checks a stored `DeploymentRow` field by field (throws `StoredFieldError` naming the field). */
export function checkDeploymentRow(value: unknown): DeploymentRow {
  const row = requireRecord(value, "value");
  for (const name of ["model", "key", "backend"]) requireString(row[name], `value.${name}`);
  requireSha256(row.weightsSha256, "value.weightsSha256");
  for (const name of ["trainableParams", "macsPerImage", "testImages", "storedAccuracy"]) {
    requireFinite(row[name], `value.${name}`);
  }
  const latency = requireRecord(row.latency, "value.latency");
  for (const name of ["medianMs", "p95Ms", "minMs", "repeats"]) {
    requireFinite(latency[name], `value.latency.${name}`);
  }
  const precisions = requireRecord(row.precisions, "value.precisions");
  for (const precision of PRECISIONS) {
    const figures = requireRecord(precisions[precision], `value.precisions.${precision}`);
    for (const name of ["bytes", "accuracy", "loss"]) {
      requireFinite(figures[name], `value.precisions.${precision}.${name}`);
    }
  }
  const exports = requireRecord(row.exports, "value.exports");
  for (const format of EXPORT_FORMATS) {
    const files = requireRecord(exports[format], `value.exports.${format}`);
    requireFinite(files.modelJsonBytes, `value.exports.${format}.modelJsonBytes`);
    requireFinite(files.weightBytes, `value.exports.${format}.weightBytes`);
    requireString(files.dir, `value.exports.${format}.dir`);
  }
  return row as unknown as DeploymentRow;
}

const EXPORT_FORMATS = ["float32", "float16", "uint8"] as const;

/** Latency per image and arithmetic per image, one row per model, as a Markdown table. */
export function formatLatency(rows: DeploymentRow[]): string {
  return markdownTable(
    ["model", "params", "MACs/image", "latency median ms", "latency p95 ms", "images/s (median)"],
    rows.map((row) => [
      row.model,
      formatCount(row.trainableParams),
      formatCount(row.macsPerImage),
      row.latency.medianMs.toFixed(2),
      row.latency.p95Ms.toFixed(2),
      formatCount(1000 / row.latency.medianMs),
    ]),
  );
}

/** Weight size and test accuracy at each precision, one row per model, as a Markdown table. */
export function formatQuantization(rows: DeploymentRow[]): string {
  const header = ["model", ...PRECISIONS.map((p) => `${p} MB`), ...PRECISIONS.map((p) => p)];
  return markdownTable(
    header,
    rows.map((row) => {
      const base = row.precisions.float32.accuracy;
      return [
        row.model,
        ...PRECISIONS.map((p) => formatMB(row.precisions[p].bytes / 2 ** 20)),
        ...PRECISIONS.map((p) => {
          const accuracy = row.precisions[p].accuracy;
          const change = (accuracy - base) * 100;
          const delta = p === "float32"
            ? ""
            : ` (${change >= 0 ? "+" : "−"}${Math.abs(change).toFixed(2)})`;
          return `${(accuracy * 100).toFixed(2)}%${delta}`;
        }),
      ];
    }),
  );
}

/** What a web app downloads in each format (`model.json` + weights), as a Markdown table. */
export function formatExports(rows: DeploymentRow[]): string {
  const formats = ["float32", "float16", "uint8"] as const;
  return markdownTable(
    ["model", "model.json KB", ...formats.map((f) => `${f} download KB`)],
    rows.map((row) => [
      row.model,
      (row.exports.float32.modelJsonBytes / 1024).toFixed(1),
      ...formats.map((f) =>
        ((row.exports[f].modelJsonBytes + row.exports[f].weightBytes) / 1024).toFixed(1)
      ),
    ]),
  );
}

function markdownTable(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "--:")).join("|")}|`,
    ...rows.map((cells) => `| ${cells.join(" | ")} |`),
  ].join("\n");
}
