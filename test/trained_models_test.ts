import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { MNIST_TEST_SIZE } from "../lib/data/mnist.ts";
import { MODEL_NAMES, registerModel } from "../lib/models/registry.ts";
import { REPRODUCTION_DIR } from "../lib/studies/reproduction.ts";
import { trainedModels } from "../lib/notebook/trained_models.ts";

await initBackend("wasm");

function registerTiny(name: string) {
  return registerModel({
    name,
    title: name,
    description: "a throwaway dense net for this test",
    color: "#123456",
    build: () =>
      tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [28, 28, 1] }),
          tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.zeros() }),
        ],
      }),
  });
}

Deno.test("trainedModels() gives the committed full-schedule runs on all 10,000 test images", async () => {
  const unregister = registerTiny("tiny-not-reproduced");
  try {
    const trained = await trainedModels(MODEL_NAMES, "smoke");
    assertEquals(trained.fullSchedule, true);
    assertEquals(trained.resultsDir, REPRODUCTION_DIR);
    assertEquals(trained.test.count, MNIST_TEST_SIZE);
    assertEquals(
      trained.results.map((r) => r.config.model),
      MODEL_NAMES.filter((name) => name !== "tiny-not-reproduced"),
    );
    for (const result of trained.results) {
      assertEquals(result.config.numEpochs, 20);
      assertEquals(result.config.testSize, MNIST_TEST_SIZE);
    }
    assertMatch(trained.label, /full schedule .* 10,000 test images/);
    assertMatch(trained.label, /not yet run on it: tiny-not-reproduced/);
  } finally {
    unregister();
  }
});

Deno.test("trainedModels() falls back to the preset's short runs and says they are half-trained", async () => {
  const unregister = registerTiny("tiny-short-run");
  const resultsDir = await Deno.makeTempDir();
  try {
    const trained = await trainedModels(["tiny-short-run"], "smoke", {
      resultsDir,
      memoryBatchSizes: [],
      showStored: false,
    });
    assertEquals(trained.fullSchedule, false);
    assertEquals(trained.resultsDir, resultsDir);
    assertEquals(trained.results.length, 1);
    assertEquals(trained.test.count, trained.results[0].config.testSize);
    assertMatch(trained.label, /smoke.*half-trained/);
    assert(!trained.label.includes("10,000"), trained.label);
  } finally {
    unregister();
    await Deno.remove(resultsDir, { recursive: true });
  }
});
