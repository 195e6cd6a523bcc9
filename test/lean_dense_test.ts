import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { loadBlas } from "../lib/backend/blas.ts";
import { leanDenseGradients, useLeanSteps } from "../lib/backend/lean_dense.ts";
import { useNativeKernels } from "../lib/backend/native_kernels.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { buildModel } from "../lib/models/registry.ts";
import { batchGradients, setDropoutSeeds } from "../lib/training/train.ts";
import { assert, assertEquals, assertMaxRelativeError, assertThrows } from "./assert.ts";

// The lean step runs on the native path only; blas_test.ts covers a machine without the BLAS.
const ignore = loadBlas().blas === undefined;
const data = await loadMnist({ trainSize: 16, testSize: 16, seed: 0 });
const targets = new Float32Array(16 * 10);
data.train.labels.forEach((label, i) => (targets[i * 10 + label] = 1));

interface Result {
  loss: number;
  gradients: Float32Array[];
}

// The lean step's result, or the tape path's (train.ts batchGradients) on the current backend.
function gradientsOf(model: tf.LayersModel, size: number, lean: boolean): Result | undefined {
  if (lean) {
    const result = leanDenseGradients(model, data.train.images, targets, size);
    if (result === undefined) return undefined;
    const gradients = result.gradients.map((g) => g.dataSync() as Float32Array);
    tf.dispose(result.gradients);
    return { loss: result.loss, gradients };
  }
  const { loss, gradients } = batchGradients(model, data.train.images, targets, size);
  const result = {
    loss: loss.dataSync()[0],
    gradients: gradients.map((g) => g.dataSync() as Float32Array),
  };
  tf.dispose([loss, ...gradients]);
  return result;
}

function assertSameGradients(actual: Result, expected: Result, tolerance: number, label: string) {
  assertMaxRelativeError([actual.loss], [expected.loss], tolerance, `${label}: loss`);
  assertEquals(actual.gradients.length, expected.gradients.length);
  actual.gradients.forEach((gradient, i) =>
    assertMaxRelativeError(gradient, expected.gradients[i], tolerance, `${label}: gradient ${i}`)
  );
}

for (const size of [16, 5]) {
  Deno.test({
    name:
      `The lean dense step's loss and gradients match the tape path's and cpu's (batch ${size})`,
    ignore,
    fn: async () => {
      await initBackend("wasm");
      const model = buildModel("keras-mlp", { seed: 2 });
      const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
      let lean: Result | undefined;
      try {
        setDropoutSeeds(model, [7, 8]);
        const tensorsBefore = tf.memory().numTensors;
        const buffersBefore = tf.engine().backend.numDataIds();
        lean = gradientsOf(model, size, true);
        assert(lean !== undefined, "the lean step ran for keras-mlp");
        assertEquals(tf.memory().numTensors, tensorsBefore, "tensors left by the lean step");
        assertEquals(tf.engine().backend.numDataIds(), buffersBefore, "wasm buffers left");
        // The same products in the same BLAS: only the bias sums round differently.
        assertSameGradients(lean, gradientsOf(model, size, false)!, 1e-6, "tape path");
        // Dropout drew its mask from the seed: another seed, another loss.
        setDropoutSeeds(model, [9, 10]);
        assert(gradientsOf(model, size, true)!.loss !== lean.loss, "another seed, another loss");
      } finally {
        model.dispose();
      }
      // cpu: the same weights and dropout seeds through tf.js' own ops.
      await initBackend("cpu");
      const reference = buildModel("keras-mlp", { seed: 0 });
      try {
        reference.setWeights(
          weights.map((w, i) => tf.tensor(w, reference.weights[i].shape as number[])),
        );
        setDropoutSeeds(reference, [7, 8]);
        assertSameGradients(lean, gradientsOf(reference, size, false)!, 1e-4, "cpu");
      } finally {
        reference.dispose();
        await initBackend("wasm");
      }
    },
  });
}

Deno.test({
  name: "The lean dense step declines what it does not compute, and the tape path runs",
  ignore,
  fn: async () => {
    await initBackend("wasm");
    const dense = (options: Parameters<typeof tf.layers.dense>[0] | object = {}) =>
      tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [28, 28, 1] }),
          tf.layers.dense({ units: 8, activation: "relu", ...options }),
          tf.layers.dense({ units: 10 }),
        ],
      });
    const cases: [string, () => tf.LayersModel][] = [
      ["a conv net", () => buildModel("small-net")],
      ["dropout without a seed", () => buildModel("keras-mlp")],
      ["a sigmoid layer", () => dense({ activation: "sigmoid" })],
      ["an L2 regularizer", () => dense({ kernelRegularizer: tf.regularizers.l2() })],
      ["a frozen layer", () => dense({ trainable: false })],
      ["softmax logits", () =>
        tf.sequential({
          layers: [tf.layers.dense({ inputShape: [784], units: 10, activation: "softmax" })],
        })],
    ];
    for (const [label, build] of cases) {
      const model = build();
      try {
        assertEquals(gradientsOf(model, 4, true), undefined, label);
      } finally {
        model.dispose();
      }
    }
    // A dense layer without a bias runs; off the native path or turned off, nothing does.
    const model = dense({ useBias: false });
    try {
      const lean = gradientsOf(model, 3, true);
      assert(lean !== undefined, "a dense net without a bias runs lean");
      assertSameGradients(lean, gradientsOf(model, 3, false)!, 1e-6, "no bias");
      model.layers[1].trainable = false;
      assertEquals(gradientsOf(model, 3, true), undefined, "a layer frozen since");
      model.layers[1].trainable = true;
      useLeanSteps(false);
      assertEquals(gradientsOf(model, 3, true), undefined, "turned off");
      useLeanSteps(true);
      useNativeKernels(false);
      assertEquals(gradientsOf(model, 3, true), undefined, "native kernels off");
    } finally {
      useLeanSteps(true);
      useNativeKernels(true);
      model.dispose();
    }
  },
});

Deno.test({
  name: "The lean dense step names a short batch, and a NaN weight gives a NaN loss",
  ignore,
  fn: async () => {
    await initBackend("wasm");
    const model = buildModel("keras-mlp", { seed: 0 });
    try {
      setDropoutSeeds(model, [1, 2]);
      assertThrows(
        () => leanDenseGradients(model, data.train.images.subarray(0, 784), targets, 2),
        Error,
        "a batch of 2 needs 1568 image values and 20 targets, got 784 and 160",
      );
      assertThrows(
        () => leanDenseGradients(model, data.train.images, targets, 0),
        Error,
        "batch of 0",
      );
      // A NaN weight (0 * NaN is NaN: every image reaches it) makes the loss NaN, on which
      // the training loop stops with an error (train.ts).
      const [kernel, ...rest] = model.getWeights();
      const poisoned = kernel.dataSync().slice();
      poisoned[0] = NaN;
      model.setWeights([tf.tensor(poisoned, kernel.shape), ...rest]);
      const buffersBefore = tf.engine().backend.numDataIds();
      const { loss, gradients } = leanDenseGradients(model, data.train.images, targets, 4)!;
      tf.dispose(gradients);
      assert(Number.isNaN(loss), `loss ${loss} with a NaN weight`);
      assertEquals(tf.engine().backend.numDataIds(), buffersBefore, "wasm buffers left");
    } finally {
      model.dispose();
    }
  },
});
