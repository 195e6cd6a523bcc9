import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertMatch, assertNotEquals, assertRejects } from "./assert.ts";
import { initBackend, runtimeInfo } from "../lib/backend/backend.ts";
import { makeConfig, type TrainConfig } from "../lib/training/config.ts";
import { buildModel } from "../lib/models/registry.ts";
import {
  checkResultWeights,
  deleteCheckpoint,
  deleteStoredRun,
  listResults,
  loadCheckpoint,
  loadMeasurement,
  loadResult,
  loadResultWeights,
  resultKey,
  RESULTS_SCHEMA_VERSION,
  type RunResult,
  saveCheckpoint,
  saveMeasurement,
  saveResult,
} from "../lib/training/results.ts";
import type { Checkpoint, EpochMetrics } from "../lib/training/train.ts";

await initBackend();

/** Runs `work` with a fresh temporary store and removes it afterwards. */
async function withTempDir(work: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sizewise_results_test_" });
  try {
    await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function fileNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** The error `promise` rejects with; fails if it resolves. */
async function rejection(promise: Promise<unknown>, what = "it"): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error(`Expected ${what} to be rejected, but it resolved`);
}

function epochMetrics(epoch: number): EpochMetrics {
  return {
    epoch,
    learningRate: 5e-3,
    trainLoss: 2.3 / epoch,
    testLoss: 0.1 + 1 / 3 / epoch, // not a short decimal: JSON must keep every digit
    testAccuracy: 0.9 + epoch / 1000,
    trainSeconds: 12.5 * epoch,
    evalSeconds: 0.75,
  };
}

async function makeResult(
  config: TrainConfig,
  options: { epochs?: number; finishedAt?: string } = {},
): Promise<Omit<RunResult, "schemaVersion" | "weightSpecs" | "weightsSha256">> {
  return {
    key: await resultKey(config, "wasm"),
    config,
    runtime: runtimeInfo(),
    finishedAt: options.finishedAt ?? "2024-05-01T12:00:00.000Z",
    // One entry per epoch of the config, as the store checks when it reads a result back.
    history: Array.from(
      { length: options.epochs ?? config.numEpochs },
      (_, i) => epochMetrics(i + 1),
    ),
    costs: {
      savedSize: { weightBytes: 2112, modelJsonBytes: 3000 },
      memory: [{ batchSize: 16, fits: true, peakBytes: 6_479_784 }, {
        batchSize: 60_000,
        fits: false,
        note: "the backend could not run one step at this batch size",
      }],
    },
  };
}

/**
 * Weights with awkward values: the float32 extremes, -0, and an int32 tensor (NaN and
 * infinities are refused by the store, see below).
 */
function awkwardWeights(): tf.NamedTensorMap {
  return {
    "odd/values": tf.tensor1d([Math.PI, -0, 1.4e-45, 3.4e38, -3.4e38, 1 / 3]),
    "odd/int": tf.tensor1d([0, -1, 2 ** 31 - 1, -(2 ** 31)], "int32"),
  };
}

/** Every tensor's dtype, shape and values, as plain data that assertEquals compares exactly. */
function contents(map: tf.NamedTensorMap): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(map).map((
      [name, tensor],
    ) => [name, {
      dtype: tensor.dtype,
      shape: tensor.shape,
      values: Array.from(tensor.dataSync()),
    }]),
  );
}

function modelWeights(model: tf.LayersModel): tf.NamedTensorMap {
  return Object.fromEntries(model.weights.map((weight) => [weight.originalName, weight.read()]));
}

function disposeCheckpoint(checkpoint: Checkpoint): void {
  tf.dispose([
    ...Object.values(checkpoint.modelWeights),
    ...Object.values(checkpoint.optimizerWeights),
  ]);
}

// --- resultKey

Deno.test("resultKey() names the model and backend and ends in a 12-digit hash", async () => {
  const key = await resultKey(makeConfig("small-net"), "wasm");
  assertMatch(key, /^small-net_wasm_[0-9a-f]{12}$/);
});

Deno.test("resultKey() is the same for the same config whatever its key order", async () => {
  const config = makeConfig("pytorch", { preset: "quick" });
  const reordered = Object.fromEntries(Object.entries(config).reverse()) as unknown as TrainConfig;
  reordered.learningRateDrops = config.learningRateDrops.map(({ fromEpoch, learningRate }) => ({
    learningRate,
    fromEpoch,
  }));
  assertNotEquals(JSON.stringify(reordered), JSON.stringify(config));
  assertEquals(await resultKey(reordered, "wasm"), await resultKey(config, "wasm"));
  assertEquals(await resultKey(structuredClone(config), "wasm"), await resultKey(config, "wasm"));
});

Deno.test("resultKey() changes when the seed, data size, schedule or backend changes", async () => {
  const config = makeConfig("pytorch", { preset: "quick" });
  const base = await resultKey(config, "wasm");
  const variants: [string, TrainConfig, string][] = [
    ["seed", { ...config, seed: 1 }, "wasm"],
    ["trainSize", { ...config, trainSize: 6001 }, "wasm"],
    ["testSize", { ...config, testSize: 1999 }, "wasm"],
    ["numEpochs", { ...config, numEpochs: 3 }, "wasm"],
    ["nesterov", { ...config, nesterov: false }, "wasm"],
    ["a drop", {
      ...config,
      learningRateDrops: [{ fromEpoch: 11, learningRate: 5e-4 }, {
        fromEpoch: 17,
        learningRate: 5e-5,
      }],
    }, "wasm"],
    ["model", { ...config, model: "pytorch-gap" }, "wasm"],
    ["backend", config, "cpu"],
  ];
  const keys = new Set([base]);
  for (const [what, variant, backend] of variants) {
    const key = await resultKey(variant, backend);
    assertNotEquals(key, base, `changing ${what} must change the key`);
    keys.add(key);
  }
  assertEquals(keys.size, variants.length + 1, "every variant has its own key");
});

// --- saveResult / loadResult

Deno.test("saveResult() then loadResult() gives back the config, history, runtime and costs", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("small-net");
    const result = await makeResult(makeConfig("small-net", { preset: "smoke" }));
    const path = await saveResult(dir, result, modelWeights(model));
    assertEquals(path, `${dir}/${result.key}.json`);
    const loaded = await loadResult(dir, result.key);
    assert(loaded);
    const { schemaVersion, weightSpecs, weightsSha256, ...rest } = loaded;
    assertEquals(rest, result);
    assertMatch(weightsSha256, /^[0-9a-f]{64}$/);
    assertEquals(schemaVersion, RESULTS_SCHEMA_VERSION);
    assertEquals(
      weightSpecs.map((spec) => spec.name),
      model.weights.map((weight) => weight.originalName),
    );
    model.dispose();
  });
});

Deno.test("loadResultWeights() gives back exactly the saved tensor values and leaks no tensors", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("small-net", { seed: 5 });
    const weights = { ...modelWeights(model), ...awkwardWeights() };
    const expected = contents(weights);
    const result = await makeResult(makeConfig("small-net", { preset: "smoke" }));
    const tensorsBefore = tf.memory().numTensors;
    await saveResult(dir, result, weights);
    assertEquals(tf.memory().numTensors, tensorsBefore, "saveResult() leaves no tensors behind");

    const loaded = await loadResultWeights(dir, (await loadResult(dir, result.key))!);
    assertEquals(contents(loaded), expected);
    tf.dispose(Object.values(loaded));
    assertEquals(tf.memory().numTensors, tensorsBefore, "only the returned tensors were made");
    tf.dispose([weights["odd/values"], weights["odd/int"]]);
    model.dispose();
  });
});

Deno.test("loadResult() of a key that was never saved is undefined", async () => {
  await withTempDir(async (dir) => {
    assertEquals(await loadResult(dir, "small-net_wasm_000000000000"), undefined);
    assertEquals(await loadResult(`${dir}/no/such/dir`, "small-net_wasm_000000000000"), undefined);
  });
});

Deno.test("loadResult() of a corrupt JSON file names the file and says to delete it", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/broken.json`;
    await Deno.writeTextFile(path, '{"schemaVersion": 1, "config": {');
    const error = await rejection(loadResult(dir, "broken"));
    assertMatch(error.message, /^The result file .*broken\.json is corrupt \(/);
    assert(error.message.includes(path), error.message);
    assertMatch(error.message, /delete it and run the experiment again/);
  });
});

Deno.test("loadResult() of a file from an older schema says which version and to delete it", async () => {
  await withTempDir(async (dir) => {
    const result = await makeResult(makeConfig("small-net", { preset: "smoke" }));
    const model = buildModel("small-net");
    const path = await saveResult(dir, result, modelWeights(model));
    model.dispose();
    const stored = JSON.parse(await Deno.readTextFile(path));
    await Deno.writeTextFile(path, JSON.stringify({ ...stored, schemaVersion: 0 }));
    await assertRejects(
      () => loadResult(dir, result.key),
      new RegExp(
        `The result file ${path} has schema version 0, this code reads ${RESULTS_SCHEMA_VERSION}; ` +
          `delete it and run the experiment again`,
      ),
    );
    // A file with no version at all is refused the same way, not misread.
    const { schemaVersion: _, ...unversioned } = stored;
    await Deno.writeTextFile(path, JSON.stringify(unversioned));
    await assertRejects(() => loadResult(dir, result.key), /has schema version undefined/);
  });
});

Deno.test("loadResult() of valid JSON that is not a result says what it lacks", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/odd.json`, JSON.stringify({ schemaVersion: 1 }));
    await assertRejects(() => loadResult(dir, "odd"), /lacks its history or config; delete it/);
    await Deno.writeTextFile(`${dir}/null.json`, "null");
    await assertRejects(() => loadResult(dir, "null"), /has schema version undefined/);
  });
});

Deno.test("loadResultWeights() of a truncated .bin says it is truncated and to delete it", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("small-net");
    const result = await makeResult(makeConfig("small-net", { preset: "smoke" }));
    await saveResult(dir, result, modelWeights(model));
    model.dispose();
    const binPath = `${dir}/${result.key}.bin`;
    const bytes = await Deno.readFile(binPath);
    await Deno.writeFile(binPath, bytes.subarray(0, bytes.length - 10));
    const stored = (await loadResult(dir, result.key))!;
    const tensorsBefore = tf.memory().numTensors;
    await assertRejects(
      () => loadResultWeights(dir, stored),
      new RegExp(
        `The weights file ${binPath} holds ${bytes.length - 10} bytes, its manifest says ` +
          `${bytes.length}; it is truncated or corrupt: delete it and train again`,
      ),
    );
    assertEquals(tf.memory().numTensors, tensorsBefore);
  });
});

Deno.test("loadResultWeights() with the .bin missing names the file and says what to delete", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("small-net");
    const result = await makeResult(makeConfig("small-net", { preset: "smoke" }));
    await saveResult(dir, result, modelWeights(model));
    model.dispose();
    await Deno.remove(`${dir}/${result.key}.bin`);
    await assertRejects(
      async () => loadResultWeights(dir, (await loadResult(dir, result.key))!),
      new RegExp(
        `Cannot read the weights of ${result.key} \\(${dir}/${result.key}\\.bin\\).*` +
          `delete ${dir}/${result.key}\\.json and train again`,
      ),
    );
  });
});

// --- Atomic writes

Deno.test("saveResult() leaves no temporary files behind", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("small-net");
    for (const seed of [0, 1, 2]) {
      const config = makeConfig("small-net", { preset: "smoke", overrides: { seed } });
      await saveResult(dir, await makeResult(config), modelWeights(model));
    }
    const names = await fileNames(dir);
    assertEquals(names.length, 6, names.join(", "));
    assertEquals(
      names.filter((name) => !/^small-net_wasm_[0-9a-f]{12}\.(json|bin)$/.test(name)),
      [],
    );
    model.dispose();
  });
});

Deno.test("saveResult() replaces an existing result whole, by a rename rather than in place", async () => {
  await withTempDir(async (dir) => {
    const config = makeConfig("small-net", { preset: "smoke" });
    const model = buildModel("small-net");
    const long = await makeResult(config, { epochs: 20 });
    const path = await saveResult(dir, long, modelWeights(model));
    const oldText = await Deno.readTextFile(path);
    // A reader that opened the old file keeps reading the old file whole: the new one arrives
    // by rename, never by truncating and rewriting the file that reader has open.
    using reader = await Deno.open(path, { read: true });

    const short = await makeResult(config, { epochs: 1 });
    await saveResult(dir, short, modelWeights(model));
    const loaded = (await loadResult(dir, short.key))!;
    assertEquals(loaded.history, short.history);
    assertEquals(await fileNames(dir), [`${short.key}.bin`, `${short.key}.json`]);

    const stillOld = new TextDecoder().decode(await new Response(reader.readable).arrayBuffer());
    assertEquals(stillOld, oldText);
    model.dispose();
  });
});

Deno.test("saveResult() that cannot write removes its temporary file and rejects", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("small-net");
    const result = await makeResult(makeConfig("small-net", { preset: "smoke" }));
    // A folder where the JSON file should go makes the final rename fail.
    await Deno.mkdir(`${dir}/${result.key}.json`);
    await assertRejects(() => saveResult(dir, result, modelWeights(model)));
    assertEquals(
      (await fileNames(dir)).filter((name) => name.endsWith(".tmp")),
      [],
    );
    model.dispose();
  });
});

// --- listResults

Deno.test("listResults() of a folder that does not exist is an empty list", async () => {
  await withTempDir(async (dir) => {
    assertEquals(await listResults(`${dir}/never-made`), []);
  });
});

Deno.test("listResults() lists every stored result oldest first and skips checkpoints", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("small-net");
    const times = [
      "2024-05-03T00:00:00.000Z",
      "2024-05-01T00:00:00.000Z",
      "2024-05-02T00:00:00.000Z",
    ];
    for (const [seed, finishedAt] of times.entries()) {
      const config = makeConfig("small-net", { preset: "smoke", overrides: { seed } });
      await saveResult(dir, await makeResult(config, { finishedAt }), modelWeights(model));
    }
    await saveCheckpoint(dir, "small-net_wasm_unfinished", {
      history: [],
      modelWeights: modelWeights(model),
      optimizerWeights: {},
    });
    const listed = await listResults(dir);
    assertEquals(listed.map((result) => result.finishedAt), [...times].sort());
    assertEquals(listed.map((result) => result.config.seed), [1, 2, 0]);
    model.dispose();
  });
});

Deno.test("listResults() reports a corrupt result instead of skipping it", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/bad.json`, "not json");
    await assertRejects(() => listResults(dir), /bad\.json is corrupt/);
  });
});

// --- Checkpoints

Deno.test("saveCheckpoint() then loadCheckpoint() gives back history, model and optimizer tensors exactly", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("pytorch", { seed: 3 });
    // Momentum accumulators carry the same names as the weights they belong to.
    const optimizerWeights: tf.NamedTensorMap = Object.fromEntries(
      model.trainableWeights.map((weight, i) => [
        weight.originalName,
        tf.randomNormal(weight.shape as number[], 0, 1e-3, "float32", i),
      ]),
    );
    const awkward = awkwardWeights();
    const checkpoint: Checkpoint = {
      history: [epochMetrics(1), epochMetrics(2), epochMetrics(3)],
      modelWeights: { ...modelWeights(model), ...awkward },
      optimizerWeights,
    };
    const expectedModel = contents(checkpoint.modelWeights);
    const expectedOptimizer = contents(optimizerWeights);
    const tensorsBefore = tf.memory().numTensors;

    await saveCheckpoint(dir, "pytorch_wasm_abc", checkpoint);
    assertEquals(await fileNames(`${dir}/checkpoints`), ["pytorch_wasm_abc.ckpt"]);
    const loaded = await loadCheckpoint(dir, "pytorch_wasm_abc");
    assert(loaded);
    assertEquals(loaded.history, checkpoint.history);
    assertEquals(contents(loaded.modelWeights), expectedModel);
    assertEquals(contents(loaded.optimizerWeights), expectedOptimizer);
    disposeCheckpoint(loaded);
    assertEquals(tf.memory().numTensors, tensorsBefore, "loading made only the returned tensors");

    tf.dispose([...Object.values(awkward), ...Object.values(optimizerWeights)]);
    model.dispose();
  });
});

Deno.test("saveCheckpoint() replaces the previous checkpoint and leaves no temporary files", async () => {
  await withTempDir(async (dir) => {
    const weights = { w: tf.tensor1d([1, 2, 3]) };
    await saveCheckpoint(dir, "k", {
      history: [epochMetrics(1)],
      modelWeights: weights,
      optimizerWeights: {},
    });
    await saveCheckpoint(dir, "k", {
      history: [epochMetrics(1), epochMetrics(2)],
      modelWeights: weights,
      optimizerWeights: weights,
    });
    assertEquals(await fileNames(`${dir}/checkpoints`), ["k.ckpt"]);
    const loaded = (await loadCheckpoint(dir, "k"))!;
    assertEquals(loaded.history.length, 2);
    assertEquals(Object.keys(loaded.optimizerWeights), ["w"]);
    disposeCheckpoint(loaded);
    tf.dispose(weights.w);
  });
});

Deno.test("loadCheckpoint() of a run that has none is undefined", async () => {
  await withTempDir(async (dir) => {
    assertEquals(await loadCheckpoint(dir, "small-net_wasm_000000000000"), undefined);
  });
});

Deno.test("loadCheckpoint() of a corrupt checkpoint names it and says to delete it", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/checkpoints/k.ckpt`;
    const weights = { w: tf.tensor1d([1, 2, 3, 4]) };
    await saveCheckpoint(dir, "k", {
      history: [epochMetrics(1)],
      modelWeights: weights,
      optimizerWeights: {},
    });
    tf.dispose(weights.w);
    const good = await Deno.readFile(path);
    const tensorsBefore = tf.memory().numTensors;

    const corruptions: [string, Uint8Array, RegExp][] = [
      ["empty", new Uint8Array(0), /is corrupt; delete .* to start the run over/],
      [
        "garbage",
        new TextEncoder().encode("hello, world"),
        /is corrupt; delete .* to start the run over/,
      ],
      ["cut in the header", good.subarray(0, 20), /is corrupt; delete .* to start the run over/],
      ["cut in the weights", good.subarray(0, good.length - 4), /truncated or corrupt: delete it/],
    ];
    for (const [what, bytes, expected] of corruptions) {
      await Deno.writeFile(path, bytes);
      const error = await rejection(loadCheckpoint(dir, "k"), `a checkpoint ${what}`);
      assert(error.message.includes(path), `${what}: ${error.message}`);
      assertMatch(error.message, expected, what);
    }
    assertEquals(tf.memory().numTensors, tensorsBefore);
  });
});

Deno.test("loadCheckpoint() of an older schema says which version and to start over", async () => {
  await withTempDir(async (dir) => {
    const header = new TextEncoder().encode(
      JSON.stringify({ schemaVersion: 0, history: [], specs: [] }),
    );
    const file = new Uint8Array(4 + header.length);
    new DataView(file.buffer).setUint32(0, header.length);
    file.set(header, 4);
    await Deno.mkdir(`${dir}/checkpoints`);
    await Deno.writeFile(`${dir}/checkpoints/k.ckpt`, file);
    await assertRejects(
      () => loadCheckpoint(dir, "k"),
      /has schema version 0, this code reads 1; delete .*k\.ckpt to start the run over/,
    );
  });
});

Deno.test("deleteCheckpoint() removes a checkpoint, and one that is not there is no error", async () => {
  await withTempDir(async (dir) => {
    await deleteCheckpoint(dir, "never-saved");
    await deleteCheckpoint(`${dir}/no/such/store`, "never-saved");
    const weights = { w: tf.tensor1d([1]) };
    await saveCheckpoint(dir, "k", { history: [], modelWeights: weights, optimizerWeights: {} });
    tf.dispose(weights.w);
    await deleteCheckpoint(dir, "k");
    assertEquals(await loadCheckpoint(dir, "k"), undefined);
    assertEquals(await fileNames(`${dir}/checkpoints`), []);
  });
});

// --- Integrity: what is stored is what was trained, or an error says so

/** Flips one bit of the file at `path`, `offset` bytes from the end. */
async function flipBit(path: string, offset: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  bytes[bytes.length - offset] ^= 0x10;
  await Deno.writeFile(path, bytes);
}

Deno.test("saveResult() records the SHA-256 of the .bin in the result", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("small-net");
    const result = await makeResult(makeConfig("small-net", { preset: "smoke" }));
    await saveResult(dir, result, modelWeights(model));
    model.dispose();
    const digest = await crypto.subtle.digest(
      "SHA-256",
      await Deno.readFile(`${dir}/${result.key}.bin`),
    );
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    assertEquals((await loadResult(dir, result.key))!.weightsSha256, hex);
  });
});

Deno.test("one flipped bit in a result's .bin is an error naming both files and the fix, never reused", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("small-net", { seed: 1 });
    const result = await makeResult(makeConfig("small-net", { preset: "smoke" }));
    await saveResult(dir, result, modelWeights(model));
    model.dispose();
    const bin = `${dir}/${result.key}.bin`;
    await flipBit(bin, 7);
    const stored = (await loadResult(dir, result.key))!;
    const tensors = tf.memory().numTensors;
    for (
      const load of [() => loadResultWeights(dir, stored), () => checkResultWeights(dir, stored)]
    ) {
      const error = await rejection(load());
      assertMatch(
        error.message,
        /^The weights file .* does not match its result .*\.json: its SHA-256 is [0-9a-f]{64}, the result records [0-9a-f]{64}/,
      );
      assert(error.message.includes(bin), error.message);
      assertMatch(error.message, /--retrain, or delete both files and train again$/);
    }
    assertEquals(tf.memory().numTensors, tensors, "nothing decoded");
  });
});

Deno.test("saveResult() refuses weights holding NaN, naming the layer, and writes nothing", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("pytorch", { seed: 0 });
    const weights = modelWeights(model);
    const kernel = weights["conv_1/kernel"];
    assert(kernel, Object.keys(weights).join(", "));
    const values = kernel.dataSync().slice();
    values[3] = NaN;
    const poisoned = { ...weights, "conv_1/kernel": tf.tensor(values, kernel.shape) };
    const result = await makeResult(makeConfig("pytorch", { preset: "smoke" }));
    await assertRejects(
      () => saveResult(dir, result, poisoned),
      /^Error: Refusing to store the result pytorch_wasm_\w+: layer conv_1 \(conv_1\/kernel\) holds 1 value\(s\) that are not finite \(e\.g\. NaN\);.*nothing was written/,
    );
    assertEquals(await fileNames(dir), []);
    poisoned["conv_1/kernel"].dispose();
    model.dispose();
  });
});

Deno.test("saveCheckpoint() refuses a NaN weight or an infinite momentum and keeps the previous checkpoint", async () => {
  await withTempDir(async (dir) => {
    const good = { "conv_1/kernel": tf.tensor1d([1, 2, 3]) };
    await saveCheckpoint(dir, "k", {
      history: [epochMetrics(1)],
      modelWeights: good,
      optimizerWeights: good,
    });
    const nan = { "conv_1/kernel": tf.tensor1d([1, NaN, 3]) };
    const inf = { "logits/bias": tf.tensor1d([Infinity]) };
    await assertRejects(
      () =>
        saveCheckpoint(dir, "k", {
          history: [epochMetrics(1), epochMetrics(2)],
          modelWeights: nan,
          optimizerWeights: good,
        }),
      /Refusing to save the checkpoint of k after epoch 2: layer conv_1 \(conv_1\/kernel\) holds 1 value/,
    );
    await assertRejects(
      () =>
        saveCheckpoint(dir, "k", {
          history: [epochMetrics(1), epochMetrics(2)],
          modelWeights: good,
          optimizerWeights: inf,
        }),
      /layer logits \(logits\/bias's momentum\) holds 1 value\(s\) that are not finite \(e\.g\. Infinity\)/,
    );
    const kept = (await loadCheckpoint(dir, "k"))!;
    assertEquals(kept.history.length, 1, "the epoch-1 checkpoint is still there");
    disposeCheckpoint(kept);
    assertEquals(await fileNames(`${dir}/checkpoints`), ["k.ckpt"]);
    tf.dispose([good["conv_1/kernel"], nan["conv_1/kernel"], inf["logits/bias"]]);
  });
});

Deno.test("a flipped bit in a checkpoint's weights or optimizer state is an error, not a silent resume", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/checkpoints/k.ckpt`;
    const model = { w: tf.tensor1d([1, 2, 3, 4]) };
    const momentum = { w: tf.tensor1d([0.5, 0.25, 0.125, 0.0625]) };
    await saveCheckpoint(dir, "k", {
      history: [epochMetrics(1)],
      modelWeights: model,
      optimizerWeights: momentum,
    });
    const good = await Deno.readFile(path);
    const tensors = tf.memory().numTensors;
    // The optimizer state is last in the file, the model weights just before it.
    for (const [offset, what] of [[2, "optimizer state"], [20, "model weights"]] as const) {
      await Deno.writeFile(path, good);
      await flipBit(path, offset);
      const error = await rejection(loadCheckpoint(dir, "k"), what);
      assertMatch(
        error.message,
        new RegExp(
          `The checkpoint .*k\\.ckpt is damaged: its ${what} have SHA-256 [0-9a-f]{64}, the header records [0-9a-f]{64}; it is not used\\. Delete .*k\\.ckpt to start the run over \\(or run the same command with --retrain\\)`,
        ),
      );
    }
    assertEquals(tf.memory().numTensors, tensors, "the decoded tensors were freed");
    tf.dispose([model.w, momentum.w]);
  });
});

/** Rewrites a checkpoint's JSON header with `edit`. */
async function editCheckpointHeader(path: string, edit: (header: Record<string, unknown>) => void) {
  const file = await Deno.readFile(path);
  const length = new DataView(file.buffer).getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(file.subarray(4, 4 + length)));
  edit(header);
  const bytes = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + bytes.length + file.length - 4 - length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  out.set(file.subarray(4 + length), 4 + bytes.length);
  await Deno.writeFile(path, out);
}

Deno.test("a checkpoint whose header has a renamed, missing or non-finite field names the field", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/checkpoints/k.ckpt`;
    const weights = { w: tf.tensor1d([1, 2]) };
    const cases: [string, (header: Record<string, unknown>) => void, RegExp][] = [
      [
        "epoch renamed to epocX",
        (h) => {
          const [first] = h.history as Record<string, unknown>[];
          first.epocX = first.epoch;
          delete first.epoch;
        },
        /is invalid: history\[0\]\.epoch is missing; delete .*k\.ckpt to start the run over \(or run the same command with --retrain\)/,
      ],
      ["a null loss", (h) => {
        (h.history as Record<string, unknown>[])[1].testLoss = null;
      }, /history\[1\]\.testLoss is null/],
      ["epochs out of order", (h) => {
        (h.history as Record<string, unknown>[])[1].epoch = 3;
      }, /history\[1\]\.epoch is 3, expected 2/],
      ["no hash", (h) => delete h.modelSha256, /modelSha256 is missing/],
    ];
    for (const [what, edit, expected] of cases) {
      await saveCheckpoint(dir, "k", {
        history: [epochMetrics(1), epochMetrics(2)],
        modelWeights: weights,
        optimizerWeights: {},
      });
      await editCheckpointHeader(path, edit);
      const error = await rejection(loadCheckpoint(dir, "k"), what);
      assertMatch(error.message, expected, what);
      assert(error.message.includes(path), error.message);
    }
    tf.dispose(weights.w);
  });
});

Deno.test("a result file with a renamed, missing or wrong field names the file and the field and mentions --retrain", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("small-net");
    const config = makeConfig("small-net", { preset: "smoke", overrides: { numEpochs: 2 } });
    const result = await makeResult(config);
    const path = await saveResult(dir, result, modelWeights(model));
    model.dispose();
    const stored = JSON.parse(await Deno.readTextFile(path));
    // deno-lint-ignore no-explicit-any
    const cases: [string, (copy: Record<string, any>) => void, RegExp][] = [
      [
        "history: []",
        (r) => (r.history = []),
        /history has 0 epochs, the config trains 2 \(one entry per epoch\)/,
      ],
      ["epoch renamed", (r) => {
        r.history[0].epocX = r.history[0].epoch;
        delete r.history[0].epoch;
      }, /history\[0\]\.epoch is missing/],
      [
        "accuracy a string",
        (r) => (r.history[1].testAccuracy = "0.9"),
        /history\[1\]\.testAccuracy must be a finite number, is the string "0\.9"/,
      ],
      [
        "an extra field",
        (r) => (r.history[1].note = 1),
        /history\[1\] has unknown field\(s\): note/,
      ],
      ["no costs", (r) => delete r.costs, /costs is missing/],
      [
        "a NaN cost",
        (r) => (r.costs.memory[0].peakBytes = null),
        /costs\.memory\[0\]\.peakBytes is null/,
      ],
      ["no hash", (r) => delete r.weightsSha256, /weightsSha256 is missing/],
      ["no runtime", (r) => (r.runtime = "wasm"), /runtime must be an object/],
      [
        "a bad shape",
        (r) => (r.weightSpecs[0].shape = [3, "x"]),
        /weightSpecs\[0\]\.shape must be an array of whole numbers/,
      ],
    ];
    for (const [what, edit, expected] of cases) {
      const copy = structuredClone(stored);
      edit(copy);
      await Deno.writeTextFile(path, JSON.stringify(copy));
      const error = await rejection(loadResult(dir, result.key), what);
      assertMatch(error.message, new RegExp(`^The result file ${path} is invalid: `), what);
      assertMatch(error.message, expected, what);
      assertMatch(
        error.message,
        /delete it and run the experiment again, or run the same command with --retrain$/,
        what,
      );
    }
  });
});

Deno.test("saveResult() writes the weights first: a crash between the two files leaves no result without weights", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("small-net");
    const result = await makeResult(makeConfig("small-net", { preset: "smoke" }));
    await assertRejects(
      () => saveResult(dir, result, modelWeights(model), { crashAfterFiles: 1 }),
      /Simulated crash after 1 of the files/,
    );
    // Whatever the first file was, it must not be the result.
    assertEquals(await fileNames(dir), [`${result.key}.bin`]);
    assertEquals(await loadResult(dir, result.key), undefined, "no result to reuse");
    // The run then completes, and the result finds its weights.
    await saveResult(dir, result, modelWeights(model));
    const loaded = await loadResultWeights(dir, (await loadResult(dir, result.key))!);
    tf.dispose(Object.values(loaded));
    model.dispose();
  });
});

Deno.test("deleteStoredRun() removes the result, its weights, checkpoint and the measurements of its weights", async () => {
  await withTempDir(async (dir) => {
    const model = buildModel("small-net");
    const result = await makeResult(makeConfig("small-net", { preset: "smoke" }));
    await saveResult(dir, result, modelWeights(model));
    await saveCheckpoint(dir, result.key, {
      history: [],
      modelWeights: modelWeights(model),
      optimizerWeights: {},
    });
    await saveMeasurement(dir, `deployment_v2_${result.key}`, { x: 1 });
    await saveMeasurement(dir, "memory_small-net_wasm_batch16", { x: 2 });
    await Deno.mkdir(`${dir}/exports/${result.key}/float32`, { recursive: true });
    model.dispose();
    await deleteStoredRun(dir, result.key);
    assertEquals(await fileNames(dir), ["checkpoints", "exports", "measurements"]);
    assertEquals(await fileNames(`${dir}/checkpoints`), []);
    assertEquals(await fileNames(`${dir}/exports`), []);
    assertEquals(await fileNames(`${dir}/measurements`), ["memory_small-net_wasm_batch16.json"]);
  });
});

// --- Measurements

Deno.test("loadMeasurement() ignores a measurement made from other weights and names a bad field", async () => {
  await withTempDir(async (dir) => {
    await saveMeasurement(dir, "m", { ms: 1.5 }, { measuredFrom: "a".repeat(64) });
    assertEquals(await loadMeasurement(dir, "m", { measuredFrom: "a".repeat(64) }), { ms: 1.5 });
    assertEquals(await loadMeasurement(dir, "m", { measuredFrom: "b".repeat(64) }), undefined);
    await Deno.writeTextFile(
      `${dir}/measurements/m.json`,
      JSON.stringify({ schemaVersion: 1, value: { latency: { ms: null } } }),
    );
    await assertRejects(
      () => loadMeasurement(dir, "m"),
      /The measurement .*m\.json is invalid: value\.latency\.ms is null \(a value that was not finite when it was stored\); delete it to measure again/,
    );
  });
});
