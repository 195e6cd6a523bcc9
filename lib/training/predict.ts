/** The one batched forward pass: every loop that runs a model over many images uses it. */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SIZE, type MnistSplit } from "../data/mnist.ts";

/**
 * Runs `model` (without dropout) over `examples` in batches of `batchSize` and hands each
 * batch's logits, with its range [from, to), to `use`. Each batch runs inside `tf.tidy`, so
 * `use` reads what it needs synchronously and every tensor is freed after the batch.
 */
export function predictInBatches(
  model: tf.LayersModel,
  examples: MnistSplit,
  batchSize: number,
  use: (logits: tf.Tensor2D, from: number, to: number) => void,
): void {
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  }
  for (let from = 0; from < examples.count; from += batchSize) {
    const to = Math.min(from + batchSize, examples.count);
    tf.tidy(() => {
      const images = examples.images.subarray(from * IMAGE_SIZE, to * IMAGE_SIZE);
      const xs = tf.tensor4d(images, [to - from, 28, 28, 1]);
      // One pass per batch, as predict() would run it without cutting it into batches of 32
      // (its default) or copying it into a slice first.
      use(model.apply(xs, { training: false }) as tf.Tensor2D, from, to);
    });
  }
}
