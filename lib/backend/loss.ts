/**
 * The training loss as one op. tf.losses.softmaxCrossEntropy runs ~20 kernels forward and ~15
 * backward on a batch's [16, 10] logits, each paying tf.js's per-op bookkeeping (~0.3 ms a
 * step, 4% of Small Net's); on so few values plain JS is faster.
 */
import * as tf from "@tensorflow/tfjs";

/**
 * The mean over the batch of softmax cross-entropy between one-hot `labels` and `logits`:
 * what tf.losses.softmaxCrossEntropy(labels, logits) returns, computed in double precision.
 * Its gradient with respect to the logits is (softmax(logits) - labels) / batch size.
 */
export function meanSoftmaxCrossEntropy(labels: tf.Tensor2D, logits: tf.Tensor2D): tf.Scalar {
  const [batch, classes] = logits.shape;
  const targets = labels.dataSync();
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const values = (args[0] as tf.Tensor).dataSync();
    const { loss, probabilities } = softmaxCrossEntropy(values, targets, batch, classes);
    return {
      value: tf.scalar(loss),
      gradFunc: (dy: tf.Tensor) =>
        tf.tensor2d(
          logitGradient(probabilities, targets, dy.dataSync()[0] / batch),
          [batch, classes],
        ),
    };
  });
  return loss(logits) as tf.Scalar;
}

/**
 * The mean softmax cross-entropy of `batch` rows of `classes` logits against one-hot
 * `targets`, in double precision, and each row's softmax (for the gradient).
 */
export function softmaxCrossEntropy(
  values: ArrayLike<number>,
  targets: ArrayLike<number>,
  batch: number,
  classes: number,
): { loss: number; probabilities: Float64Array } {
  const probabilities = new Float64Array(batch * classes);
  let total = 0;
  for (let row = 0; row < batch * classes; row += classes) {
    // log(sum(exp(z))) with the row's maximum taken out, as tf.js's logSumExp does.
    let max = -Infinity;
    for (let c = row; c < row + classes; c++) max = Math.max(max, values[c]);
    let sum = 0;
    for (let c = row; c < row + classes; c++) {
      probabilities[c] = Math.exp(values[c] - max);
      sum += probabilities[c];
    }
    const logSumExp = max + Math.log(sum);
    for (let c = row; c < row + classes; c++) {
      probabilities[c] /= sum;
      total += targets[c] * (logSumExp - values[c]);
    }
  }
  return { loss: total / batch, probabilities };
}

/** The loss's gradient with respect to the logits, (softmax - targets) * scale, as floats. */
export function logitGradient(
  probabilities: Float64Array,
  targets: ArrayLike<number>,
  scale: number,
): Float32Array {
  return Float32Array.from(probabilities, (p, i) => (p - targets[i]) * scale);
}
