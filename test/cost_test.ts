import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import {
  measureInference,
  measureSavedSize,
  measureStepMemory,
  measureTrainingMemory,
  median,
} from "../lib/measure/cost.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { buildModel } from "../lib/models/registry.ts";

const backend = await initBackend();

/** Bytes of all of a model's weights (trainable or not) as float32. */
function weightBytes(model: tf.LayersModel): number {
  return model.weights.reduce(
    (sum, weight) => sum + tf.util.sizeFromShape(weight.shape as number[]) * 4,
    0,
  );
}

// --- median

Deno.test("median() of an odd count is the middle value", () => {
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([7]), 7);
});

Deno.test("median() of an even count is the mean of the middle two", () => {
  assertEquals(median([4, 1, 3, 2]), 2.5);
  assertEquals(median([10, 2]), 6);
});

Deno.test("median() sorts numerically, not as text, and leaves its input alone", () => {
  const values = [10, 9, 100];
  assertEquals(median(values), 10);
  assertEquals(values, [10, 9, 100]);
});

Deno.test("median() of no values throws", () => {
  assertThrows(() => median([]), /median\(\) needs at least one value/);
});

// --- measureStepMemory (in this process)

Deno.test("measureStepMemory() of small-net grows with the batch and leaks no tensors", async () => {
  const model = buildModel("small-net");
  const tensorsBefore = tf.memory().numTensors;
  const bytesBefore = tf.memory().numBytes;
  const at16 = await measureStepMemory(model, { batchSize: 16 });
  const at64 = await measureStepMemory(model, { batchSize: 64 });
  assertEquals(tf.memory().numTensors, tensorsBefore, "tensors left behind");
  assertEquals(tf.memory().numBytes, bytesBefore, "bytes left behind");
  assert(at16 > weightBytes(model), `${at16} bytes must exceed the weights' ${weightBytes(model)}`);
  assert(at16 < at64, `batch 16 (${at16} bytes) must need less than batch 64 (${at64} bytes)`);
  // The activations dominate small-net's step, so 4x the batch costs well over 2x the memory.
  assert(at64 > 2 * at16, `batch 64 (${at64}) should need over twice batch 16 (${at16})`);
  model.dispose();
});

Deno.test("measureStepMemory() gives the same figure twice: nothing of one step stays for the next", async () => {
  const model = buildModel("pytorch");
  const first = await measureStepMemory(model, { batchSize: 8 });
  const second = await measureStepMemory(model, { batchSize: 8 });
  assertEquals(second, first);
  model.dispose();
});

Deno.test("measureStepMemory() counts weights, gradients and momentum: at least 3x keras-mlp's weights at batch 1", async () => {
  const model = buildModel("keras-mlp");
  const peak = await measureStepMemory(model, { batchSize: 1 });
  // 669,706 float32 weights; at batch 1 the activations are tiny next to them.
  assertEquals(weightBytes(model), 669_706 * 4);
  assert(peak >= 3 * weightBytes(model), `${peak} bytes < 3 x ${weightBytes(model)}`);
  model.dispose();
});

// --- measureTrainingMemory (in a child process)

Deno.test("measureTrainingMemory() of small-net at batch 16 fits and agrees with the in-process figure", async () => {
  const measured = await measureTrainingMemory("small-net", { batchSize: 16 });
  assertEquals(measured.batchSize, 16);
  assertEquals(measured.fits, true, measured.note);
  assertEquals(measured.note, `tf.profile on ${backend}`);
  const model = buildModel("small-net");
  const inProcess = await measureStepMemory(model, { batchSize: 16 });
  model.dispose();
  assert(measured.peakBytes !== undefined);
  const ratio = measured.peakBytes / inProcess;
  assert(
    Math.abs(ratio - 1) <= 0.1,
    `child ${measured.peakBytes} bytes vs in-process ${inProcess} bytes (ratio ${ratio})`,
  );
});

// keras-cnn's first conv output alone at batch 60,000 is 60000 x 26 x 26 x 32 floats = 5.2 GB,
// more than wasm's 4 GB: the child fails at allocation (1.6 s on a quiet machine, 12 s beside
// other jobs), where keras-mlp at 200,000 takes 18 s and any model at 1,000,000 over 14 s.
Deno.test("measureTrainingMemory() reports a batch the backend cannot hold as not fitting, with a note", async () => {
  const started = performance.now();
  const measured = await measureTrainingMemory("keras-cnn", { batchSize: 60_000 });
  const seconds = (performance.now() - started) / 1000;
  assertEquals(measured.batchSize, 60_000);
  assertEquals(measured.fits, false);
  assertEquals(measured.peakBytes, undefined);
  assertMatch(
    measured.note ?? "",
    /^the backend could not run one step at this batch size \((RuntimeError|RangeError|Error): \S/,
  );
  assert(
    !measured.note!.includes("\u001b"),
    `no terminal colour codes in the note: ${measured.note}`,
  );
  // What is tested is the report above; the limit is only a safety net against a child that
  // hangs or computes instead of failing, far above the time it takes on a busy machine.
  assert(seconds < 180, `a batch that cannot fit must fail, not run: took ${seconds.toFixed(1)} s`);
});

// A typo in the model name must be an error, not a "does not fit" row in the cost table.
Deno.test({
  name: "measureTrainingMemory() rejects an unknown model instead of reporting it as not fitting",
  async fn() {
    let measured: unknown;
    try {
      measured = await measureTrainingMemory("resnet", { batchSize: 16 });
    } catch (error) {
      assertMatch((error as Error).message, /Unknown model "resnet"; choose one of: keras-mlp/);
      return;
    }
    throw new Error(`Expected a rejection, got ${JSON.stringify(measured)}`);
  },
});

// --- measureInference

const mnist = await loadMnist({ trainSize: 16, testSize: 300, seed: 0 });

Deno.test("measureInference() returns `repeats` positive timings, their median, and leaks no tensors", () => {
  const model = buildModel("pytorch");
  const tensorsBefore = tf.memory().numTensors;
  const timing = measureInference(model, mnist.test, { batchSize: 128, repeats: 5 });
  assertEquals(tf.memory().numTensors, tensorsBefore);
  assertEquals(timing.seconds.length, 5);
  assert(timing.seconds.every((s) => s > 0 && Number.isFinite(s)), String(timing.seconds));
  assert(timing.medianSeconds > 0);
  assertEquals(timing.medianSeconds, median(timing.seconds));
  model.dispose();
});

Deno.test("measureInference() defaults to 3 repeats", () => {
  const model = buildModel("small-net");
  const timing = measureInference(model, mnist.test);
  assertEquals(timing.seconds.length, 3);
  assert(timing.medianSeconds > 0);
  model.dispose();
});

Deno.test("measureInference() of the bigger model takes longer over the same images", () => {
  const small = buildModel("small-net");
  const big = buildModel("keras-cnn");
  const fast = measureInference(small, mnist.test, { repeats: 3 }).medianSeconds;
  const slow = measureInference(big, mnist.test, { repeats: 3 }).medianSeconds;
  // keras-cnn does over 100x small-net's multiply-adds per image.
  assert(slow > fast, `keras-cnn ${slow} s vs small-net ${fast} s`);
  small.dispose();
  big.dispose();
});

// --- measureSavedSize

Deno.test("measureSavedSize() of pytorch is 21,840 float32 weights, 87,360 bytes, plus a model.json", async () => {
  const model = buildModel("pytorch");
  const tensorsBefore = tf.memory().numTensors;
  const size = await measureSavedSize(model);
  assertEquals(tf.memory().numTensors, tensorsBefore);
  assertEquals(size.weightBytes, 87_360);
  assertEquals(size.weightBytes, 21_840 * 4);
  assert(size.modelJsonBytes > 1000, `model.json of ${size.modelJsonBytes} bytes is too small`);
  model.dispose();
});

Deno.test("measureSavedSize() of small-net also stores BatchNorm's moving statistics", async () => {
  const model = buildModel("small-net");
  const size = await measureSavedSize(model);
  // 518 trainable parameters plus the moving mean and variance of 5 channels.
  assertEquals(size.weightBytes, (518 + 10) * 4);
  model.dispose();
});
