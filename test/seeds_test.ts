import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { findStoredResult } from "../lib/studies/experiment.ts";
import { makeConfig } from "../lib/training/config.ts";
import { loadExperimentData } from "../lib/studies/experiment.ts";
import { tCritical95 } from "../lib/studies/t_table.ts";
import { plotSeedSpread, SVG_NS } from "../lib/plots/mod.ts";
import {
  compareSpreads,
  compareWithInterval,
  formatSeedIntervals,
  formatSeedSpreads,
  meanInterval,
  runSeedStudy,
  type SeedRun,
  seedSpreads,
  seedStudyConfigs,
  spreadStats,
} from "../lib/studies/seeds.ts";

await initBackend("wasm");
const overrides = { trainSize: 128, testSize: 64, evalBatchSize: 64 };

Deno.test("spreadStats() gives the mean, sample standard deviation, standard error, min and max", () => {
  const stats = spreadStats([0.97, 0.99, 0.98]);
  assertEquals(stats.count, 3);
  assertAlmostEquals(stats.mean, 0.98, 1e-12);
  // Sample std: sqrt(((-0.01)^2 + 0.01^2 + 0) / (3 - 1)) = 0.01.
  assertAlmostEquals(stats.std, 0.01, 1e-12);
  assertAlmostEquals(stats.standardError, 0.01 / Math.sqrt(3), 1e-12);
  assertEquals([stats.min, stats.max], [0.97, 0.99]);

  const one = spreadStats([0.5]);
  assertEquals([one.mean, one.std, one.standardError, one.min, one.max], [0.5, 0, 0, 0.5, 0.5]);
  assertThrows(() => spreadStats([]), /needs at least one value/);
  assertThrows(() => spreadStats([0.9, NaN]), /needs finite numbers/);
});

Deno.test("seedSpreads() groups the runs by model, in the order asked, leaving out models without runs", () => {
  const runs: SeedRun[] = [
    { model: "a", seed: 0, accuracy: 0.9, cached: false },
    { model: "b", seed: 0, accuracy: 0.5, cached: false },
    { model: "a", seed: 1, accuracy: 0.8, cached: true },
    { model: "b", seed: 1, accuracy: 0.7, cached: false },
  ];
  const spreads = seedSpreads(runs, ["b", "a"]);
  assertEquals(spreads.map((s) => s.model), ["b", "a"]);
  assertEquals(spreads[0].accuracies, [0.5, 0.7]);
  assertAlmostEquals(spreads[1].mean, 0.85, 1e-12);
  assertAlmostEquals(spreads[1].std, Math.sqrt(0.005), 1e-12);
  assertEquals(seedSpreads(runs).map((s) => s.model), ["a", "b"]);
  // While a study runs, models without runs yet are left out.
  assertEquals(seedSpreads(runs.slice(0, 1), ["b", "a", "c"]).map((s) => s.model), ["a"]);
  assertEquals(seedSpreads([], ["a"]), []);
});

Deno.test("compareSpreads() calls a difference clear only beyond twice its standard error", () => {
  // Standard errors 0.001 and 0.002: the difference's is sqrt(0.001² + 0.002²) ≈ 0.00224.
  const a = { ...spreadStats([0.99]), mean: 0.990, standardError: 0.001 };
  const b = { ...spreadStats([0.99]), mean: 0.987, standardError: 0.002 };
  const close = compareSpreads(a, b);
  assertAlmostEquals(close.difference, 0.003, 1e-12);
  assertAlmostEquals(close.standardError, Math.sqrt(5e-6), 1e-12);
  assertEquals(close.clear, false); // 0.3 points < 2 x 0.224
  const far = compareSpreads({ ...a, mean: 0.995 }, b);
  assertEquals(far.clear, true); // 0.8 points > 0.45
  assertAlmostEquals(compareSpreads(b, { ...a, mean: 0.995 }).difference, -0.008, 1e-12);
});

Deno.test("formatSeedSpreads() tabulates mean, spread and range in percent", () => {
  const [row] = seedSpreads([
    { model: "pytorch", seed: 0, accuracy: 0.97, cached: true },
    { model: "pytorch", seed: 1, accuracy: 0.99, cached: true },
  ]);
  const lines = formatSeedSpreads([row]).split("\n");
  assertEquals(lines.length, 3);
  assertEquals(lines[2], "| pytorch | 2 | 98.00% | 1.41 points | 97.00% | 99.00% | 2.00 points |");
});

Deno.test("runSeedStudy() trains each model once per seed, then reads every run from the store", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const tensorsBefore = tf.memory().numTensors;
    const started: string[] = [];
    const study = await runSeedStudy(["small-net"], [0, 1, 2], {
      preset: "smoke",
      overrides,
      resultsDir,
      onRunStart: (run) => {
        started.push(`${run.index}/${run.total} ${run.model} seed ${run.seed}`);
      },
    });
    assertEquals(tf.memory().numTensors, tensorsBefore, "runSeedStudy() leaks tensors");
    assertEquals(started, ["1/3 small-net seed 0", "2/3 small-net seed 1", "3/3 small-net seed 2"]);
    assertEquals(study.runs.map((run) => [run.seed, run.cached]), [[0, false], [1, false], [
      2,
      false,
    ]]);
    // Each run is stored under its own seed, as runExperiment stores it, on the fixed data.
    for (const run of study.runs) {
      const config = makeConfig("small-net", {
        preset: "smoke",
        overrides: { ...overrides, seed: run.seed, dataSeed: 0 },
      });
      const stored = await findStoredResult(config, { resultsDir });
      assertEquals(stored?.history.at(-1)?.testAccuracy, run.accuracy);
    }
    assertEquals(study.spreads.length, 1);
    assertEquals(study.spreads[0].accuracies, study.runs.map((run) => run.accuracy));
    assertEquals(study.spreads[0].mean, spreadStats(study.spreads[0].accuracies).mean);

    const again = await runSeedStudy(["small-net"], [0, 1, 2], {
      preset: "smoke",
      overrides,
      resultsDir,
    });
    assert(again.runs.every((run) => run.cached));
    assertEquals(again.spreads, study.spreads);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("runSeedStudy() rejects no models, no seeds, repeated seeds and unknown models at once", async () => {
  await assertRejects(() => runSeedStudy([], [0]), /at least one model/);
  await assertRejects(() => runSeedStudy(["small-net"], []), /at least one seed/);
  await assertRejects(() => runSeedStudy(["small-net"], [1, 1]), /seeds must differ, got 1, 1/);
  await assertRejects(
    () => runSeedStudy(["small-net", "tiny-net"], [0], { preset: "smoke" }),
    /Unknown model "tiny-net"/,
  );
});

Deno.test("plotSeedSpread() draws a dot per seed, the mean and the spread of each model", () => {
  const spreads = seedSpreads([
    { model: "pytorch", seed: 0, accuracy: 0.989, cached: true },
    { model: "pytorch", seed: 1, accuracy: 0.991, cached: true },
    { model: "pytorch", seed: 2, accuracy: 0.990, cached: true },
    { model: "small-net", seed: 0, accuracy: 0.95, cached: true },
    { model: "small-net", seed: 1, accuracy: 0.96, cached: true },
    { model: "small-net", seed: 2, accuracy: 0.95, cached: true },
  ]);
  const svg = plotSeedSpread(spreads);
  const html = svg.outerHTML;
  assert(
    html.startsWith("<svg ") && html.slice(0, html.indexOf(">")).includes(`xmlns="${SVG_NS}"`),
  );
  for (const bad of ["NaN", "undefined", "Infinity"]) assert(!html.includes(bad), bad);
  assertEquals([...svg.querySelectorAll('g[aria-label="dot"] circle')].length, 6);
  assertEquals([...svg.querySelectorAll('g[aria-label="tick"] line')].length, 2);
  const texts = [...svg.querySelectorAll("text")].map((t) => t.textContent);
  assert(texts.includes("99.00% ± 0.10 (3 seeds)"), texts.join("|"));
  assert(texts.includes("95.33% ± 0.58 (3 seeds)"), texts.join("|"));
});

Deno.test("a seed study keeps the data fixed: every seed trains and tests on the same images", async () => {
  const configs = seedStudyConfigs(["small-net"], [0, 1, 2], { preset: "smoke" });
  const flat = configs.map(([config]) => config);
  assertEquals(flat.map((config) => config.seed), [0, 1, 2]);
  // All 10,000 test images; the data seed is 0, left out where it equals the seed (seed 0).
  assertEquals(flat.map((config) => config.testSize), [10_000, 10_000, 10_000]);
  assertEquals(flat.map((config) => config.dataSeed), [undefined, 0, 0]);
  const [a, b] = await Promise.all(flat.slice(0, 2).map((config) => loadExperimentData(config)));
  assertEquals(a.train.labels, b.train.labels);
  assertEquals(a.train.images.slice(0, 784 * 4), b.train.images.slice(0, 784 * 4));
  assertEquals(a.test.labels, b.test.labels);
  // The old study, where each seed drew its own images, is still there when asked for.
  const mixed = seedStudyConfigs(["small-net"], [0, 1], { preset: "smoke", fixedData: false });
  assertEquals(mixed.map(([config]) => [config.testSize, config.dataSeed]), [
    [256, undefined],
    [256, undefined],
  ]);
  const [c, d] = await Promise.all(mixed.map(([config]) => loadExperimentData(config)));
  assert(c.train.labels.some((label, i) => label !== d.train.labels[i]), "seeds 0, 1 differ");
});

Deno.test("a dataSeed equal to the seed is left out, so stored results keep their keys", () => {
  assertEquals(makeConfig("pytorch", { overrides: { seed: 2, dataSeed: 2 } }), {
    ...makeConfig("pytorch", { overrides: { seed: 2 } }),
  });
  assert(!("dataSeed" in makeConfig("pytorch")));
  assertThrows(() => makeConfig("pytorch", { overrides: { dataSeed: -1 } }), /dataSeed must be/);
});

Deno.test("tCritical95() reads Student's t table: 12.71 for 1 degree, 4.30 for 2, 1.96 for many", () => {
  assertEquals(tCritical95(1), 12.706);
  assertEquals(tCritical95(2), 4.303);
  assertEquals(tCritical95(30), 2.042);
  assertEquals(tCritical95(35), 2.042); // between entries: the larger (cautious) value
  assertEquals(tCritical95(60), 2.0);
  assertEquals(tCritical95(5000), 1.96);
  assertThrows(() => tCritical95(0), /at least 1/);
});

Deno.test("meanInterval() is mean ± t(n - 1) x standard error, wider than ± 2 SE for 3 seeds", () => {
  const stats = spreadStats([0.97, 0.99, 0.98]);
  const interval = meanInterval(stats);
  assertEquals(interval.degreesOfFreedom, 2);
  assertAlmostEquals(interval.halfWidth, 4.303 * 0.01 / Math.sqrt(3), 1e-12);
  assertAlmostEquals(interval.low, 0.98 - interval.halfWidth, 1e-12);
  assert(interval.halfWidth > 2 * stats.standardError);
  assert(Number.isNaN(meanInterval(spreadStats([0.5])).halfWidth));
});

Deno.test("compareWithInterval() calls clear only what a Welch t interval keeps away from 0", () => {
  const a = spreadStats([0.990, 0.991, 0.992]); // SE 0.000577
  const b = spreadStats([0.986, 0.987, 0.988]);
  const far = compareWithInterval(a, b);
  assertAlmostEquals(far.difference, 0.004, 1e-12);
  assertEquals(far.degreesOfFreedom, 4); // equal spreads, 3 + 3 runs: 4 degrees
  assertEquals(far.tCritical, 2.776);
  assertEquals(far.clear, true);
  // 2 SE would call this one clear; the t interval (t = 2.78) does not.
  const close = compareWithInterval(a, spreadStats([0.988, 0.989, 0.990]));
  assert(Math.abs(close.difference) > 2 * close.standardError);
  assertEquals(close.clear, false);
  assertThrows(() => compareWithInterval(spreadStats([0.9]), b), /at least 2 runs/);
});

Deno.test("formatSeedIntervals() shows the t interval and the test set's own standard error", () => {
  const [row] = seedSpreads([
    { model: "pytorch", seed: 0, accuracy: 0.97, cached: true, testImages: 10_000 },
    { model: "pytorch", seed: 1, accuracy: 0.99, cached: true, testImages: 10_000 },
  ]);
  assertEquals(row.testImages, 10_000);
  const lines = formatSeedIntervals([row]).split("\n");
  // n = 2: t = 12.71, SE = 0.01 -> ± 12.71 points; binomial SE at 98% on 10,000: 0.14 points.
  assertEquals(
    lines[2],
    "| pytorch | 2 | 98.00% | 85.29% to 110.71% (± 12.71 points, t = 12.71) | 1.41 points | " +
      "10,000 | 0.14 points |",
  );
});
