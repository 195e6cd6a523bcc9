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
    const probabilities = new Float64Array(values.length);
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
    return {
      value: tf.scalar(total / batch),
      gradFunc: (dy: tf.Tensor) => {
        const scale = dy.dataSync()[0] / batch;
        const grad = probabilities.map((p, i) => (p - targets[i]) * scale);
        return tf.tensor2d(Float32Array.from(grad), [batch, classes]);
      },
    };
  });
  return loss(logits) as tf.Scalar;
}
