import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertMatch,
  assertMaxRelativeError,
  assertRejects,
} from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { learningRateAt, makeConfig, type TrainConfig } from "../lib/training/config.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { buildModel, MODEL_NAMES } from "../lib/models/registry.ts";
import { deriveSeed, shuffledIndices } from "../lib/data/random.ts";
import {
  type Checkpoint,
  disposeOptimizer,
  type EpochMetrics,
  evaluateModel,
  trainModel,
} from "../lib/training/train.ts";

await initBackend("wasm");
const data = await loadMnist({ trainSize: 3000, testSize: 500, seed: 0 });
const tiny = {
  train: { ...data.train, count: 256, images: data.train.images.subarray(0, 256 * 784) },
  test: { ...data.test, count: 128, images: data.test.images.subarray(0, 128 * 784) },
};

function tinyConfig(model: string, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return makeConfig(model, {
    preset: "smoke",
    overrides: { trainSize: 256, testSize: 128, evalBatchSize: 128, ...overrides },
  });
}

// Timings differ run to run; everything else must repeat exactly.
function withoutTimes(history: EpochMetrics[]) {
  return history.map(({ trainSeconds: _, evalSeconds: __, ...rest }) => rest);
}

async function trainFresh(config: TrainConfig, examples = tiny) {
  const model = buildModel(config.model, { seed: config.seed });
  const history = await trainModel(model, examples, { config });
  return { model, history };
}

Deno.test("one epoch on 3,000 real images takes the pytorch net well above chance", async () => {
  const config = makeConfig("pytorch", {
    overrides: { trainSize: 3000, testSize: 500, numEpochs: 1 },
  });
  const { model, history } = await trainFresh(config, data);
  assertEquals(history.length, 1);
  assert(history[0].testAccuracy > 0.6, `accuracy ${history[0].testAccuracy} after one epoch`);
  assert(history[0].testLoss < 1.5, `test loss ${history[0].testLoss}`);
  model.dispose();
});

// The training step as plain tf.js writes it (model.apply, tf.losses.softmaxCrossEntropy,
// tf.train.momentum), over the batches and dropout seeds trainModel uses: the reference for
// its fused optimizer, loss and batch norm and its skipped input gradient.
function plainTfjsLosses(config: TrainConfig, examples = tiny): number[] {
  const model = buildModel(config.model, { seed: config.seed });
  const optimizer = tf.train.momentum(config.learningRate, config.momentum, config.nesterov);
  const dropouts = model.layers.filter((layer) => layer.getClassName() === "Dropout");
  const losses: number[] = [];
  for (let epoch = 1; epoch <= config.numEpochs; epoch++) {
    optimizer.setLearningRate(learningRateAt(config, epoch));
    const order = shuffledIndices(examples.train.count, deriveSeed(config.seed, 1, epoch));
    for (let from = 0; from < examples.train.count; from += config.batchSize) {
      const batch = from / config.batchSize;
      const indices = Array.from(order.subarray(from, from + config.batchSize));
      dropouts.forEach((layer, i) => {
        (layer as unknown as { seed: number }).seed = deriveSeed(config.seed, epoch, batch, i);
      });
      const cost = tf.tidy(() => {
        const images = indices.flatMap((i) =>
          Array.from(examples.train.images.subarray(i * 784, (i + 1) * 784))
        );
        const xs = tf.tensor4d(images, [indices.length, 28, 28, 1]);
        const labels = indices.map((i) => examples.train.labels[i]);
        const ys = tf.oneHot(tf.tensor1d(labels, "int32"), 10);
        return optimizer.minimize(
          () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor),
          true,
          model.trainableWeights.map((weight) => weight.read() as tf.Variable),
        )!;
      });
      losses.push(cost.dataSync()[0]);
      cost.dispose();
    }
  }
  disposeOptimizer(optimizer);
  model.dispose();
  return losses;
}

for (const name of MODEL_NAMES) {
  Deno.test(`trainModel() gives ${name} the losses of a plain tf.js training loop`, async () => {
    const config = tinyConfig(name, { trainSize: 128, numEpochs: 2 });
    const few = { ...tiny, train: { ...tiny.train, count: 128 } };
    const expected = plainTfjsLosses(config, few);
    const model = buildModel(name, { seed: config.seed });
    const losses: number[] = [];
    await trainModel(model, few, { config, onBatch: ({ loss }) => void losses.push(loss) });
    model.dispose();
    assertEquals(losses.length, expected.length);
    // Float rounding differs (the fused steps compute in double precision), nothing else.
    losses.forEach((loss, i) => {
      assert(
        Math.abs(loss - expected[i]) < 1e-5 * Math.abs(expected[i]),
        `step ${i}: ${loss} vs ${expected[i]}`,
      );
    });
  });
}

Deno.test("the same seed gives the same loss curve, dropout included; another seed does not", async () => {
  const config = tinyConfig("pytorch", { numEpochs: 2 });
  const first = await trainFresh(config);
  const second = await trainFresh(config);
  const other = await trainFresh({ ...config, seed: 1 });
  assertEquals(withoutTimes(second.history), withoutTimes(first.history));
  assert(other.history[1].trainLoss !== first.history[1].trainLoss);
  [first, second, other].forEach(({ model }) => model.dispose());
});

Deno.test("a run resumed from an epoch's checkpoint ends exactly where an uninterrupted run does", async () => {
  const config = tinyConfig("pytorch", { numEpochs: 3 });
  const straight = await trainFresh(config);

  let saved: Checkpoint | undefined;
  const interrupted = buildModel(config.model, { seed: config.seed });
  await assertRejects(
    () =>
      trainModel(interrupted, tiny, {
        config,
        onEpoch: (metrics, checkpoint) => {
          if (metrics.epoch === 1) saved = checkpoint();
          if (metrics.epoch === 2) throw new Error("power cut");
        },
      }),
    /power cut/,
  );
  interrupted.dispose();

  const tensorsBefore = tf.memory().numTensors;
  const resumed = buildModel(config.model, { seed: 99 }); // its own weights are overwritten
  const history = await trainModel(resumed, tiny, { config, resumeFrom: saved });
  assertEquals(withoutTimes(history), withoutTimes(straight.history));
  const weightsOf = (model: tf.LayersModel) =>
    model.getWeights().map((w) => Array.from(w.dataSync()));
  assertEquals(weightsOf(resumed), weightsOf(straight.model));
  const savedTensors = [
    ...Object.values(saved!.modelWeights),
    ...Object.values(saved!.optimizerWeights),
  ];
  tf.dispose(savedTensors);
  resumed.dispose();
  assertEquals(
    tf.memory().numTensors,
    tensorsBefore - savedTensors.length,
    "resuming leaks nothing",
  );
  straight.model.dispose();
});

Deno.test("a NaN loss stops the run with a message that says where and what to do", async () => {
  const images = tiny.train.images.slice();
  images[5] = NaN;
  const poisoned = { train: { ...tiny.train, images }, test: tiny.test };
  const config = tinyConfig("small-net");
  const model = buildModel("small-net");
  const batches: number[] = [];
  await assertRejects(
    () => trainModel(model, poisoned, { config, onBatch: ({ batch }) => void batches.push(batch) }),
    /Training diverged: the loss became NaN at epoch 1, batch \d+ .*Lower the learning rate/,
  );
  assert(batches.length < 16, "the run stopped at the bad batch, not at the end of the epoch");
  model.dispose();
});

Deno.test("trainModel() reports every batch and epoch and leaks no tensors", async () => {
  const config = tinyConfig("small-net", { numEpochs: 2, batchSize: 32 });
  const model = buildModel("small-net");
  const before = tf.memory().numTensors;
  let batches = 0;
  const epochs: number[] = [];
  await trainModel(model, tiny, {
    config,
    onBatch: ({ numBatches, loss }) => {
      assertEquals(numBatches, 8);
      assert(Number.isFinite(loss));
      batches++;
    },
    onEpoch: (metrics) => void epochs.push(metrics.epoch),
  });
  assertEquals(batches, 16);
  assertEquals(epochs, [1, 2]);
  assertEquals(tf.memory().numTensors, before);
  model.dispose();
});

Deno.test("training updates BatchNorm's moving statistics and follows the learning-rate drops", async () => {
  const config = tinyConfig("small-net", {
    numEpochs: 3,
    learningRateDrops: [{ fromEpoch: 2, learningRate: 1e-3 }, { fromEpoch: 3, learningRate: 1e-4 }],
  });
  const model = buildModel("small-net");
  const movingMean = () => Array.from(model.getLayer("batch_norm").getWeights()[2].dataSync());
  const initial = movingMean();
  const history = await trainModel(model, tiny, { config });
  assertEquals(history.map((epoch) => epoch.learningRate), [5e-3, 1e-3, 1e-4]);
  assert(movingMean().some((value, i) => value !== initial[i]));
  model.dispose();
});

Deno.test("evaluateModel() agrees with predictions counted by hand", () => {
  const model = buildModel("pytorch-gap", { seed: 3 });
  const { accuracy, loss } = evaluateModel(model, tiny.test, { batchSize: 50 });
  const logits = tf.tidy(() =>
    (model.predict(tf.tensor4d(tiny.test.images, [tiny.test.count, 28, 28, 1])) as tf.Tensor2D)
      .arraySync()
  );
  let correct = 0;
  let lossSum = 0;
  logits.forEach((row, i) => {
    const best = row.indexOf(Math.max(...row));
    if (best === tiny.test.labels[i]) correct++;
    const logSumExp = Math.log(row.reduce((sum, value) => sum + Math.exp(value), 0));
    lossSum += logSumExp - row[tiny.test.labels[i]];
  });
  assertEquals(accuracy, correct / tiny.test.count);
  assert(
    Math.abs(loss - lossSum / tiny.test.count) < 1e-5,
    `${loss} vs ${lossSum / tiny.test.count}`,
  );
  model.dispose();
});

// What this compares (the cpu backend is pure JavaScript, ~2 s per Small Net step): a short
// run, 2 epochs of 2 steps with a learning-rate drop between them, not a whole training run.
Deno.test("wasm and cpu backends agree on a short run: loss per step, test metrics per epoch and final weights, to 1e-4", async () => {
  const config = tinyConfig("small-net", {
    trainSize: 32,
    testSize: 64,
    evalBatchSize: 64,
    numEpochs: 2,
    learningRateDrops: [{ fromEpoch: 2, learningRate: 1e-3 }],
  });
  const few = {
    train: { ...tiny.train, count: 32, images: tiny.train.images.subarray(0, 32 * 784) },
    test: { ...tiny.test, count: 64, images: tiny.test.images.subarray(0, 64 * 784) },
  };
  const curves: Record<string, number[]> = {};
  const histories: Record<string, EpochMetrics[]> = {};
  const weights: Record<string, number[]> = {};
  for (const backend of ["cpu", "wasm"] as const) {
    await initBackend(backend);
    const losses: number[] = [];
    const model = buildModel("small-net");
    histories[backend] = await trainModel(model, few, {
      config,
      onBatch: ({ loss }) => void losses.push(loss),
    });
    curves[backend] = losses;
    weights[backend] = model.getWeights().flatMap((w) => Array.from(w.dataSync()));
    model.dispose();
  }
  await initBackend("wasm");
  assertEquals(curves.cpu.length, 4);
  curves.cpu.forEach((loss, i) => {
    assert(
      Math.abs(loss - curves.wasm[i]) < 1e-4 * Math.abs(loss),
      `step ${i}: ${loss} vs ${curves.wasm[i]}`,
    );
  });
  assertEquals(histories.wasm.map((e) => e.learningRate), [5e-3, 1e-3]);
  histories.cpu.forEach((epoch, i) => {
    const other = histories.wasm[i];
    assertAlmostEquals(other.testLoss, epoch.testLoss, 1e-4 * epoch.testLoss, `epoch ${i + 1}`);
    assertEquals(other.testAccuracy, epoch.testAccuracy, `epoch ${i + 1}'s test accuracy`);
  });
  assertMaxRelativeError(weights.wasm, weights.cpu, 1e-4, "final weights");
});

Deno.test("trainModel() rejects a checkpoint made for another model", async () => {
  const config = tinyConfig("small-net");
  const other = buildModel("pytorch-gap");
  const modelWeights: tf.NamedTensorMap = {};
  for (const weight of other.weights) modelWeights[weight.originalName] = weight.read();
  const model = buildModel("small-net");
  const error = await trainModel(model, tiny, {
    config,
    resumeFrom: { history: [], modelWeights, optimizerWeights: {} },
  }).catch((e) => e);
  assertMatch(String(error), /checkpoint does not fit this model/);
  model.dispose();
  other.dispose();
});
