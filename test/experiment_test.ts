import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { makeConfig } from "../lib/training/config.ts";
import { loadTrainedModel } from "../lib/training/trained_model.ts";
import {
  findStoredResult,
  measureTrainingMemoryStored,
  modelSpecSha256,
  runExperiment,
} from "../lib/studies/experiment.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { loadCheckpoint } from "../lib/training/results.ts";
import { type EpochMetrics, evaluateModel } from "../lib/training/train.ts";

await initBackend("wasm");
const config = makeConfig("small-net", {
  preset: "smoke",
  overrides: { trainSize: 256, testSize: 128, evalBatchSize: 128, numEpochs: 2 },
});
const data = await loadMnist({ trainSize: 256, testSize: 128, seed: 0 });

function withoutTimes(history: EpochMetrics[]) {
  return history.map(({ trainSeconds: _, evalSeconds: __, ...rest }) => rest);
}

Deno.test("runExperiment() stores a result with costs and reuses it unless asked to retrain", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const first = await runExperiment(config, { resultsDir, data });
    assertEquals(first.cached, false);
    assertEquals(first.result.history.length, 2);
    assertEquals(first.result.costs.trainableParams, 518);
    assertEquals(first.result.costs.weightFileBytes, (518 + 10) * 4); // + BatchNorm's statistics
    assert(first.result.costs.inferenceSeconds > 0);
    assertEquals(first.result.costs.trainingMemory[0].batchSize, 16);
    assert(first.result.costs.trainingMemory[0].fits);
    assertEquals(first.result.runtime.backend, "wasm");
    // The result says which kernels did the arithmetic (native BLAS or wasm's own).
    assert(/^(native|wasm) \(/.test(first.result.runtime.kernels), first.result.runtime.kernels);

    assertEquals(await findStoredResult(config, { resultsDir }), first.result);
    assertEquals(await findStoredResult({ ...config, seed: 5 }, { resultsDir }), undefined);

    const again = await runExperiment(config, { resultsDir, data });
    assertEquals(again.cached, true);
    assertEquals(again.result, first.result);

    const retrained = await runExperiment(config, { resultsDir, data, retrain: true });
    assertEquals(retrained.cached, false);
    assertEquals(withoutTimes(retrained.result.history), withoutTimes(first.result.history));
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("an interrupted experiment resumes from its checkpoint with the same final numbers", async () => {
  const [straightDir, resumedDir] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const straight = await runExperiment(config, { resultsDir: straightDir, data });
    await assertRejects(
      () =>
        runExperiment(config, {
          resultsDir: resumedDir,
          data,
          onEpoch: () => {
            throw new Error("interrupted");
          },
        }),
      /interrupted/,
    );
    const key = straight.result.key;
    const checkpoint = await loadCheckpoint(resumedDir, key);
    assertEquals(checkpoint?.history.length, 1);
    tf.dispose([
      ...Object.values(checkpoint!.modelWeights),
      ...Object.values(checkpoint!.optimizerWeights),
    ]);

    let resumedAfter = -1;
    const resumed = await runExperiment(config, {
      resultsDir: resumedDir,
      data,
      onResume: (history) => void (resumedAfter = history.length),
    });
    assertEquals(resumedAfter, 1);
    assertEquals(withoutTimes(resumed.result.history), withoutTimes(straight.result.history));
    assertEquals(await loadCheckpoint(resumedDir, key), undefined, "checkpoint removed when done");
  } finally {
    await Deno.remove(straightDir, { recursive: true });
    await Deno.remove(resumedDir, { recursive: true });
  }
});

Deno.test("loadTrainedModel() brings back the stored model with its final test accuracy", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const { result } = await runExperiment(config, { resultsDir, data });
    const tensors = tf.memory().numTensors;
    const model = await loadTrainedModel(result, { resultsDir });
    const { accuracy } = evaluateModel(model, data.test);
    assertEquals(accuracy, result.history.at(-1)!.testAccuracy);
    model.dispose();
    // The decoded weights are copied into the model and freed: nothing stays behind.
    assertEquals(tf.memory().numTensors, tensors, "tensors left behind");
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("runExperiment() refuses data whose size differs from the config's", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => runExperiment({ ...config, trainSize: 300 }, { resultsDir, data }),
      /256 training and 128 test images, the config asks for 300 and 128/,
    );
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("measureTrainingMemoryStored() measures once, then reads the stored figure", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const first = await measureTrainingMemoryStored("small-net", { batchSize: 32, resultsDir });
    assert(first.fits && first.peakBytes! > 0);
    const files = [...Deno.readDirSync(`${resultsDir}/measurements`)].map((entry) => entry.name);
    assertEquals(files, ["memory_small-net_wasm_batch32.json"]);
    // A planted figure proves the second call reads the store instead of measuring.
    const planted = { ...first, peakBytes: 123 };
    const { measuredFrom } = JSON.parse(
      await Deno.readTextFile(`${resultsDir}/measurements/${files[0]}`),
    );
    assertEquals(measuredFrom, await modelSpecSha256("small-net"));
    await Deno.writeTextFile(
      `${resultsDir}/measurements/${files[0]}`,
      JSON.stringify({ schemaVersion: 1, measuredFrom, value: planted }),
    );
    assertEquals(
      await measureTrainingMemoryStored("small-net", { batchSize: 32, resultsDir }),
      planted,
    );
    await Deno.writeTextFile(`${resultsDir}/measurements/${files[0]}`, "{not json");
    await assertRejects(
      () => measureTrainingMemoryStored("small-net", { batchSize: 32, resultsDir }),
      /measurement .* is corrupt or from another version; delete it/,
    );
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("loadReproduction() finds full-schedule results by model and leaves out the rest", async () => {
  const { loadReproduction } = await import("../lib/studies/reproduction.ts");
  const resultsDir = await Deno.makeTempDir();
  try {
    assertEquals(await loadReproduction({ resultsDir }), {});
    // Plant a stored result under the article preset's key, as the reproduce task would.
    const { resultKey, saveResult } = await import("../lib/training/results.ts");
    const article = makeConfig("small-net");
    const key = await resultKey(article, "wasm");
    // A whole result (one entry per epoch): the store refuses anything less on reading.
    const history = Array.from({ length: article.numEpochs }, (_, i) => ({
      epoch: i + 1,
      learningRate: 0.005,
      trainLoss: 1,
      testLoss: 1,
      testAccuracy: 0.5,
      trainSeconds: 1,
      evalSeconds: 1,
    }));
    await saveResult(resultsDir, {
      key,
      config: article,
      runtime: { backend: "wasm" },
      finishedAt: "2026-11-29T00:00:00Z",
      history,
      costs: {},
    }, {});
    const found = await loadReproduction({ resultsDir });
    assertEquals(Object.keys(found), ["small-net"]);
    assertEquals(found["small-net"].key, key);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("a stored experiment is reused only whole: damaged weights or missing costs are errors; --retrain clears them and what was measured from them", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const { result } = await runExperiment(config, { resultsDir, data });
    const { saveMeasurement } = await import("../lib/training/results.ts");
    await saveMeasurement(resultsDir, `deployment_v2_${result.key}`, { stale: 1 });
    const bin = `${resultsDir}/${result.key}.bin`;
    const good = await Deno.readFile(bin);
    const flipped = good.slice();
    flipped[100] ^= 1;
    await Deno.writeFile(bin, flipped);
    await assertRejects(
      () => runExperiment(config, { resultsDir, data }),
      /The weights file .*\.bin does not match its result/,
    );
    await assertRejects(
      () => findStoredResult(config, { resultsDir }),
      /does not match its result/,
    );
    await Deno.writeFile(bin, good);
    const path = `${resultsDir}/${result.key}.json`;
    const stored = JSON.parse(await Deno.readTextFile(path));
    delete stored.costs.inferenceSeconds;
    await Deno.writeTextFile(path, JSON.stringify(stored));
    await assertRejects(
      () => runExperiment(config, { resultsDir, data }),
      /The result file .*\.json is invalid: costs\.inferenceSeconds is missing; delete it and run the experiment again, or run the same command with --retrain/,
    );
    const retrained = await runExperiment(config, { resultsDir, data, retrain: true });
    assertEquals(retrained.cached, false);
    const measurements = [...Deno.readDirSync(`${resultsDir}/measurements`)].map((e) => e.name);
    assertEquals(measurements.filter((name) => name.includes(result.key)), []);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("measureTrainingMemoryStored() measures again when the model's spec is not the one measured", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    assertEquals(await modelSpecSha256("small-net"), await modelSpecSha256("small-net"));
    assert(await modelSpecSha256("small-net") !== await modelSpecSha256("pytorch"));
    await Deno.mkdir(`${resultsDir}/measurements`);
    await Deno.writeTextFile(
      `${resultsDir}/measurements/memory_small-net_wasm_batch32.json`,
      JSON.stringify({
        schemaVersion: 1,
        measuredFrom: "0".repeat(64),
        value: { batchSize: 32, fits: true, peakBytes: 123 },
      }),
    );
    const measured = await measureTrainingMemoryStored("small-net", { batchSize: 32, resultsDir });
    assert(measured.fits && measured.peakBytes !== 123, JSON.stringify(measured));
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});
