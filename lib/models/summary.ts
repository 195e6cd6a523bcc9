/**
 * Where a model's parameters and arithmetic live: one row per layer, with totals, as data
 * and as a Markdown table.
 */
import * as tf from "@tensorflow/tfjs";
import { formatCount, formatMB } from "../common/format.ts";
import { formatTable } from "../common/markdown.ts";

/** One layer of a summary. */
export interface LayerRow {
  name: string;
  type: string;
  /** Output shape without the batch axis, e.g. [26, 26, 32]. */
  outputShape: number[];
  trainableParams: number;
  /** BatchNorm's moving mean and variance: stored and shipped, never trained. */
  nonTrainableParams: number;
  /** Multiply-accumulates to run this layer on one image. */
  macs: number;
}

/** A model's summary: its layers and totals. */
export interface ModelSummary {
  name: string;
  rows: LayerRow[];
  trainableParams: number;
  nonTrainableParams: number;
  macs: number;
  /** Size of all weights as float32 (4 bytes each), trainable or not. */
  weightBytes: number;
  /** `weightBytes` in MB of 2^20 bytes, the unit the article's 0.08 MB and 4.58 MB use. */
  weightMB: number;
}

const BYTES_PER_FLOAT32 = 4;
const BYTES_PER_MB = 1024 * 1024;

/** Summarises `model` layer by layer: shapes, parameters and MACs per image. */
export function summarizeModel(model: tf.LayersModel): ModelSummary {
  const rows = model.layers.map(summarizeLayer);
  const trainableParams = sum(rows.map((row) => row.trainableParams));
  const nonTrainableParams = sum(rows.map((row) => row.nonTrainableParams));
  const weightBytes = (trainableParams + nonTrainableParams) * BYTES_PER_FLOAT32;
  return {
    name: model.name,
    rows,
    trainableParams,
    nonTrainableParams,
    macs: sum(rows.map((row) => row.macs)),
    weightBytes,
    weightMB: weightBytes / BYTES_PER_MB,
  };
}

/** Renders a summary as a Markdown table with a totals line (readable as plain text too). */
export function formatSummary(summary: ModelSummary): string {
  const table = formatTable(
    ["layer", "type", "output shape", "trainable", "non-trainable", "MACs/image"],
    [
      ...summary.rows.map((row) => [
        row.name,
        row.type,
        row.outputShape.join("x"),
        formatCount(row.trainableParams),
        formatCount(row.nonTrainableParams),
        formatCount(row.macs),
      ]),
      [
        "**total**",
        "",
        "",
        `**${formatCount(summary.trainableParams)}**`,
        `**${formatCount(summary.nonTrainableParams)}**`,
        `**${formatCount(summary.macs)}**`,
      ],
    ],
    { align: ["l", "l", "l", "r", "r", "r"] },
  );
  const size = `Weights: ${formatCount(summary.weightBytes)} bytes = ` +
    `${formatMB(summary.weightMB)} MB as float32.`;
  return [`**${summary.name}**`, "", table, "", size].join("\n");
}

/**
 * A Markdown table with one line per model: parameters, MACs per image, float32 weight size,
 * and the layer holding the most parameters with its share.
 */
export function formatModelOverview(summaries: ModelSummary[]): string {
  return formatTable(
    ["model", "parameters", "MACs per image", "weights (float32)", "largest layer", "its share"],
    summaries.map((summary) => {
      const { row, share } = largestLayer(summary);
      return [
        summary.name,
        formatCount(summary.trainableParams),
        formatCount(summary.macs),
        `${formatMB(summary.weightMB)} MB`,
        `${row.name} (${row.type})`,
        `${(share * 100).toFixed(0)}%`,
      ];
    }),
    { align: ["l", "r", "r", "r", "l", "r"] },
  );
}

/**
 * A Markdown table of variants of one model that differ in their first layer: that layer's
 * trainable parameters and the model's total, one line per variant (named by its key).
 */
export function formatFirstLayerVariants(
  variants: Record<string, ModelSummary>,
  options: { label?: string } = {},
): string {
  return formatTable(
    [options.label ?? "first layer", "its parameters", "model total"],
    Object.entries(variants).map(([label, summary]) => [
      label,
      formatCount(summary.rows[0].trainableParams),
      `**${formatCount(summary.trainableParams)}**`,
    ]),
    { align: ["l", "r", "r"] },
  );
}

/** The layer with the most trainable parameters, and its share of the model's. */
export function largestLayer(summary: ModelSummary): { row: LayerRow; share: number } {
  const row = summary.rows.reduce((best, row) =>
    row.trainableParams > best.trainableParams ? row : best
  );
  return { row, share: row.trainableParams / summary.trainableParams };
}

function summarizeLayer(layer: tf.layers.Layer): LayerRow {
  const outputShape = (layer.outputShape as (number | null)[]).slice(1) as number[];
  return {
    name: layer.name,
    type: layer.getClassName(),
    outputShape,
    trainableParams: countWeights(layer.trainableWeights),
    nonTrainableParams: countWeights(layer.nonTrainableWeights),
    macs: countMacs(layer, outputShape),
  };
}

// Only layers that multiply and add count: a conv does k*k*C_in MACs per output value, a dense
// layer one per weight, BatchNorm one per value (scale and shift fold into one multiply-add).
// Pooling, activations and dropout compare or copy; they are left at 0, as most MAC counters do.
function countMacs(layer: tf.layers.Layer, outputShape: number[]): number {
  const type = layer.getClassName();
  const outputSize = product(outputShape);
  if (type === "Conv2D") {
    const kernelShape = layer.weights[0].shape as number[]; // [kh, kw, C_in, C_out]
    return outputSize * kernelShape[0] * kernelShape[1] * kernelShape[2];
  }
  if (type === "Dense") return product(layer.weights[0].shape as number[]);
  // lib/models/depthwise.ts: one 3x3 filter per channel.
  if (type === "DepthwiseConv3x3") return outputSize * 9;
  if (type === "BatchNormalization") return outputSize;
  return 0;
}

function countWeights(weights: tf.LayerVariable[]): number {
  return sum(weights.map((weight) => product(weight.shape as number[])));
}

function product(values: number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
