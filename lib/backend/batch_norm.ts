/**
 * Keras' BatchNormalization in training mode as one op. tf.js builds it from moments (mean,
 * variance), a FusedBatchNorm kernel and the moving-average updates, and its gradient from
 * ~60 kernels over the full-size input: a quarter of Small Net's training step. The batch
 * statistics and the closed-form gradient take two passes in JS each.
 */
import * as tf from "@tensorflow/tfjs";
import type { Blas } from "./blas.ts";
import {
  channelDots,
  channelSums,
  scaleAndShift,
  useBlasForBatchNorm,
} from "./native_batch_norm.ts";
import { activeBlas } from "./native_kernels.ts";

// The fields of tf.js's BatchNormalization layer this module reads.
interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/**
 * What `layer.apply(x, {training: true})` computes for a BatchNormalization layer over the
 * last axis, with its moving mean and variance updated the same way; undefined for other
 * layers and configurations, which the caller applies as usual.
 */
export function applyBatchNormForTraining(
  layer: tf.layers.Layer,
  x: tf.Tensor,
): tf.Tensor | undefined {
  if (layer.getClassName() !== "BatchNormalization") return undefined;
  const bn = layer as unknown as BatchNormLayer;
  if (!bn.center || !bn.scale || (bn.axis !== -1 && bn.axis !== x.rank - 1)) return undefined;
  const { output, mean, variance } = normalizeBatch(x, bn.gamma.read(), bn.beta.read(), bn.epsilon);
  // tf.js-layers' update: moving <- moving - (moving - batch statistic) * (1 - momentum).
  tf.tidy(() => {
    for (const [moving, value] of [[bn.movingMean, mean], [bn.movingVariance, variance]] as const) {
      const current = moving.read();
      moving.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - bn.momentum)));
    }
  });
  tf.dispose([mean, variance]);
  return output;
}

/**
 * y = (x - mean) / sqrt(variance + epsilon) * gamma + beta over the last axis, with the
 * batch's mean and (biased) variance, and the gradient of batch normalization with respect to
 * x, gamma and beta: with xHat the normalized input and N values per channel,
 * dx = (dy * gamma - mean(dy * gamma) - xHat * mean(dy * gamma * xHat)) / sqrt(variance + epsilon).
 */
export function normalizeBatch(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): { output: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const channels = x.shape[x.rank - 1];
  const statistics = { mean: new Float64Array(channels), variance: new Float64Array(channels) };
  const normalize = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, gammaInput, betaInput] = args as tf.Tensor[];
    const xs = input.dataSync() as Float32Array;
    const g = gammaInput.dataSync();
    const b = betaInput.dataSync();
    const count = xs.length / channels;
    const { mean, variance } = statistics;
    const blas = tf.getBackend() === "wasm" ? activeBlas() : undefined;
    if (blas !== undefined && useBlasForBatchNorm(xs.length, channels)) {
      return normalizeWithBlas(blas, input, { xs, g, b, epsilon }, statistics);
    }
    for (let at = 0; at < xs.length; at += channels) {
      for (let c = 0; c < channels; c++) mean[c] += xs[at + c];
    }
    for (let c = 0; c < channels; c++) mean[c] /= count;
    for (let at = 0; at < xs.length; at += channels) {
      for (let c = 0; c < channels; c++) variance[c] += (xs[at + c] - mean[c]) ** 2;
    }
    const inverse = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      variance[c] /= count;
      inverse[c] = 1 / Math.sqrt(variance[c] + epsilon);
    }
    const xHat = new Float32Array(xs.length);
    const ys = new Float32Array(xs.length);
    for (let at = 0; at < xs.length; at += channels) {
      for (let c = 0; c < channels; c++) {
        xHat[at + c] = (xs[at + c] - mean[c]) * inverse[c];
        ys[at + c] = xHat[at + c] * g[c] + b[c];
      }
    }
    const gradFunc = (dy: tf.Tensor) => {
      const dys = dy.dataSync();
      const sumDy = new Float64Array(channels);
      const sumDyXHat = new Float64Array(channels);
      for (let at = 0; at < xs.length; at += channels) {
        for (let c = 0; c < channels; c++) {
          sumDy[c] += dys[at + c];
          sumDyXHat[c] += dys[at + c] * xHat[at + c];
        }
      }
      const dx = new Float32Array(xs.length);
      for (let at = 0; at < xs.length; at += channels) {
        for (let c = 0; c < channels; c++) {
          const centered = dys[at + c] - (sumDy[c] + xHat[at + c] * sumDyXHat[c]) / count;
          dx[at + c] = centered * g[c] * inverse[c];
        }
      }
      return [
        tf.tensor(dx, input.shape),
        tf.tensor1d(Float32Array.from(sumDyXHat)),
        tf.tensor1d(Float32Array.from(sumDy)),
      ];
    };
    return { value: tf.tensor(ys, input.shape), gradFunc };
  });
  const output = normalize(x, gamma, beta);
  return {
    output,
    mean: tf.tensor1d(Float32Array.from(statistics.mean)),
    variance: tf.tensor1d(Float32Array.from(statistics.variance)),
  };
}

let blasCalls = 0;

/** How many batch normalizations ran their passes in BLAS (native_batch_norm.ts) so far. */
export function blasBatchNormCalls(): number {
  return blasCalls;
}

// normalizeBatch's forward and gradient with every per-channel pass a BLAS product: the same
// formulas, with the centered input xc = x - mean kept instead of xHat = xc / sigma.
function normalizeWithBlas(
  blas: Blas,
  input: tf.Tensor,
  { xs, g, b, epsilon }: {
    xs: Float32Array;
    g: ArrayLike<number>;
    b: ArrayLike<number>;
    epsilon: number;
  },
  statistics: { mean: Float64Array; variance: Float64Array },
): { value: tf.Tensor; gradFunc: (dy: tf.Tensor) => tf.Tensor[] } {
  blasCalls++;
  const channels = g.length;
  const count = xs.length / channels;
  const { mean, variance } = statistics;
  const sums = channelSums(blas, xs, channels);
  for (let c = 0; c < channels; c++) mean[c] = sums[c] / count;
  const centered = new Float32Array(xs.length);
  const ones = new Float64Array(channels).fill(1);
  scaleAndShift(blas, centered, [{ values: xs, scale: ones }], mean.map((m) => -m));
  const squares = channelDots(blas, centered, centered, channels);
  const inverse = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    variance[c] = squares[c] / count;
    inverse[c] = 1 / Math.sqrt(variance[c] + epsilon);
  }
  const ys = new Float32Array(xs.length);
  scaleAndShift(blas, ys, [{ values: centered, scale: inverse.map((v, c) => v * g[c]) }], b);
  const gradFunc = (dy: tf.Tensor) => {
    const dys = dy.dataSync() as Float32Array;
    const sumDy = channelSums(blas, dys, channels);
    const sumDyCentered = channelDots(blas, dys, centered, channels);
    const sumDyXHat = sumDyCentered.map((v, c) => v * inverse[c]);
    // dx = (dy - (sumDy + xHat sumDyXHat) / N) g / sigma, by terms in dy, xc and a constant.
    const gain = inverse.map((v, c) => v * g[c]);
    const dx = new Float32Array(xs.length);
    scaleAndShift(
      blas,
      dx,
      [
        { values: dys, scale: gain },
        { values: centered, scale: gain.map((v, c) => -v * inverse[c] * sumDyXHat[c] / count) },
      ],
      gain.map((v, c) => -v * sumDy[c] / count),
    );
    return [tf.tensor(dx, input.shape), tf.tensor1d(sumDyXHat), tf.tensor1d(sumDy)];
  };
  return { value: tf.tensor(ys, input.shape), gradFunc };
}
