/**
 * Lower precision for a trained model's weights: half precision, int8 per channel as mobile
 * runtimes store it, affine uint8 as tfjs-converter does, and the test accuracy at each.
 */
import * as tf from "@tensorflow/tfjs";
import type { MnistSplit } from "../data/mnist.ts";
import { evaluateModel } from "../training/train.ts";
import { modelArtifacts } from "./export.ts";
import { quantizeInt8, quantizeUint8, roundToFloat16 } from "./low_precision.ts";

/**
 * The precisions compared here.
 * - `float32`: as trained, 4 bytes a weight.
 * - `float16`: every weight rounded to half precision, 2 bytes.
 * - `int8`: kernels (conv and dense) symmetric int8 with one float32 scale per output channel,
 *   1 byte a weight; the small vectors (biases, BatchNorm) stay float32, as int8 runtimes keep
 *   biases at 32 bits and fold BatchNorm into the conv. Per channel, because one channel with
 *   large weights would otherwise set the step for all and round small channels to a few levels.
 * - `uint8`: tfjs-converter's format, affine uint8 with one scale and min per tensor (all
 *   tensors): what a TensorFlow.js web app can load (`exportModel`).
 */
export type Precision = "float32" | "float16" | "int8" | "uint8";

/** The precisions, from largest to smallest. */
export const PRECISIONS: readonly Precision[] = ["float32", "float16", "int8", "uint8"];

/** A model's weights at a lower precision. */
export interface QuantizedWeights {
  precision: Precision;
  /** Bytes the weights take at this precision, scales and float32 vectors included. */
  bytes: number;
  /** The same weights as float32. */
  float32Bytes: number;
  /** Largest |original - dequantized| over all weights. */
  maxAbsError: number;
  /** The weights dequantized back to float32, by name (as `model.save` names them); the caller disposes them. */
  tensors: tf.NamedTensorMap;
}

/**
 * Rounds every weight of `model` to `precision` and back to float32, to measure what lower
 * precision costs; `model` is not changed. Dispose `tensors` when done.
 */
export function quantizeWeights(
  model: tf.LayersModel,
  precision: Precision,
  options: { perChannel?: boolean } = {},
): QuantizedWeights {
  checkPrecision(precision);
  const tensors: tf.NamedTensorMap = {};
  let bytes = 0;
  let float32Bytes = 0;
  let maxAbsError = 0;
  for (const weight of model.weights) {
    const shape = weight.shape as number[];
    const values = weight.read().dataSync() as Float32Array;
    const { dequantized, size } = quantizeTensor(values, shape, precision, options);
    for (let i = 0; i < values.length; i++) {
      maxAbsError = Math.max(maxAbsError, Math.abs(values[i] - dequantized[i]));
    }
    bytes += size;
    float32Bytes += values.length * 4;
    tensors[weight.originalName] = tf.tensor(dequantized, shape, "float32");
  }
  return { precision, bytes, float32Bytes, maxAbsError, tensors };
}

function quantizeTensor(
  values: Float32Array,
  shape: number[],
  precision: Precision,
  options: { perChannel?: boolean },
): { dequantized: Float32Array; size: number } {
  switch (precision) {
    case "float32":
      return { dequantized: values.slice(), size: values.length * 4 };
    case "float16":
      return { dequantized: roundToFloat16(values), size: values.length * 2 };
    case "int8": {
      if (shape.length < 2) return { dequantized: values.slice(), size: values.length * 4 };
      const { dequantized, scales } = quantizeInt8(values, shape, options);
      return { dequantized, size: values.length + scales.length * 4 };
    }
    case "uint8": // one byte a weight, plus scale and min as float32
      return { dequantized: quantizeUint8(values).dequantized, size: values.length + 8 };
  }
}

/** Throws a clear error for a precision this module does not know. */
export function checkPrecision(precision: string): Precision {
  if ((PRECISIONS as readonly string[]).includes(precision)) return precision as Precision;
  throw new Error(`Unknown precision "${precision}"; use one of: ${PRECISIONS.join(", ")}`);
}

/** Accuracy and loss after quantizing, and the size the weights take. */
export interface QuantizedEvaluation {
  precision: Precision;
  accuracy: number;
  loss: number;
  bytes: number;
  float32Bytes: number;
}

/**
 * Test accuracy and loss of `model` with its weights at `precision` (dequantized into a copy of
 * the model: the caller's model keeps its weights).
 */
export async function evaluateQuantized(
  model: tf.LayersModel,
  examples: MnistSplit,
  options: { precision: Precision; batchSize?: number; perChannel?: boolean },
): Promise<QuantizedEvaluation> {
  const quantized = quantizeWeights(model, options.precision, options);
  let copy: tf.LayersModel | undefined;
  try {
    copy = await copyModel(model, quantized.tensors);
    const { loss, accuracy } = evaluateModel(copy, examples, { batchSize: options.batchSize });
    return {
      precision: quantized.precision,
      accuracy,
      loss,
      bytes: quantized.bytes,
      float32Bytes: quantized.float32Bytes,
    };
  } finally {
    copy?.dispose();
    tf.dispose(Object.values(quantized.tensors));
  }
}

/** A new model with `model`'s architecture and the given weights (by name); the caller disposes it. */
export async function copyModel(
  model: tf.LayersModel,
  weights: tf.NamedTensorMap,
): Promise<tf.LayersModel> {
  const artifacts = await modelArtifacts(model);
  const { data, specs } = await tf.io.encodeWeights(weights);
  return await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: artifacts.modelTopology,
    weightSpecs: specs,
    weightData: data,
  }));
}
