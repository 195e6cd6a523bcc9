import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import {
  applyBatchNormForTraining,
  blasBatchNormCalls,
  simdBatchNormCalls,
} from "../lib/backend/batch_norm.ts";
import { useSimdKernels } from "../lib/backend/simd.ts";
import { nativeKernelsActive, useNativeKernels } from "../lib/backend/native_kernels.ts";
import { createRandom } from "../lib/data/random.ts";
import { assert, assertEquals, assertMaxRelativeError } from "./assert.ts";

// Small Net's batch norm (PyTorch's defaults) on its input shape, Keras' defaults on a batch
// of 3 with a non-zero mean (7 channels: the SIMD loops' period is 28), and 16 channels.
const CASES = [
  { shape: [16, 26, 26, 5], momentum: 0.9, epsilon: 1e-5, offset: 0 },
  { shape: [3, 4, 4, 7], momentum: 0.99, epsilon: 1e-3, offset: 2 },
  { shape: [4, 7, 7, 16], momentum: 0.9, epsilon: 1e-5, offset: -1 },
];

// The layer's output, the gradients of a weighted sum of it with respect to the input, gamma
// and beta, and its moving statistics after the step: through `apply` (the layer's own call
// or applyBatchNormForTraining).
function trainingStep(
  apply: (layer: tf.layers.Layer, x: tf.Tensor) => tf.Tensor,
  { shape, momentum, epsilon, offset }: typeof CASES[number],
) {
  const next = createRandom(5);
  const random = (size: number, add = 0) => Array.from({ length: size }, () => next() + add);
  const channels = shape.at(-1)!;
  const layer = tf.layers.batchNormalization({ momentum, epsilon });
  layer.build(shape);
  // Non-trivial gamma, beta and moving statistics, the same on every run.
  tf.tidy(() =>
    layer.setWeights([
      tf.tensor1d(random(channels, 0.5)),
      tf.tensor1d(random(channels, -0.5)),
      tf.tensor1d(random(channels)),
      tf.tensor1d(random(channels, 1)),
    ])
  );
  const x = tf.tensor(random(tf.util.sizeFromShape(shape), offset), shape);
  const weights = tf.tensor(random(tf.util.sizeFromShape(shape), -0.5), shape);
  const [gamma, beta] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  let output: Float32Array | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const y = apply(layer, x);
    output = y.dataSync() as Float32Array;
    return tf.sum(tf.mul(y, weights));
  }, [gamma, beta]);
  const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(apply(layer, input), weights)))(x);
  const result = {
    output: output!,
    dx: dx.dataSync(),
    dGamma: grads[gamma.name].dataSync(),
    dBeta: grads[beta.name].dataSync(),
    // Two steps ran (variableGrads, then grad), each updating the moving statistics.
    movingMean: layer.getWeights()[2].dataSync(),
    movingVariance: layer.getWeights()[3].dataSync(),
  };
  tf.dispose([x, weights, dx, value, ...Object.values(grads)]);
  layer.weights.forEach((weight) => weight.dispose());
  return result;
}

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`applyBatchNormForTraining() matches the layer's training call on ${backend}`, async () => {
    await initBackend(backend);
    try {
      for (const testCase of CASES) {
        const expected = trainingStep(
          (layer, x) => layer.apply(x, { training: true }) as tf.Tensor,
          testCase,
        );
        const before = tf.memory().numTensors;
        const actual = trainingStep(
          (layer, x) => applyBatchNormForTraining(layer, x)!,
          testCase,
        );
        assertEquals(tf.memory().numTensors, before, "no tensors left behind");
        for (const key of Object.keys(expected) as (keyof typeof expected)[]) {
          assertMaxRelativeError(actual[key], expected[key], 1e-5, `${key} for ${testCase.shape}`);
        }
      }
    } finally {
      await initBackend("wasm");
    }
  });
}

Deno.test({
  name: "On wasm, batch norm runs in the SIMD loops, else in BLAS on the native path, else in JS",
  ignore: !(await initBackend("wasm").then(nativeKernelsActive)),
  fn: () => {
    const paths = [
      { simd: true, native: true, expect: "simd" },
      { simd: false, native: true, expect: "blas" },
      { simd: false, native: false, expect: "js" },
    ] as const;
    for (const { simd, native, expect } of paths) {
      useSimdKernels(simd);
      useNativeKernels(native);
      try {
        const before = { simd: simdBatchNormCalls(), blas: blasBatchNormCalls() };
        for (const testCase of CASES) {
          const expected = trainingStep(
            (layer, x) => layer.apply(x, { training: true }) as tf.Tensor,
            testCase,
          );
          const actual = trainingStep((layer, x) => applyBatchNormForTraining(layer, x)!, testCase);
          for (const key of Object.keys(expected) as (keyof typeof expected)[]) {
            assertMaxRelativeError(actual[key], expected[key], 1e-5, `${key}, ${expect}`);
          }
        }
        // Two normalizations per case (one under variableGrads, one under grad); the BLAS
        // passes take only the large case.
        assertEquals(
          simdBatchNormCalls() - before.simd,
          expect === "simd" ? 2 * CASES.length : 0,
          expect,
        );
        assertEquals(blasBatchNormCalls() - before.blas, expect === "blas" ? 2 : 0, expect);
      } finally {
        useSimdKernels(true);
        useNativeKernels(true);
      }
    }
  },
});

Deno.test("applyBatchNormForTraining() leaves other layers to their own call", async () => {
  await initBackend("wasm");
  const x = tf.ones([2, 4]);
  assert(applyBatchNormForTraining(tf.layers.dense({ units: 3 }), x) === undefined);
  const noScale = tf.layers.batchNormalization({ scale: false });
  assert(applyBatchNormForTraining(noScale, x) === undefined);
  x.dispose();
});
