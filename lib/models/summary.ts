/**
 * Where a model's parameters and arithmetic live: one row per layer, with totals, as data
 * and as a Markdown table.
 */
import * as tf from "@tensorflow/tfjs";
import { formatCount, formatMB } from "../common/format.ts";

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
  const header = "| layer | type | output shape | trainable | non-trainable | MACs/image |";
  const rule = "|---|---|---|--:|--:|--:|";
  const lines = summary.rows.map((row) =>
    `| ${row.name} | ${row.type} | ${row.outputShape.join("x")} | ` +
    `${formatCount(row.trainableParams)} | ${formatCount(row.nonTrainableParams)} | ` +
    `${formatCount(row.macs)} |`
  );
  const total = `| **total** | | | **${formatCount(summary.trainableParams)}** | ` +
    `**${formatCount(summary.nonTrainableParams)}** | **${formatCount(summary.macs)}** |`;
  const size = `Weights: ${formatCount(summary.weightBytes)} bytes = ` +
    `${formatMB(summary.weightMB)} MB as float32.`;
  return [`**${summary.name}**`, "", header, rule, ...lines, total, "", size].join("\n");
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
