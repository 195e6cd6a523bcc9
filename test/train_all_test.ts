import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import type { JupyterDisplay } from "../lib/notebook/display.ts";
import { trainAll } from "../lib/notebook/train_all.ts";

await initBackend("wasm");
const overrides = { trainSize: 64, testSize: 64, evalBatchSize: 64 };

function countingJupyter(): { jupyter: JupyterDisplay; ids: Set<string | undefined> } {
  const ids = new Set<string | undefined>();
  return {
    ids,
    jupyter: {
      display(_bundle, options) {
        ids.add(options?.display_id);
        return Promise.resolve();
      },
    },
  };
}

Deno.test("trainAll() trains one outcome per model, then reads every one back from the store", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const models = ["small-net", "pytorch-gap"];
    const tensorsBefore = tf.memory().numTensors;
    const first = countingJupyter();
    const trained = await trainAll(models, "smoke", {
      overrides,
      resultsDir,
      jupyter: first.jupyter,
    });
    assertEquals(Object.keys(trained), models);
    for (const name of models) {
      assertEquals(trained[name].cached, false, name);
      assertEquals(trained[name].result.config.model, name);
      assertEquals(trained[name].result.config.numEpochs, 1, "the smoke preset's");
      assertEquals(trained[name].result.config.trainSize, 64, "the override");
    }
    assertEquals(first.ids.size, models.length, "one live output per model");
    assertEquals(tf.memory().numTensors, tensorsBefore);

    const again = await trainAll(models, "smoke", {
      overrides,
      resultsDir,
      jupyter: countingJupyter().jupyter,
      showStored: false,
    });
    assertEquals(Object.keys(again), models);
    for (const name of models) {
      assert(again[name].cached, `${name} is read from the store`);
      assertEquals(again[name].result.key, trained[name].result.key);
      assertEquals(again[name].result.history, trained[name].result.history);
    }
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("trainAll() rejects an unknown or twice-listed model before training any", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => trainAll(["small-net", "no-such-net"], "smoke", { overrides, resultsDir }),
      /Unknown model "no-such-net"; choose one of: .*small-net/,
    );
    await assertRejects(
      () => trainAll(["small-net", "small-net"], "smoke", { overrides, resultsDir }),
      /Model "small-net" is listed twice; list each model once/,
    );
    assertEquals([...Deno.readDirSync(resultsDir)], [], "nothing was trained");
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});
