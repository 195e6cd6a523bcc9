import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { makeConfig, type TrainConfig } from "../lib/training/config.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { buildModel } from "../lib/models/registry.ts";
import { resultKey } from "../lib/training/results.ts";
import { type Checkpoint, type EpochMetrics, trainModel } from "../lib/training/train.ts";

await initBackend("wasm");
// 249 images in batches of 16: the main thread takes 9 of each 16 and 6 of the last 9.
const data = await loadMnist({ trainSize: 249, testSize: 128, seed: 0 });

function config(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return makeConfig("small-net", {
    preset: "smoke",
    overrides: { trainSize: 249, testSize: 128, evalBatchSize: 128, ...overrides },
  });
}

// No dropout and no batch norm: one batch's gradient is then the same on one or two workers,
// up to float rounding. A conv (whose input gradient is skipped) and a dense layer.
const plainConvNet = () =>
  tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 4,
        kernelSize: 3,
        activation: "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });

const withoutTimes = (history: EpochMetrics[]) =>
  history.map(({ trainSeconds: _, evalSeconds: __, ...rest }) => rest);
const weightsOf = (model: tf.LayersModel) =>
  model.getWeights().map((w) => Array.from(w.dataSync()));

Deno.test("two workers train like one, within float rounding, odd last batch included", async () => {
  const one = plainConvNet();
  const two = plainConvNet();
  const options = { learningRate: 0.05, numEpochs: 2 };
  const single = await trainModel(one, data, { config: config(options) });
  const parallel = await trainModel(two, data, { config: config({ ...options, workers: 2 }) });
  assert(single[1].trainLoss < single[0].trainLoss * 0.7, "the model learns at all");
  for (const [i, epoch] of single.entries()) {
    assertAlmostEquals(parallel[i].trainLoss, epoch.trainLoss, 1e-4);
    assertAlmostEquals(parallel[i].testLoss, epoch.testLoss, 1e-4);
  }
  const [a, b] = [weightsOf(one), weightsOf(two)];
  for (const [i, weight] of a.entries()) {
    const worst = weight.reduce((max, value, j) => Math.max(max, Math.abs(value - b[i][j])), 0);
    assert(worst < 1e-4, `weight ${i} differs by ${worst}`);
  }
  one.dispose();
  two.dispose();
});

Deno.test("with two workers, dropout masks stay seeded: the same run twice is identical", async () => {
  const run = async () => {
    const model = buildModel("pytorch", { seed: 0 });
    const history = await trainModel(model, data, { config: config({ workers: 2 }) });
    const weights = weightsOf(model);
    model.dispose();
    return { history: withoutTimes(history), weights };
  };
  const [first, second] = [await run(), await run()];
  assertEquals(second, first);
});

Deno.test("a two-worker run resumed from a checkpoint ends where an uninterrupted one does", async () => {
  const settings = config({ workers: 2, numEpochs: 2 });
  const straight = buildModel("pytorch", { seed: 0 });
  const straightHistory = await trainModel(straight, data, { config: settings });
  let saved: Checkpoint | undefined;
  const interrupted = buildModel("pytorch", { seed: 0 });
  await assertRejects(
    () =>
      trainModel(interrupted, data, {
        config: settings,
        onEpoch: (_, checkpoint) => {
          saved = checkpoint();
          throw new Error("power cut");
        },
      }),
    /power cut/,
  );
  const resumed = buildModel("pytorch", { seed: 7 });
  const history = await trainModel(resumed, data, { config: settings, resumeFrom: saved });
  assertEquals(withoutTimes(history), withoutTimes(straightHistory));
  assertEquals(weightsOf(resumed), weightsOf(straight));
  [straight, interrupted, resumed].forEach((model) => model.dispose());
  tf.dispose([...Object.values(saved!.modelWeights), ...Object.values(saved!.optimizerWeights)]);
});

Deno.test("two workers refuse batch norm, which would see half batches", async () => {
  const model = buildModel("small-net");
  await assertRejects(
    () => trainModel(model, data, { config: config({ workers: 2 }) }),
    Error,
    "batch norm",
  );
  model.dispose();
});

Deno.test("workers: 1 keeps the stored results' keys; other counts are refused", async () => {
  const plain = config();
  assertEquals(
    await resultKey(config({ workers: 1 }), "wasm"),
    await resultKey(plain, "wasm"),
  );
  assert(await resultKey(config({ workers: 2 }), "wasm") !== await resultKey(plain, "wasm"));
  assertThrows(() => config({ workers: 3 }), Error, "workers must be 1 or 2");
});

// A layer the worker cannot rebuild: registered in this thread only.
class HalfScale extends tf.layers.Layer {
  static className = "HalfScale";
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? inputs[0] : inputs, 0.5);
  }
}
tf.serialization.registerClass(HalfScale);

Deno.test("a worker that fails stops training with a message that names it", async () => {
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1] }),
      new HalfScale({}),
      tf.layers.dense({ units: 10 }),
    ],
  });
  const before = tf.memory().numTensors;
  await assertRejects(
    () => trainModel(model, data, { config: config({ workers: 2 }) }),
    /Gradient worker failed: .*HalfScale/,
  );
  assertEquals(tf.memory().numTensors, before, "the failed start leaks nothing");
  model.dispose();
});
