import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { buildModel } from "../lib/models/registry.ts";
import { makeConfig } from "../lib/training/config.ts";
import { resultKey } from "../lib/training/results.ts";
import { evaluateModel, trainModel } from "../lib/training/train.ts";
import { runExperiment } from "../lib/studies/experiment.ts";

await initBackend("wasm");
const SMALL = { trainSize: 256, testSize: 128, evalBatchSize: 128, numEpochs: 2 };

Deno.test("a run without a validation split keeps the key every stored result has", async () => {
  const plain = makeConfig("pytorch", { preset: "smoke" });
  const zero = makeConfig("pytorch", { preset: "smoke", overrides: { validationSize: 0 } });
  assertEquals("validationSize" in zero, false);
  assertEquals(await resultKey(zero, "wasm"), await resultKey(plain, "wasm"));
  const held = makeConfig("pytorch", { preset: "smoke", overrides: { validationSize: 500 } });
  assert(await resultKey(held, "wasm") !== await resultKey(plain, "wasm"));
});

Deno.test("checkConfig() refuses training and validation images that MNIST cannot hold", () => {
  assertThrows(
    () =>
      makeConfig("pytorch", {
        preset: "article",
        overrides: { validationSize: 5000 },
      }),
    Error,
    "add up to more than the 60000 training images",
  );
  assertThrows(
    () => makeConfig("pytorch", { preset: "smoke", overrides: { validationSize: -3 } }),
    Error,
    "validationSize must be a positive integer",
  );
});

Deno.test("training reports validation loss and accuracy each epoch, measured on the held-out images", async () => {
  const config = makeConfig("small-net", {
    preset: "smoke",
    overrides: { ...SMALL, validationSize: 200 },
  });
  const data = await loadMnist({ ...SMALL, seed: 0, validationSize: 200 });
  const model = buildModel("small-net");
  try {
    const history = await trainModel(model, data, { config });
    assertEquals(history.length, 2);
    for (const epoch of history) {
      assert(epoch.validationAccuracy! >= 0 && epoch.validationAccuracy! <= 1);
      assert(Number.isFinite(epoch.validationLoss));
    }
    const last = history[1];
    const again = evaluateModel(model, data.validation!, { batchSize: 128 });
    assertAlmostEquals(last.validationAccuracy!, again.accuracy, 1e-9);
    assertAlmostEquals(last.validationLoss!, again.loss, 1e-5);
  } finally {
    model.dispose();
  }
});

Deno.test("runExperiment() loads the validation split its config asks for and stores its curve", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const config = makeConfig("small-net", {
      preset: "smoke",
      overrides: { ...SMALL, validationSize: 100 },
    });
    const { result } = await runExperiment(config, { resultsDir, memoryBatchSizes: [] });
    assertEquals(result.config.validationSize, 100);
    assert(result.history.every((epoch) => epoch.validationAccuracy !== undefined));
    // Without a split in the config there is no validation curve.
    const plain = makeConfig("small-net", { preset: "smoke", overrides: SMALL });
    const { result: without } = await runExperiment(plain, { resultsDir, memoryBatchSizes: [] });
    assert(without.history.every((epoch) => epoch.validationAccuracy === undefined));
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});
