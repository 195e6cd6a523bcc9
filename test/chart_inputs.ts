/** Small chart inputs of the real shapes, shared by the plots and report render tests. */
import type { MnistSplit } from "../lib/data/mnist.ts";
import type { EpochMetrics } from "../lib/training/train.ts";

/** `count` fake digits: a vertical stroke whose column depends on the label. */
export function fakeSplit(count: number): MnistSplit {
  const images = new Float32Array(count * 784);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = (i * 7) % 10;
    for (let row = 4; row < 24; row++) images[i * 784 + row * 28 + 6 + labels[i]] = 1;
  }
  return { images, labels, count };
}

/** `numEpochs` epochs of falling loss; test accuracy rises to `finalAccuracy - 0.05 / numEpochs`. */
export function history(numEpochs: number, finalAccuracy: number): EpochMetrics[] {
  return Array.from({ length: numEpochs }, (_, i) => ({
    epoch: i + 1,
    learningRate: 0.01,
    trainLoss: 0.4 / (i + 1),
    testLoss: 0.3 / (i + 1),
    testAccuracy: finalAccuracy - 0.05 / (i + 1),
    trainSeconds: 1,
    evalSeconds: 0.1,
  }));
}
