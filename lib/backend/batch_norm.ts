/**
 * Keras' BatchNormalization in training mode as one op. tf.js builds it from moments (mean,
 * variance), a FusedBatchNorm kernel and the moving-average updates, and its gradient from
 * ~60 kernels over the full-size input: a quarter of Small Net's training step. The batch
 * statistics and the closed-form gradient take two passes each: on wasm in the SIMD loops on
 * the heap, else per-channel BLAS products (native path) or JS loops over copies.
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
import { heapOffset, type SimdLoops, simdLoops, withHeapBlock } from "./simd.ts";
import { wasmHeap } from "./native_matmul.ts";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

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
    const simd = tf.getBackend() === "wasm" ? simdLoops(tf.backend() as BackendWasm) : undefined;
    if (simd !== undefined && input.dtype === "float32") {
      const save = args[3] as tf.GradSaveFunc;
      return normalizeWithSimd(simd, input, gammaInput, betaInput, epsilon, statistics, save);
    }
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
let simdCalls = 0;

/** How many batch normalizations ran in the SIMD loops (simd.wat) so far. */
export function simdBatchNormCalls(): number {
  return simdCalls;
}

// normalizeBatch's forward and gradient on the tensors where they lie, in the wasm heap, with
// the SIMD loops: sums and sums of products per channel in double precision, then one scale
// and shift pass; y = x * s + (beta - mean * s) with s = gamma / sigma, and
// dx = dy * s + x * k + (-k * mean - s * sum(dy) / N), k = -s / sigma * sum(dy * xHat) / N.
function normalizeWithSimd(
  simd: SimdLoops,
  input: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
  statistics: { mean: Float64Array; variance: Float64Array },
  save: tf.GradSaveFunc,
): { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] } {
  simdCalls++;
  const backend = tf.backend() as BackendWasm;
  const g = gamma.dataSync();
  const b = beta.dataSync();
  const channels = g.length;
  const length = input.size;
  const count = length / channels;
  const { mean, variance } = statistics;
  return withChannelPasses(backend, simd, channels, (passes) => {
    mean.set(passes.sums(input));
    for (let c = 0; c < channels; c++) mean[c] /= count;
    const squares = passes.centeredDots(input, input, mean);
    const inverse = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      variance[c] = squares[c] / count;
      inverse[c] = 1 / Math.sqrt(variance[c] + epsilon);
    }
    const scale = inverse.map((v, c) => v * g[c]);
    const y = passes.affine(
      input,
      scale,
      input,
      scale.map(() => 0),
      scale.map((s, c) => b[c] - mean[c] * s),
    );
    save([input]);
    const gradFunc = (dy: tf.Tensor, [x]: tf.Tensor[]) =>
      withChannelPasses(backend, simd, channels, (backward) => {
        const sumDy = backward.sums(dy);
        const sumDyXHat = backward.centeredDots(dy, x, mean).map((v, c) => v * inverse[c]);
        const k = scale.map((s, c) => -s * inverse[c] * sumDyXHat[c] / count);
        const shift = k.map((kc, c) => -kc * mean[c] - scale[c] * sumDy[c] / count);
        const dx = backward.affine(dy, scale, x, k, shift);
        return [
          dx,
          tf.tensor1d(Float32Array.from(sumDyXHat)),
          tf.tensor1d(Float32Array.from(sumDy)),
        ];
      });
    return { value: y, gradFunc };
  });
}

function withChannelPasses<T>(
  backend: BackendWasm,
  simd: SimdLoops,
  channels: number,
  use: (passes: ChannelPasses) => T,
): T {
  const period = ChannelPasses.periodFor(channels);
  return withHeapBlock(backend, period * 20, (scratch) => {
    return use(new ChannelPasses(backend, simd, channels, period, scratch));
  });
}

// Per-channel numbers repeated to a period of lcm(channels, 4) floats in a scratch block of
// the wasm heap, for the SIMD loops' "periodic" passes over channels-innermost tensors.
class ChannelPasses {
  /** lcm(channels, 4): the period that keeps every channel's numbers 4-aligned. */
  static periodFor(channels: number): number {
    return channels % 4 === 0 ? channels : channels % 2 === 0 ? 2 * channels : 4 * channels;
  }

  // `scratch`: 3 periods of floats (scales and shift), then one of doubles (sums).
  constructor(
    readonly backend: BackendWasm,
    readonly simd: SimdLoops,
    readonly channels: number,
    readonly period: number,
    readonly scratch: number,
  ) {}

  /** The sum of each channel. */
  sums(x: tf.Tensor): Float64Array {
    const acc = this.#zeroedSums();
    this.simd.periodicSums(heapOffset(this.backend, x), x.size, acc, this.period);
    return this.#fold();
  }

  /** Per channel, the sum of a * (b - mean). */
  centeredDots(a: tf.Tensor, b: tf.Tensor, mean: ArrayLike<number>): Float64Array {
    const acc = this.#zeroedSums();
    const at = this.#repeat(0, mean);
    const { backend } = this;
    this.simd.periodicCenteredDots(
      heapOffset(backend, a),
      heapOffset(backend, b),
      at,
      a.size,
      acc,
      this.period,
    );
    return this.#fold();
  }

  /** x * sx + z * sz + shift, per channel, as a new tensor of x's shape. */
  affine(
    x: tf.Tensor,
    sx: ArrayLike<number>,
    z: tf.Tensor,
    sz: ArrayLike<number>,
    shift: ArrayLike<number>,
  ): tf.Tensor {
    const out = this.backend.makeOutput(x.shape, "float32");
    // Addresses after the allocation, which may have grown the heap.
    const [sxAt, szAt, shiftAt] = [
      this.#repeat(0, sx),
      this.#repeat(1, sz),
      this.#repeat(2, shift),
    ];
    const { backend } = this;
    this.simd.periodicAffine(
      heapOffset(backend, x),
      heapOffset(backend, z),
      heapOffset(backend, out),
      x.size,
      sxAt,
      szAt,
      shiftAt,
      this.period,
    );
    return tf.engine().makeTensorFromTensorInfo(out);
  }

  // Writes `values` (one per channel) repeated over the period into float block `block`.
  #repeat(block: number, values: ArrayLike<number>): number {
    const at = this.scratch + block * this.period * 4;
    const floats = new Float32Array(this.#heap(), at, this.period);
    for (let j = 0; j < this.period; j++) floats[j] = values[j % this.channels];
    return at;
  }

  #zeroedSums(): number {
    const at = this.scratch + 12 * this.period;
    new Float64Array(this.#heap(), at, this.period).fill(0);
    return at;
  }

  // The period's sums folded onto the channels.
  #fold(): Float64Array {
    const sums = new Float64Array(this.#heap(), this.scratch + 12 * this.period, this.period);
    const out = new Float64Array(this.channels);
    for (let j = 0; j < this.period; j++) out[j % this.channels] += sums[j];
    return out;
  }

  #heap(): ArrayBufferLike {
    return wasmHeap(this.backend).buffer;
  }
}

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
