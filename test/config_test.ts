import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  ARTICLE_CONFIG,
  checkConfig,
  learningRateAt,
  makeConfig,
  MNIST_TEST_SIZE,
  MNIST_TRAIN_SIZE,
  PRESET_NAMES,
  PRESETS,
  type TrainConfig,
} from "../lib/training/config.ts";
import { MODEL_NAMES } from "../lib/models/registry.ts";

// The article's schedule, written out by hand rather than read back from lib/config.ts.
const ARTICLE_SCHEDULE = {
  numEpochs: 20,
  batchSize: 16,
  learningRate: 5e-3,
  learningRateDrops: [
    { fromEpoch: 11, learningRate: 5e-4 },
    { fromEpoch: 16, learningRate: 5e-5 },
  ],
  momentum: 0.9,
  nesterov: true,
  trainSize: 60_000,
  testSize: 10_000,
};

Deno.test("the article preset is the article's schedule: 20 epochs, batch 16, SGD lr 5e-3 with Nesterov 0.9", () => {
  const config = makeConfig("small-net", { preset: "article" });
  const { model, seed: _seed, evalBatchSize: _evalBatchSize, ...schedule } = config;
  assertEquals(model, "small-net");
  assertEquals(schedule, ARTICLE_SCHEDULE);
  assertEquals(MNIST_TRAIN_SIZE, 60_000);
  assertEquals(MNIST_TEST_SIZE, 10_000);
});

Deno.test("makeConfig() uses the article preset when no preset is named", () => {
  assertEquals(makeConfig("pytorch"), makeConfig("pytorch", { preset: "article" }));
  assertEquals(makeConfig("pytorch"), { ...ARTICLE_CONFIG, model: "pytorch" });
});

Deno.test("learningRateAt() follows the article: 5e-3 to epoch 10, 5e-4 to epoch 15, 5e-5 after", () => {
  const config = makeConfig("small-net");
  const expected: [number, number][] = [
    [1, 5e-3],
    [10, 5e-3],
    [11, 5e-4],
    [15, 5e-4],
    [16, 5e-5],
    [20, 5e-5],
  ];
  assertEquals(
    expected.map(([epoch]) => [epoch, learningRateAt(config, epoch)]),
    expected,
  );
});

Deno.test("learningRateAt() keeps the starting rate when there are no drops", () => {
  const config = makeConfig("small-net", {
    overrides: { learningRate: 0.1, learningRateDrops: [] },
  });
  assertEquals([1, 20, 1000].map((epoch) => learningRateAt(config, epoch)), [0.1, 0.1, 0.1]);
});

Deno.test("the quick and smoke presets shrink the run but keep the article's learning rate, batch and momentum", () => {
  const article = makeConfig("keras-cnn");
  for (const preset of ["quick", "smoke"]) {
    const config = makeConfig("keras-cnn", { preset });
    assertEquals(config, { ...article, ...PRESETS[preset] }, preset);
    assertEquals(config.learningRate, 5e-3, preset);
    assertEquals(config.batchSize, 16, preset);
    assertEquals(config.momentum, 0.9, preset);
    assertEquals(config.nesterov, true, preset);
    assertEquals(config.learningRateDrops, ARTICLE_SCHEDULE.learningRateDrops, preset);
    assert(config.trainSize < MNIST_TRAIN_SIZE, `${preset} uses fewer training images`);
    assert(config.numEpochs < 20, `${preset} runs fewer epochs`);
  }
  const quick = makeConfig("keras-cnn", { preset: "quick" });
  assertEquals([quick.trainSize, quick.testSize, quick.numEpochs], [6000, 2000, 2]);
});

Deno.test("every preset makes a valid config for every model", () => {
  for (const preset of PRESET_NAMES) {
    for (const model of MODEL_NAMES) {
      assertEquals(makeConfig(model, { preset }).model, model);
    }
  }
});

Deno.test("overrides win over the preset and the preset over the article", () => {
  const config = makeConfig("pytorch", {
    preset: "quick",
    overrides: { batchSize: 64, seed: 3, trainSize: 1000 },
  });
  assertEquals(config.batchSize, 64);
  assertEquals(config.seed, 3);
  assertEquals(config.trainSize, 1000);
  assertEquals(config.testSize, 2000); // from quick
  assertEquals(config.learningRate, 5e-3); // from the article
});

Deno.test("an override of undefined keeps the preset's value", () => {
  const config = makeConfig("pytorch", {
    preset: "quick",
    overrides: { batchSize: undefined, trainSize: undefined, numEpochs: undefined },
  });
  assertEquals(config.batchSize, 16);
  assertEquals(config.trainSize, 6000);
  assertEquals(config.numEpochs, 2);
});

Deno.test("the model name cannot be overridden away", () => {
  const config = makeConfig("pytorch", {
    overrides: { model: "keras-mlp" } as Partial<TrainConfig>,
  });
  assertEquals(config.model, "pytorch");
});

Deno.test({
  name:
    "editing one config's learning-rate drops leaves the article preset and later configs alone",
  fn() {
    const first = makeConfig("small-net");
    const original = structuredClone(first.learningRateDrops);
    try {
      first.learningRateDrops[0].learningRate = 1;
      first.learningRateDrops[0].fromEpoch = 2;
      assertEquals(ARTICLE_CONFIG.learningRateDrops, ARTICLE_SCHEDULE.learningRateDrops);
      assertEquals(makeConfig("small-net").learningRateDrops, ARTICLE_SCHEDULE.learningRateDrops);
    } finally {
      // Undo the damage so the other tests in this file still see the article's schedule.
      Object.assign(first.learningRateDrops[0], original[0]);
    }
  },
});

Deno.test("pushing a drop onto one config leaves the article preset alone", () => {
  const config = makeConfig("small-net");
  config.learningRateDrops.push({ fromEpoch: 19, learningRate: 1e-6 });
  assertEquals(ARTICLE_CONFIG.learningRateDrops.length, 2);
  assertEquals(makeConfig("small-net").learningRateDrops.length, 2);
});

// --- Rejections: each one before any work starts, naming the setting and the bad value.

const BAD_INTEGERS: [string, number][] = [
  ["0", 0],
  ["a negative", -16],
  ["a fractional", 16.5],
  ["a NaN", NaN],
];

for (const field of ["batchSize", "numEpochs"] as const) {
  for (const [what, value] of BAD_INTEGERS) {
    Deno.test(`makeConfig() rejects ${what} ${field} before any work starts`, () => {
      assertThrows(
        () => makeConfig("small-net", { overrides: { [field]: value } }),
        new RegExp(`^Error: ${field} must be a positive integer, got ${value}$`),
      );
    });
  }
}

Deno.test("makeConfig() rejects a trainSize above MNIST's 60,000 and says the limit", () => {
  assertThrows(
    () => makeConfig("small-net", { overrides: { trainSize: 60_001 } }),
    /trainSize 60001 is larger than the 60000 that MNIST has; use at most 60000/,
  );
  assertEquals(makeConfig("small-net", { overrides: { trainSize: 60_000 } }).trainSize, 60_000);
});

Deno.test("makeConfig() rejects a testSize above MNIST's 10,000 and says the limit", () => {
  assertThrows(
    () => makeConfig("small-net", { overrides: { testSize: 10_001 } }),
    /testSize 10001 is larger than the 10000 that MNIST has; use at most 10000/,
  );
  assertThrows(
    () => makeConfig("small-net", { overrides: { testSize: 0 } }),
    /testSize must be a positive integer, got 0/,
  );
});

Deno.test("makeConfig() rejects a batch larger than the training set", () => {
  assertThrows(
    () => makeConfig("small-net", { overrides: { trainSize: 100, batchSize: 128 } }),
    /batchSize 128 is larger than trainSize 100; use a smaller batch or more training images/,
  );
  // A batch of exactly the training set is one full-batch step per epoch, which is fine.
  assertEquals(
    makeConfig("small-net", { overrides: { trainSize: 128, batchSize: 128 } }).batchSize,
    128,
  );
});

Deno.test("makeConfig() rejects a batch larger than a preset's training set", () => {
  assertThrows(
    () => makeConfig("small-net", { preset: "smoke", overrides: { batchSize: 1024 } }),
    /batchSize 1024 is larger than trainSize 512/,
  );
});

Deno.test("makeConfig() rejects an unknown preset and lists the presets", () => {
  assertThrows(
    () => makeConfig("small-net", { preset: "huge" }),
    /Unknown preset "huge"; choose one of: article, quick, smoke/,
  );
  // Inherited object keys are not presets.
  assertThrows(() => makeConfig("small-net", { preset: "toString" }), /Unknown preset/);
});

Deno.test("makeConfig() rejects an unknown model and lists the models", () => {
  assertThrows(
    () => makeConfig("resnet"),
    /Unknown model "resnet"; choose one of: keras-mlp, keras-cnn, pytorch, pytorch-gap, small-net/,
  );
});

const BAD_LEARNING_RATES: [string, number][] = [
  ["a NaN", NaN],
  ["a negative", -5e-3],
  ["a zero", 0],
  ["an infinite", Infinity],
];

for (const [what, value] of BAD_LEARNING_RATES) {
  Deno.test(`makeConfig() rejects ${what} learning rate`, () => {
    assertThrows(
      () => makeConfig("small-net", { overrides: { learningRate: value } }),
      new RegExp(`learningRate must be a positive number, got ${value}`),
    );
  });
}

Deno.test("makeConfig() rejects a NaN learning rate inside a drop", () => {
  assertThrows(
    () =>
      makeConfig("small-net", {
        overrides: { learningRateDrops: [{ fromEpoch: 11, learningRate: NaN }] },
      }),
    /learningRateDrops\[\]\.learningRate must be a positive number, got NaN/,
  );
});

Deno.test("makeConfig() rejects momentum 1 and negative momentum, and accepts 0", () => {
  assertThrows(
    () => makeConfig("small-net", { overrides: { momentum: 1 } }),
    /momentum must be in \[0, 1\), got 1/,
  );
  assertThrows(
    () => makeConfig("small-net", { overrides: { momentum: -0.1 } }),
    /momentum must be in \[0, 1\), got -0.1/,
  );
  assertThrows(
    () => makeConfig("small-net", { overrides: { momentum: NaN } }),
    /momentum must be in \[0, 1\), got NaN/,
  );
  assertEquals(makeConfig("small-net", { overrides: { momentum: 0 } }).momentum, 0);
});

Deno.test("makeConfig() rejects learning-rate drops out of epoch order", () => {
  assertThrows(
    () =>
      makeConfig("small-net", {
        overrides: {
          learningRateDrops: [
            { fromEpoch: 16, learningRate: 5e-5 },
            { fromEpoch: 11, learningRate: 5e-4 },
          ],
        },
      }),
    /learningRateDrops must start after epoch 1 and be in increasing epoch order, got fromEpoch 11 after 16/,
  );
});

Deno.test("makeConfig() rejects two drops at the same epoch and a drop at epoch 1", () => {
  const drops = (fromEpochs: number[]) => ({
    overrides: {
      learningRateDrops: fromEpochs.map((fromEpoch) => ({ fromEpoch, learningRate: 1e-4 })),
    },
  });
  assertThrows(() => makeConfig("small-net", drops([11, 11])), /got fromEpoch 11 after 11/);
  assertThrows(() => makeConfig("small-net", drops([1])), /got fromEpoch 1 after 1/);
  assertThrows(
    () => makeConfig("small-net", drops([2.5])),
    /learningRateDrops\[\]\.fromEpoch must be a positive integer, got 2.5/,
  );
});

Deno.test("makeConfig() rejects a negative or fractional seed", () => {
  assertThrows(
    () => makeConfig("small-net", { overrides: { seed: -1 } }),
    /seed must be a non-negative integer, got -1/,
  );
  assertThrows(
    () => makeConfig("small-net", { overrides: { seed: 0.5 } }),
    /seed must be a non-negative integer, got 0.5/,
  );
});

Deno.test("checkConfig() returns a valid config unchanged and rejects a hand-edited bad one", () => {
  const config = makeConfig("small-net", { preset: "smoke" });
  assert(checkConfig(config) === config);
  assertThrows(
    () => checkConfig({ ...config, evalBatchSize: 0 }),
    /evalBatchSize must be a positive integer, got 0/,
  );
  assertThrows(() => checkConfig({ ...config, model: "lenet" }), /Unknown model "lenet"/);
});
