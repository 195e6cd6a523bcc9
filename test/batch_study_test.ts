import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import {
  BATCH_STUDY_SIZES,
  batchSizesFor,
  batchStudyConfig,
  formatBatchComparison,
  formatBatchStudy,
  runBatchStudy,
  scaledLearningRate,
} from "../lib/studies/batch_study.ts";
import { plotBatchStudy, SVG_NS } from "../lib/plots/mod.ts";

await initBackend("wasm");
const overrides = { trainSize: 128, testSize: 64, evalBatchSize: 64 };

Deno.test("scaledLearningRate() follows the linear rule from 5e-3 at batch 16, capped at 0.1", () => {
  assertAlmostEquals(scaledLearningRate(16), 5e-3, 1e-15);
  assertAlmostEquals(scaledLearningRate(64), 0.02, 1e-15);
  assertAlmostEquals(scaledLearningRate(256), 0.08, 1e-15);
  assertAlmostEquals(scaledLearningRate(320), 0.1, 1e-15);
  assertEquals(scaledLearningRate(8192), 0.1);
  assertAlmostEquals(scaledLearningRate(8), 2.5e-3, 1e-15);
  assertAlmostEquals(scaledLearningRate(8192, { maxLearningRate: Infinity }), 2.56, 1e-12);
});

Deno.test("scaledLearningRate() also knows the square-root rule and a constant rate", () => {
  assertAlmostEquals(scaledLearningRate(64, { rule: "sqrt" }), 0.01, 1e-15);
  assertAlmostEquals(scaledLearningRate(1024, { rule: "sqrt" }), 0.04, 1e-15);
  const uncapped = scaledLearningRate(8192, { rule: "sqrt", maxLearningRate: 1 });
  assertAlmostEquals(uncapped, 5e-3 * Math.sqrt(512), 1e-12);
  assertEquals(scaledLearningRate(8192, { rule: "sqrt" }), 0.1);
  assertEquals(scaledLearningRate(4096, { rule: "constant" }), 5e-3);
  assertAlmostEquals(
    scaledLearningRate(128, { baseLearningRate: 0.01, baseBatchSize: 32 }),
    0.04,
    1e-15,
  );
});

Deno.test("scaledLearningRate() rejects a bad batch size, rule or rate with a clear error", () => {
  assertThrows(() => scaledLearningRate(0), /batchSize must be a positive integer, got 0/);
  assertThrows(() => scaledLearningRate(16.5), /batchSize must be a positive integer/);
  assertThrows(
    () => scaledLearningRate(16, { rule: "cubic" as "linear" }),
    /Unknown learning rate rule "cubic"; use "linear", "sqrt" or "constant"/,
  );
  assertThrows(() => scaledLearningRate(16, { maxLearningRate: 0 }), /maxLearningRate must be/);
  assertThrows(() => scaledLearningRate(16, { baseBatchSize: -1 }), /baseBatchSize must be/);
});

Deno.test("batchStudyConfig() scales the starting rate and the schedule's drops alike", () => {
  const config = batchStudyConfig("pytorch", 64, { preset: "article" });
  assertEquals(config.batchSize, 64);
  assertAlmostEquals(config.learningRate, 0.02, 1e-15);
  assertEquals(config.learningRateDrops.map((d) => d.fromEpoch), [11, 16]);
  assertAlmostEquals(config.learningRateDrops[0].learningRate, 2e-3, 1e-15);
  assertAlmostEquals(config.learningRateDrops[1].learningRate, 2e-4, 1e-15);
  // The quick preset trains on 8,192 images, so that one batch of 8192 fits.
  const quick = batchStudyConfig("small-net", 8192);
  assertEquals([quick.trainSize, quick.batchSize, quick.learningRate], [8192, 8192, 0.1]);
  assertThrows(
    () => batchStudyConfig("small-net", 1024, { preset: "smoke" }),
    /batchSize 1024 is larger than trainSize 512/,
  );
});

Deno.test("batchSizesFor() gives 16 to 8192 where they fit, fewer on the smoke preset", () => {
  assertEquals(batchSizesFor("quick"), [...BATCH_STUDY_SIZES]);
  assertEquals(batchSizesFor("article"), [16, 128, 1024, 8192]);
  assertEquals(batchSizesFor("smoke"), [16, 64, 256]);
});

Deno.test("formatBatchStudy() tabulates steps, seconds and accuracy, and marks diverged runs", () => {
  const table = formatBatchStudy([
    {
      model: "pytorch",
      batchSize: 16,
      learningRate: 5e-3,
      trainSecondsPerEpoch: 10,
      trainSecondsPerFullEpoch: 104.95,
      accuracy: 0.9735,
      diverged: false,
      cached: true,
    },
    {
      model: "pytorch",
      batchSize: 8192,
      learningRate: 0.1,
      trainSecondsPerEpoch: NaN,
      trainSecondsPerFullEpoch: NaN,
      accuracy: NaN,
      diverged: true,
      cached: false,
    },
  ]);
  const rows = table.split("\n");
  assertEquals(rows.length, 4);
  assertEquals(rows[2], "| pytorch | 16 | 0.005 | 3,750 | 105.0 | 97.35% |");
  assertEquals(rows[3], "| pytorch | 8192 | 0.1 | 8 | – | diverged |");
});

Deno.test("runBatchStudy() times each batch size, stores the runs and reads them back", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const tensorsBefore = tf.memory().numTensors;
    const runs = await runBatchStudy(["small-net"], [16, 128], {
      preset: "smoke",
      overrides,
      resultsDir,
    });
    assertEquals(tf.memory().numTensors, tensorsBefore, "runBatchStudy() leaks tensors");
    assertEquals(runs.map((r) => [r.batchSize, r.learningRate, r.diverged, r.cached]), [
      [16, 5e-3, false, false],
      [128, 0.04, false, false],
    ]);
    for (const run of runs) {
      assert(run.trainSecondsPerEpoch > 0 && run.accuracy >= 0 && run.accuracy <= 1);
      assertAlmostEquals(run.trainSecondsPerFullEpoch, run.trainSecondsPerEpoch * 60_000 / 128);
    }
    const again = await runBatchStudy(["small-net"], [16, 128], {
      preset: "smoke",
      overrides,
      resultsDir,
    });
    assertEquals(again, runs.map((run) => ({ ...run, cached: true })));
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("runBatchStudy() records a run that diverges instead of failing, and remembers it", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const options = {
      preset: "smoke",
      overrides: { ...overrides, learningRate: 1e9 },
      scaling: { rule: "constant" as const, maxLearningRate: Infinity },
      resultsDir,
    };
    const [run] = await runBatchStudy(["small-net"], [16], options);
    assertEquals([run.diverged, run.cached, run.learningRate], [true, false, 1e9]);
    assert(Number.isNaN(run.accuracy));
    const [again] = await runBatchStudy(["small-net"], [16], options);
    assertEquals([again.diverged, again.cached], [true, true]);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("runBatchStudy() checks every config before training anything", async () => {
  await assertRejects(() => runBatchStudy([], [16]), /at least one model/);
  await assertRejects(() => runBatchStudy(["small-net"], []), /at least one batch size/);
  await assertRejects(
    () => runBatchStudy(["small-net"], [16, 1024], { preset: "smoke" }),
    /batchSize 1024 is larger than trainSize 512/,
  );
});

Deno.test("plotBatchStudy() draws time and accuracy against the batch, and lists diverged runs", () => {
  const runs = [16, 256, 8192].flatMap((batchSize, i) =>
    ["pytorch", "small-net"].map((model) => ({
      model,
      batchSize,
      trainSecondsPerFullEpoch: 100 / (i + 1),
      accuracy: 0.9 - i * 0.3,
      diverged: model === "pytorch" && batchSize === 8192,
    }))
  );
  const svg = plotBatchStudy(runs);
  const html = svg.outerHTML;
  assert(
    html.startsWith("<svg ") && html.slice(0, html.indexOf(">")).includes(`xmlns="${SVG_NS}"`),
  );
  for (const bad of ["NaN", "undefined", "Infinity"]) assert(!html.includes(bad), bad);
  // Two panels, each with a dot per run that did not diverge.
  assertEquals([...svg.querySelectorAll('g[aria-label="dot"] circle')].length, 2 * 5);
  const texts = [...svg.querySelectorAll("text")].map((t) => t.textContent ?? "");
  for (const tick of ["16", "256", "8192"]) assert(texts.includes(tick), tick);
  assert(texts.some((t) => t.includes("batch size (log scale)")));
  assert(texts.join(" ").includes("Diverged (not drawn): pytorch at 8192"), texts.join("|"));
});

Deno.test("runBatchStudy() at equal epochs reports steps taken, the rule, and repeated step times", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const tensorsBefore = tf.memory().numTensors;
    const study = (scaling: { rule: "linear" | "constant" }) =>
      runBatchStudy(["small-net"], [16, 128], { preset: "smoke", overrides, resultsDir, scaling });
    const unscaled = await study({ rule: "constant" });
    const scaled = await study({ rule: "linear" });
    assertEquals(tf.memory().numTensors, tensorsBefore, "step timing leaks tensors");
    // 128 images, 1 epoch: 8 steps at batch 16, 1 at 128, whatever the learning rate.
    assertEquals(unscaled.map((r) => [r.rule, r.learningRate, r.numEpochs, r.steps]), [
      ["constant", 5e-3, 1, 8],
      ["constant", 5e-3, 1, 1],
    ]);
    assertEquals(scaled.map((r) => [r.rule, r.learningRate, r.capped, r.steps]), [
      ["linear", 5e-3, false, 8],
      ["linear", 0.04, false, 1],
    ]);
    // Batch 16 is the same run either way: read back, not trained twice.
    assertEquals(scaled[0].cached, true);
    for (const run of [...unscaled, ...scaled]) {
      const step = run.stepTiming!;
      assertEquals([step.warmups, step.repeats, step.seconds.length], [1, 5, 5]);
      assert(step.minSeconds <= step.medianSeconds && step.medianSeconds <= step.maxSeconds);
      const perEpoch = Math.ceil(60_000 / run.batchSize);
      assertAlmostEquals(run.epochTiming!.medianSeconds, step.medianSeconds * perEpoch, 1e-9);
    }
    const table = formatBatchComparison([...unscaled, scaled[1]]).split("\n");
    assertEquals(table.length, 5);
    assert(table[3].startsWith("| small-net | 128 | 0.005 | unscaled | 1 | 1 | "), table[3]);
    assert(table[4].startsWith("| small-net | 128 | 0.04 | linear | 1 | 1 | "), table[4]);
    assert(/median of 5\) \| \d+\.\d\d% \|$/.test(table[4]), table[4]);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("a rate held by the cap is marked capped: linear scaling stops at 0.1 from batch 320", () => {
  const run = {
    model: "pytorch",
    batchSize: 8192,
    learningRate: 0.1,
    trainSecondsPerEpoch: NaN,
    trainSecondsPerFullEpoch: NaN,
    accuracy: 0.9,
    diverged: false,
    cached: true,
    rule: "linear" as const,
    capped: true,
    numEpochs: 5,
    steps: 5,
  };
  assertEquals(
    formatBatchComparison([run]).split("\n")[2],
    "| pytorch | 8192 | 0.1 | linear (capped) | 5 | 5 | – | 90.00% |",
  );
});
