import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import type { EpochMetrics } from "../lib/training/train.ts";
import {
  diagnoseFit,
  formatFitDiagnoses,
  formatTrainingSizeStudy,
  runTrainingSizeStudy,
  trainingSizeConfig,
} from "../lib/studies/fit.ts";
import { plotTrainVsHeldOut } from "../lib/plots/mod.ts";
import { MAX_CHART_WIDTH } from "../lib/plots/frame.ts";

await initBackend("wasm");

function epoch(trainLoss: number, testLoss: number, extra: Partial<EpochMetrics> = {}) {
  return {
    epoch: 1,
    learningRate: 5e-3,
    trainLoss,
    testLoss,
    testAccuracy: 0.9,
    trainSeconds: 1,
    evalSeconds: 0.1,
    ...extra,
  };
}

Deno.test("diagnoseFit() reads the stored runs: the MLP's 0.010/0.051 overfits, Small Net's 0.26/0.24 underfits", () => {
  const mlp = diagnoseFit([epoch(0.010, 0.051)]);
  assertEquals([mlp.verdict, mlp.heldOutOn], ["overfits", "test"]);
  assertEquals(mlp.ratio.toFixed(1), "5.1");
  const small = diagnoseFit([epoch(0.26, 0.24)]);
  assertEquals(small.verdict, "underfits");
  assertMatch(small.reason, /training loss 0\.260, test loss 0\.240: both high and close/);
  assertEquals(diagnoseFit([epoch(0.030, 0.032)]).verdict, "fine");
  // A gap counts only when it is both large in ratio and in loss.
  assertEquals(diagnoseFit([epoch(0.001, 0.005)]).verdict, "fine");
  assertThrows(() => diagnoseFit([]), /at least one epoch/);
});

Deno.test("diagnoseFit() prefers the validation split to the test set where the run held one out", () => {
  const d = diagnoseFit([epoch(0.02, 0.021, { validationLoss: 0.09, validationAccuracy: 0.97 })]);
  assertEquals([d.heldOutOn, d.heldOutLoss, d.verdict], ["validation", 0.09, "overfits"]);
  const table = formatFitDiagnoses([{ model: "keras-mlp", history: [epoch(0.01, 0.051)] }]);
  assertEquals(
    table.split("\n")[2],
    "| keras-mlp | 1 | 0.010 | 0.051 | test | 5.10x | overfits |",
  );
});

Deno.test("plotTrainVsHeldOut() draws a panel per model, solid training and dashed held-out loss", () => {
  const history = [epoch(0.5, 0.4), { ...epoch(0.1, 0.2), epoch: 2 }];
  const svg = plotTrainVsHeldOut([
    { model: "keras-mlp", history },
    { model: "small-net", history },
  ]);
  assertEquals(svg.getAttribute("xmlns"), "http://www.w3.org/2000/svg");
  assert(Number(svg.getAttribute("width")) <= MAX_CHART_WIDTH);
  const text = svg.outerHTML;
  assertMatch(text, /keras-mlp/);
  assertMatch(text, /small-net/);
  assertMatch(text, /held-out loss/);
  assertEquals(text.match(/stroke-dasharray="6,4"/g)?.length, 2);
  // Five models still fit the notebook's column.
  const five = plotTrainVsHeldOut(
    ["keras-mlp", "keras-cnn", "pytorch", "pytorch-gap", "small-net"].map((model) => ({
      model,
      history,
    })),
  );
  assert(Number(five.getAttribute("width")) <= MAX_CHART_WIDTH, five.getAttribute("width")!);
});

Deno.test("runTrainingSizeStudy() trains each model on each size with the validation split held out", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const before = tf.memory().numTensors;
    const overrides = { testSize: 64, evalBatchSize: 64, validationSize: 500 };
    const runs = await runTrainingSizeStudy(["small-net"], [64, 128], {
      preset: "smoke",
      overrides,
      resultsDir,
    });
    assertEquals(tf.memory().numTensors, before, "runTrainingSizeStudy() leaks tensors");
    assertEquals(runs.map((r) => [r.trainSize, r.cached, r.diagnosis.heldOutOn]), [
      [64, false, "validation"],
      [128, false, "validation"],
    ]);
    assert(runs.every((r) => r.validationAccuracy >= 0 && r.validationAccuracy <= 1));
    const again = await runTrainingSizeStudy(["small-net"], [64, 128], {
      preset: "smoke",
      overrides,
      resultsDir,
    });
    assert(again.every((r) => r.cached));
    const table = formatTrainingSizeStudy(again).split("\n");
    assertEquals(table.length, 4);
    assertMatch(
      table[3],
      /^\| small-net \| 128 \| \d\.\d{3} \| \d\.\d{3} \| \d+\.\d\d% \| \w+ \|$/,
    );
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("the training-size study holds out the validation split and checks sizes before training", async () => {
  assertEquals(trainingSizeConfig("small-net", 6000, { preset: "quick" }).validationSize, 5000);
  assertThrows(
    () => trainingSizeConfig("small-net", 60_000, { preset: "article" }),
    /add up to more than the 60000 training images/,
  );
  await assertRejects(() => runTrainingSizeStudy([], [64]), /at least one model/);
  await assertRejects(() => runTrainingSizeStudy(["small-net"], []), /at least one training-set/);
});
