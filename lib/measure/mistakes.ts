/**
 * Where a model goes wrong: the confusion matrix (which digit is read as which) and the images
 * it gets wrong, with how sure it was.
 */
import * as tf from "@tensorflow/tfjs";
import { type MnistSplit, NUM_CLASSES } from "../data/mnist.ts";
import { predictInBatches } from "../training/predict.ts";

/** One image the model got wrong. */
export interface Mistake {
  /** Position of the image in the examples given. */
  index: number;
  /** The true digit. */
  label: number;
  /** The digit the model answered. */
  predicted: number;
  /** The model's probability for its answer (softmax of the logits), from 0 to 1. */
  confidence: number;
}

/** The model's answer for every image, and its probability for that answer. */
export interface Predictions {
  predicted: Uint8Array;
  confidence: Float32Array;
}

/** Predicts every image of `examples` in batches (without dropout). */
export function predictExamples(
  model: tf.LayersModel,
  examples: MnistSplit,
  options: { batchSize?: number } = {},
): Predictions {
  const batchSize = options.batchSize ?? 1000;
  const predicted = new Uint8Array(examples.count);
  const confidence = new Float32Array(examples.count);
  predictInBatches(model, examples, batchSize, (logits, from) => {
    const probabilities = tf.softmax(logits);
    predicted.set(tf.argMax(probabilities, 1).dataSync(), from);
    confidence.set(tf.max(probabilities, 1).dataSync(), from);
  });
  return { predicted, confidence };
}

/** Counts of true digit (rows) against predicted digit (columns), from labels and answers. */
export function countConfusions(
  labels: ArrayLike<number>,
  predicted: ArrayLike<number>,
): number[][] {
  if (labels.length !== predicted.length) {
    throw new Error(
      `countConfusions() needs one answer per label, got ${labels.length} labels and ` +
        `${predicted.length} answers`,
    );
  }
  const matrix = Array.from({ length: NUM_CLASSES }, () => new Array<number>(NUM_CLASSES).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const [label, answer] = [labels[i], predicted[i]];
    if (!isDigit(label) || !isDigit(answer)) {
      throw new Error(`Labels and answers must be digits 0-9; item ${i} is ${label} -> ${answer}`);
    }
    matrix[label][answer]++;
  }
  return matrix;
}

/** The 10x10 confusion matrix of `model` on `examples`: rows = true digit, columns = answer. */
export function confusionMatrix(
  model: tf.LayersModel,
  examples: MnistSplit,
  options: { batchSize?: number } = {},
): number[][] {
  return countConfusions(examples.labels, predictExamples(model, examples, options).predicted);
}

/**
 * The images `model` gets wrong, at most `limit` (default 20). Ordered by `order`: "confidence"
 * (default) puts the mistakes it was surest of first, the most telling ones; "index" keeps the
 * order of the examples.
 */
export function misclassified(
  model: tf.LayersModel,
  examples: MnistSplit,
  options: { limit?: number; order?: "confidence" | "index"; batchSize?: number } = {},
): Mistake[] {
  const limit = options.limit ?? 20;
  if (!(limit >= 0)) throw new Error(`limit must be zero or more, got ${limit}`);
  const order = options.order ?? "confidence";
  if (order !== "confidence" && order !== "index") {
    throw new Error(`order must be "confidence" or "index", got "${order}"`);
  }
  const { predicted, confidence } = predictExamples(model, examples, options);
  const mistakes: Mistake[] = [];
  for (let index = 0; index < examples.count; index++) {
    if (predicted[index] === examples.labels[index]) continue;
    mistakes.push({
      index,
      label: examples.labels[index],
      predicted: predicted[index],
      confidence: confidence[index],
    });
  }
  if (order === "confidence") {
    mistakes.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
  }
  return mistakes.slice(0, limit);
}

/** The most frequent confusions (true digit read as another), largest first. */
export function topConfusions(
  matrix: number[][],
  options: { limit?: number } = {},
): { label: number; predicted: number; count: number }[] {
  const pairs = matrix.flatMap((row, label) =>
    row.map((count, predicted) => ({ label, predicted, count }))
  ).filter((pair) => pair.label !== pair.predicted && pair.count > 0);
  pairs.sort((a, b) => b.count - a.count || a.label - b.label || a.predicted - b.predicted);
  return pairs.slice(0, options.limit ?? 5);
}

function isDigit(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value < NUM_CLASSES;
}
