import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import {
  buildModel,
  checkModelName,
  MODEL_NAMES,
  MODEL_REGISTRY,
  modelColor,
  type ModelEntry,
  registerModel,
} from "../lib/models/registry.ts";
import type { BuildOptions } from "../lib/models/builders.ts";
import { formatSummary, summarizeModel } from "../lib/models/summary.ts";
import { makeConfig } from "../lib/training/config.ts";
import { runExperiment } from "../lib/studies/experiment.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import {
  comparisonRows,
  formatArticleComparison,
  formatComparison,
  formatTradeOffs,
} from "../lib/measure/report.ts";
import { reproductionModels } from "../lib/studies/reproduction.ts";
import { plotAccuracyVsParams, plotCostBars, svgToString } from "../lib/plots/mod.ts";

await initBackend("wasm");

const THE_FIVE = ["keras-mlp", "keras-cnn", "pytorch", "pytorch-gap", "small-net"];
const NAME = "tiny-test-net";
const COLOR = "#123abc"; // no registered or fallback colour

// A throwaway sixth model, built here and nowhere in lib/: flatten, dense 10 (7,850 weights).
function buildTinyTestNet(options: BuildOptions = {}): tf.Sequential {
  return tf.sequential({
    name: NAME,
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1], name: "flatten" }),
      tf.layers.dense({
        units: 10,
        name: "logits",
        kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed ?? 0 }),
      }),
    ],
  });
}

const TINY: ModelEntry = {
  name: NAME,
  title: "Tiny test net",
  description: "one dense layer on the raw pixels, registered by a test",
  build: buildTinyTestNet,
  color: COLOR,
};

Deno.test("a sixth model registered once is taken by summaries, charts, tables and the reproduction", async () => {
  const resultsDir = await Deno.makeTempDir();
  const unregister = registerModel(TINY);
  try {
    assertEquals(MODEL_NAMES, [...THE_FIVE, NAME]);
    assertEquals(checkModelName(NAME), NAME);

    // Summaries.
    const model = buildModel(NAME);
    const summary = summarizeModel(model);
    model.dispose();
    assertEquals([summary.trainableParams, summary.macs], [7850, 7840]);
    assertMatch(formatSummary(summary), /\*\*tiny-test-net\*\*/);
    assertMatch(formatSummary(summary), /\| logits \| Dense \| 10 \| 7,850 \|/);

    // Charts: its own colour, from the registry.
    assertEquals(modelColor(NAME), COLOR);
    const bars = svgToString(
      plotCostBars([{ model: NAME, value: 0.03 }, { model: "pytorch", value: 0.08 }], {
        title: "Weight size",
        unit: "MB",
      }),
    );
    assert(bars.includes(`fill="${COLOR}"`), "plotCostBars() draws the sixth model's bar");
    const scatter = svgToString(
      plotAccuracyVsParams([{ model: NAME, params: 7850, accuracy: 0.9 }]),
    );
    assert(scatter.includes(COLOR), "plotAccuracyVsParams() draws the sixth model's point");

    // Comparison tables, from a real (tiny) run of the whole train-measure-store path.
    const sizes = { trainSize: 64, testSize: 32, evalBatchSize: 32 };
    const configs = [NAME, "small-net"].map((name) =>
      makeConfig(name, { preset: "smoke", overrides: sizes })
    );
    const data = await loadMnist({ ...sizes, seed: 0 });
    const results = [];
    for (const config of configs) {
      const options = { data, resultsDir, memoryBatchSizes: [] };
      results.push((await runExperiment(config, options)).result);
    }
    const rows = comparisonRows(results);
    assertMatch(formatComparison(rows), /\n\| tiny-test-net \| 7,850 \| 7,840 \| [\d.]+% \|/);
    // No article figures for it: "-" beside ours.
    assertMatch(
      formatArticleComparison(rows),
      /\n\| tiny-test-net \| [\d.]+% \/ - \| 7,850 \/ - \| [\d.]+ \/ - \|/,
    );
    assertMatch(
      formatArticleComparison(rows),
      /\n\| small-net \| [\d.]+% \/ 96\.01% \| 518 \/ 518/,
    );
    assertMatch(formatTradeOffs(rows), /tiny-test-net/);

    // The reproduction's default list: every registered model, smallest first.
    assertEquals(reproductionModels(), [
      "small-net",
      "pytorch-gap",
      NAME,
      "pytorch",
      "keras-mlp",
      "keras-cnn",
    ]);
  } finally {
    unregister();
    await Deno.remove(resultsDir, { recursive: true });
  }
  assertEquals(MODEL_NAMES, THE_FIVE);
  assertEquals(MODEL_REGISTRY.map((entry) => entry.name), THE_FIVE);
  assertThrows(() => buildModel(NAME), /Unknown model "tiny-test-net"/);
});

Deno.test("the reproduction's default list is the five models, smallest first", () => {
  assertEquals(reproductionModels(), [
    "small-net",
    "pytorch-gap",
    "pytorch",
    "keras-mlp",
    "keras-cnn",
  ]);
});

Deno.test("registering a name that is taken is an error that leaves the registry as it was", () => {
  assertThrows(
    () => registerModel({ ...TINY, name: "small-net" }),
    /A model named "small-net" is already registered; pick another name/,
  );
  const unregister = registerModel(TINY);
  try {
    assertThrows(() => registerModel(TINY), /"tiny-test-net" is already registered/);
  } finally {
    unregister();
  }
  assertEquals(MODEL_NAMES, THE_FIVE);
  assertEquals(buildModel("small-net").name, "small-net");
});

Deno.test("an unknown model's error lists the known ones, a registered sixth among them", () => {
  const known =
    /Unknown model "lenet"; choose one of: keras-mlp, keras-cnn, pytorch, pytorch-gap, small-net/;
  assertThrows(() => buildModel("lenet"), known);
  assertThrows(() => checkModelName("lenet"), known);
  assertThrows(() => makeConfig("lenet"), known);
  const unregister = registerModel(TINY);
  try {
    assertThrows(() => buildModel("lenet"), /choose one of: .*small-net, tiny-test-net$/);
  } finally {
    unregister();
  }
});

Deno.test("a model registered at run time cannot have its memory measured in a child process, and says why", async () => {
  const resultsDir = await Deno.makeTempDir();
  const unregister = registerModel(TINY);
  try {
    const config = makeConfig(NAME, {
      preset: "smoke",
      overrides: { trainSize: 32, testSize: 16, evalBatchSize: 16 },
    });
    await assertRejects(
      () => runExperiment(config, { resultsDir }),
      /Cannot measure the training memory of "tiny-test-net" in a child process: .*add its entry to MODEL_REGISTRY/,
    );
  } finally {
    unregister();
    await Deno.remove(resultsDir, { recursive: true });
  }
});
