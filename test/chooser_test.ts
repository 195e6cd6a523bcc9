import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import {
  budgetViolations,
  type Candidate,
  checkBudget,
  chooseForDevice,
  deploymentCandidates,
  formatChoice,
} from "../lib/studies/chooser.ts";
import { makeConfig } from "../lib/training/config.ts";
import type { DeploymentRow } from "../lib/measure/deploy.ts";
import { buildModel } from "../lib/models/registry.ts";
import { resultKey, saveResult } from "../lib/training/results.ts";
import { summarizeModel } from "../lib/models/summary.ts";
import { runScript } from "./cli_run.ts";

// The article's three first models with its accuracies and sizes; latencies made up.
const CANDIDATES: Candidate[] = [
  {
    name: "keras-cnn",
    params: 1_199_882,
    weightMB: 4.58,
    latencyMs: 3.2,
    accuracy: 0.9926,
    source: "article",
  },
  {
    name: "pytorch",
    params: 21_840,
    weightMB: 0.08,
    latencyMs: 0.9,
    accuracy: 0.9896,
    source: "article",
  },
  {
    name: "small-net",
    params: 518,
    weightMB: 0.002,
    latencyMs: 0.4,
    accuracy: 0.9601,
    source: "article",
  },
];

Deno.test("checkBudget() accepts fractions and positive limits, and an empty budget", () => {
  assertEquals(checkBudget({ maxWeightMB: 1, maxLatencyMs: 2, minAccuracy: 0.95 }), {
    maxWeightMB: 1,
    maxLatencyMs: 2,
    minAccuracy: 0.95,
  });
  assertEquals(checkBudget({}), {});
  assertEquals(checkBudget({ minAccuracy: 1 }), { minAccuracy: 1 });
});

Deno.test("checkBudget() rejects an accuracy given in percent and says to use the fraction", () => {
  assertThrows(
    () => checkBudget({ minAccuracy: 95 }),
    /minAccuracy is a fraction from 0 to 1, not a percentage: got 95, use 0\.95/,
  );
  assertThrows(() => checkBudget({ minAccuracy: 99.5 }), /use 0\.995/);
  assertThrows(() => checkBudget({ minAccuracy: 950 }), /fraction from 0 to 1, got 950/);
  assertThrows(() => checkBudget({ minAccuracy: -0.1 }), /fraction from 0 to 1, got -0.1/);
});

Deno.test("checkBudget() rejects negative, zero or missing-number limits and unknown settings", () => {
  assertThrows(() => checkBudget({ maxWeightMB: -1 }), /maxWeightMB must be a positive number/);
  assertThrows(() => checkBudget({ maxLatencyMs: 0 }), /maxLatencyMs must be a positive number/);
  assertThrows(() => checkBudget({ maxLatencyMs: NaN }), /maxLatencyMs must be a positive number/);
  assertThrows(
    () => checkBudget({ maxWeightMb: 1 } as unknown as { maxWeightMB: number }),
    /Unknown budget setting "maxWeightMb"; use: maxWeightMB, maxLatencyMs, minAccuracy/,
  );
});

Deno.test("budgetViolations() names every limit broken, with the numbers", () => {
  const [cnn, pytorch] = CANDIDATES;
  const budget = { maxWeightMB: 1, maxLatencyMs: 2, minAccuracy: 0.995 };
  assertEquals(budgetViolations(cnn, budget), [
    "weights 4.58 MB > 1 MB budget",
    "latency 3.20 ms > 2 ms budget",
    "accuracy 99.26% < 99.5% required",
  ]);
  assertEquals(budgetViolations(pytorch, { maxWeightMB: 0.05 }), [
    "weights 0.08 MB > 0.05 MB budget",
  ]);
  assertEquals(budgetViolations(pytorch, { maxWeightMB: 0.08, maxLatencyMs: 0.9 }), []);
});

Deno.test("budgetViolations() shows enough digits that a figure never reads as equal to its limit", () => {
  const close = { ...CANDIDATES[1], weightMB: 0.1004, latencyMs: 2.0001, accuracy: 0.94999 };
  assertEquals(budgetViolations(close, { maxWeightMB: 0.1, maxLatencyMs: 2, minAccuracy: 0.95 }), [
    "weights 0.1004 MB > 0.1 MB budget",
    "latency 2.0001 ms > 2 ms budget",
    "accuracy 94.999% < 95% required",
  ]);
});

Deno.test("chooseForDevice() ranks what fits by accuracy and lists the rest with reasons", () => {
  const choice = chooseForDevice(CANDIDATES, { maxWeightMB: 1 });
  assertEquals(choice.fits.map((c) => c.name), ["pytorch", "small-net"]);
  assertEquals(choice.rejected, [{
    candidate: CANDIDATES[0],
    reasons: ["weights 4.58 MB > 1 MB budget"],
  }]);
  const strict = chooseForDevice(CANDIDATES, { maxLatencyMs: 0.5, minAccuracy: 0.97 });
  assertEquals(strict.fits, []);
  assertEquals(strict.rejected.map((r) => r.reasons.length), [1, 1, 1]);
  assertEquals(chooseForDevice(CANDIDATES, {}).fits.map((c) => c.name), [
    "keras-cnn",
    "pytorch",
    "small-net",
  ]);
});

Deno.test("chooseForDevice() breaks an accuracy tie by size, then latency", () => {
  const tied = [
    { ...CANDIDATES[0], name: "big", accuracy: 0.99 },
    { ...CANDIDATES[1], name: "small but slow", accuracy: 0.99, latencyMs: 5 },
    { ...CANDIDATES[1], name: "small and fast", accuracy: 0.99, latencyMs: 1 },
  ];
  assertEquals(chooseForDevice(tied, {}).fits.map((c) => c.name), [
    "small and fast",
    "small but slow",
    "big",
  ]);
});

Deno.test("chooseForDevice() rejects a nonsense budget, duplicate names and impossible figures", () => {
  assertThrows(() => chooseForDevice(CANDIDATES, { minAccuracy: 95 }), /use 0\.95/);
  assertThrows(
    () => chooseForDevice([CANDIDATES[0], CANDIDATES[0]], {}),
    /Two candidates are called "keras-cnn"/,
  );
  assertThrows(
    () => chooseForDevice([{ ...CANDIDATES[0], accuracy: 99.26 }], {}),
    /Candidate "keras-cnn" has impossible figures: accuracy 99.26 \(a fraction from 0 to 1\)/,
  );
});

Deno.test("formatChoice() shows the budget, the ranked table and each rejection's reasons", () => {
  const text = formatChoice(
    chooseForDevice(CANDIDATES, { maxWeightMB: 1, maxLatencyMs: 2, minAccuracy: 0.95 }),
  );
  assertMatch(
    text,
    /\*\*Budget:\*\* weights ≤ 1 MB, latency ≤ 2 ms per image \(95th percentile\), accuracy ≥ 95%\./,
  );
  assertMatch(text, /\*\*2 of 3 fit; the best is pytorch\*\* \(98\.96%, 0\.08 MB, 0\.90 ms\)/);
  assertMatch(text, /\| 1 \| pytorch \| 98\.96% \| 0\.08 \| 0\.90 \| 21,840 \| article \|/);
  assertMatch(text, /\| 2 \| small-net \| 96\.01% \| 0\.0020 \|/);
  assertMatch(
    text,
    /- \*\*keras-cnn\*\*: weights 4\.58 MB > 1 MB budget; latency 3\.20 ms > 2 ms budget/,
  );
  const none = formatChoice(chooseForDevice(CANDIDATES, { minAccuracy: 0.999 }));
  assertMatch(none, /\*\*None of the 3 candidates fits\.\*\*/);
});

Deno.test("deploymentCandidates() makes one candidate per model and precision, with p95 latency", () => {
  const row: DeploymentRow = {
    model: "pytorch",
    key: "pytorch_wasm_0123456789ab",
    weightsSha256: "0".repeat(64),
    backend: "wasm",
    trainableParams: 21_840,
    macsPerImage: 480_500,
    latency: { medianMs: 0.5, p95Ms: 0.8, minMs: 0.4, repeats: 200 },
    testImages: 10_000,
    storedAccuracy: 0.99,
    precisions: {
      float32: { bytes: 87_360, accuracy: 0.99, loss: 0.03 },
      float16: { bytes: 43_680, accuracy: 0.99, loss: 0.03 },
      int8: { bytes: 22_000, accuracy: 0.9899, loss: 0.031 },
      uint8: { bytes: 21_888, accuracy: 0.9897, loss: 0.032 },
    },
    exports: {
      float32: { modelJsonBytes: 3000, weightBytes: 87_360, dir: "x" },
      float16: { modelJsonBytes: 3100, weightBytes: 43_680, dir: "y" },
      uint8: { modelJsonBytes: 3300, weightBytes: 21_840, dir: "z" },
    },
  };
  const candidates = deploymentCandidates([row]);
  assertEquals(candidates.map((c) => c.name), ["pytorch", "pytorch (float16)", "pytorch (uint8)"]);
  assertEquals(candidates[2].weightMB, 21_888 / 2 ** 20);
  assertEquals(candidates[2].accuracy, 0.9897);
  assert(candidates.every((c) => c.latencyMs === 0.8 && c.params === 21_840));
  assertMatch(candidates[0].source, /pytorch_wasm_0123456789ab, 10,000 test images, wasm/);
  assertEquals(deploymentCandidates([row], { precisions: ["int8"] }).map((c) => c.name), [
    "pytorch (int8)",
  ]);
  assert(candidates.every((c) => c.accuracyOn === "test" && c.evaluatedOn === 10_000));
  // Where the run held out a validation split, the bar is checked on it instead.
  const validation = [{
    key: row.key,
    images: 5000,
    accuracy: { float32: 0.985, float16: 0.985, int8: 0.984, uint8: 0.983 },
  }];
  const onValidation = deploymentCandidates([row], { validation });
  assertEquals(onValidation.map((c) => [c.accuracy, c.evaluatedOn, c.accuracyOn]), [
    [0.985, 5000, "validation"],
    [0.985, 5000, "validation"],
    [0.983, 5000, "validation"],
  ]);
  assertMatch(onValidation[0].source, /5,000 validation images/);
  const budget = { minAccuracy: 0.9 };
  assertMatch(
    formatChoice(chooseForDevice(candidates, budget)),
    /checked on \*\*test\*\* accuracy for 3 of 3 candidates/,
  );
  assertMatch(
    formatChoice(chooseForDevice(onValidation, budget)),
    /checked on each run's validation split/,
  );
});

// --- the command line

// Stored smoke results for two models, with untrained weights: enough for the whole path.
async function storeUntrained(dir: string, models: string[]): Promise<void> {
  const backend = await initBackend();
  for (const name of models) {
    const config = makeConfig(name, { preset: "smoke" });
    const model = buildModel(name, { seed: 0 });
    const weights: tf.NamedTensorMap = {};
    for (const weight of model.weights) weights[weight.originalName] = weight.read();
    await saveResult(dir, {
      key: await resultKey(config, backend),
      config,
      runtime: {},
      finishedAt: new Date().toISOString(),
      history: [{
        epoch: 1,
        learningRate: 0.005,
        trainLoss: 2.3,
        testLoss: 2.3,
        testAccuracy: 0.1,
        trainSeconds: 1,
        evalSeconds: 0.1,
      }],
      costs: { trainableParams: summarizeModel(model).trainableParams, macsPerImage: 1 },
    }, weights);
    model.dispose();
  }
}

Deno.test("choose ranks stored results against a budget and says why the others fail", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sizewise-choose-" });
  try {
    await storeUntrained(dir, ["small-net", "pytorch-gap"]);
    const args = ["--preset", "smoke", "--results-dir", dir, "--max-mb", "0.01"];
    const { code, stdout, stderr } = await runScript("choose.ts", args);
    assertEquals(code, 0, stderr);
    assertMatch(stdout, /\*\*Budget:\*\* weights ≤ 0\.01 MB\./);
    assertMatch(stdout, /\*\*4 of 6 fit; the best is /);
    // pytorch-gap: 7,090 weights are 0.027 MB as float32 and 0.0135 MB as float16 (shown with a
    // third decimal, as "0.01" would read as equal to the budget); as uint8 it fits.
    assertMatch(stdout, /- \*\*pytorch-gap\*\*: weights 0\.03 MB > 0\.01 MB budget/);
    assertMatch(stdout, /- \*\*pytorch-gap \(float16\)\*\*: weights 0\.014 MB > 0\.01 MB budget/);
    assertMatch(stdout, /\| \d \| small-net \| [\d.]+% \| 0\.0020 \| [\d.]+ \| 518 \|/);
    assertMatch(stdout, /\| small-net \(uint8\) \|/);
    assertMatch(
      stdout,
      /Not considered \(no stored result for preset "smoke"\): keras-mlp, keras-cnn, pytorch\. Train them with: deno task compare -- --preset smoke --models keras-mlp,keras-cnn,pytorch/,
    );
    // Latency and accuracies are stored: a second run reads them.
    const stored = [...Deno.readDirSync(`${dir}/measurements`)].map((e) => e.name);
    assertEquals(stored.filter((name) => name.startsWith("deployment_")).length, 2);
    const snapshot = () =>
      stored.map((name) => {
        const path = `${dir}/measurements/${name}`;
        return [name, Deno.statSync(path).mtime?.getTime(), Deno.readTextFileSync(path)];
      });
    const before = snapshot();
    const second = await runScript("choose.ts", args);
    assertEquals(second.code, 0, second.stderr);
    assertEquals(snapshot(), before, "the second run measured again instead of reading them");
    // The same figures, latency included, as the first run printed.
    assertEquals(second.stdout, stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("choose rejects an accuracy in percent before any work, and explains missing results", async () => {
  const percent = await runScript("choose.ts", ["--min-accuracy", "95"]);
  assertEquals(percent.code, 1);
  assertMatch(
    percent.stderr,
    /minAccuracy is a fraction from 0 to 1, not a percentage: got 95, use 0\.95/,
  );
  const dir = await Deno.makeTempDir({ prefix: "sizewise-choose-" });
  try {
    const empty = await runScript("choose.ts", ["--preset", "quick", "--results-dir", dir]);
    assertEquals(empty.code, 1);
    assertMatch(
      empty.stderr,
      /No stored results for preset "quick" on \w+ in .*; train them first: deno task compare -- --preset quick --models keras-mlp,keras-cnn,pytorch,pytorch-gap,small-net/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
