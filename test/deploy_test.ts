import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertThrows,
} from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { makeConfig } from "../lib/training/config.ts";
import {
  copyModel,
  evaluateQuantized,
  exportModel,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  formatExports,
  formatLatency,
  formatQuantization,
  loadExportedModel,
  measureDeployment,
  measureLatency,
  percentile,
  quantizeInt8,
  quantizeUint8,
  quantizeWeights,
  roundToFloat16,
  WEIGHTS_FILE,
} from "../lib/measure/deploy.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { buildModel } from "../lib/models/registry.ts";
import { resultKey, saveResult } from "../lib/training/results.ts";
import { evaluateModel, trainModel } from "../lib/training/train.ts";

const backend = await initBackend();
const data = await loadMnist({ trainSize: 1024, testSize: 400, seed: 0 });
const config = makeConfig("keras-mlp", {
  preset: "smoke",
  overrides: { trainSize: 1024, testSize: 400, evalBatchSize: 400 },
});
// One epoch on 1,024 images: far from done, but well above chance, so accuracy can drop.
const trained = buildModel("keras-mlp", { seed: 0 });
const history = await trainModel(trained, data, { config });

function weightValues(model: tf.LayersModel): Float32Array[] {
  return model.weights.map((weight) => (weight.read().dataSync() as Float32Array).slice());
}

function predictions(model: tf.LayersModel, count = 50): Float32Array {
  return tf.tidy(() => {
    const xs = tf.tensor4d(data.test.images.subarray(0, count * 784), [count, 28, 28, 1]);
    return (model.predict(xs) as tf.Tensor).dataSync() as Float32Array;
  });
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  return a.reduce((worst, value, i) => Math.max(worst, Math.abs(value - b[i])), 0);
}

// --- float16

Deno.test("float32ToFloat16Bits() gives the IEEE half-precision bits of known values", () => {
  const known: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [65504, 0x7bff], // the largest half
    [65519.99, 0x7bff], // still rounds down to it
    [65520, 0x7c00], // rounds up past it: infinity
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Infinity, 0x7c00],
    [2 ** -14, 0x0400], // the smallest normal half
    [2 ** -14 - 2 ** -24, 0x03ff], // the largest subnormal
    [2 ** -24, 0x0001], // the smallest subnormal
    [2 ** -25, 0x0000], // exactly half of it: ties to even, 0
    [1.5 * 2 ** -25, 0x0001], // above half: rounds up
    [2 ** -26, 0x0000],
    [1 + 2 ** -11, 0x3c00], // a tie between 1 and the next half: to the even one, 1
    [1 + 3 * 2 ** -11, 0x3c02], // a tie between odd and even: to the even one
  ];
  for (const [value, bits] of known) {
    assertEquals(float32ToFloat16Bits(value), bits, `${value} -> 0x${bits.toString(16)}`);
  }
  assertEquals(float32ToFloat16Bits(NaN) & 0x7c00, 0x7c00);
  assert((float32ToFloat16Bits(NaN) & 0x3ff) !== 0, "NaN must stay NaN");
});

Deno.test("roundToFloat16() agrees with V8's Math.f16round on 100,000 float32 bit patterns", () => {
  const bits = new Uint32Array(100_000);
  for (let i = 0; i < bits.length; i++) bits[i] = Math.imul(i, 0x9e3779b1) >>> 0; // all exponents
  const values = new Float32Array(bits.buffer);
  const rounded = roundToFloat16(values);
  for (let i = 0; i < values.length; i++) {
    const expected = Math.f16round(values[i]);
    if (!Object.is(rounded[i], expected) && !(Number.isNaN(expected) && Number.isNaN(rounded[i]))) {
      throw new Error(`${values[i]} rounds to ${rounded[i]}, Math.f16round gives ${expected}`);
    }
  }
});

Deno.test("float16BitsToFloat32() decodes all 65,536 halves as tf.js' loader does", () => {
  const halves = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const decoded = tf.io.decodeWeights(halves.buffer, [
    { name: "all", shape: [65536], dtype: "float32", quantization: { dtype: "float16" } },
  ]).all;
  const theirs = decoded.dataSync();
  decoded.dispose();
  for (let i = 0; i < 65536; i++) {
    const ours = float16BitsToFloat32(i);
    if (!Object.is(ours, theirs[i]) && !(Number.isNaN(ours) && Number.isNaN(theirs[i]))) {
      throw new Error(`half 0x${i.toString(16)}: ours ${ours}, tf.js ${theirs[i]}`);
    }
  }
});

// --- int8 and uint8

Deno.test("quantizeInt8() per channel keeps a small channel precise beside a large one", () => {
  // A [2, 2] kernel (2 inputs, 2 output channels): channel 0 is 100x larger than channel 1.
  const values = Float32Array.from([1, 0.003, -0.5, -0.01]);
  const perChannel = quantizeInt8(values, [2, 2]);
  const perTensor = quantizeInt8(values, [2, 2], { perChannel: false });
  assertEquals([...perChannel.scales].map((s) => Math.fround(s)), [
    Math.fround(1 / 127),
    Math.fround(Math.fround(0.01) / 127),
  ]);
  assertEquals([...perChannel.quantized], [127, 38, -64, -127]);
  assertEquals(perTensor.scales.length, 1);
  // One step of 1/127 ≈ 0.0079 rounds the small channel's 0.003 to 0, losing it entirely.
  assertEquals(perTensor.dequantized[1], 0);
  assertAlmostEquals(perChannel.dequantized[1], 0.003, 0.01 / 127 / 2 + 1e-9);
  assertAlmostEquals(perChannel.dequantized[3], -0.01, 1e-9);
});

Deno.test("quantizeInt8() keeps zero exactly and never leaves [-127, 127]", () => {
  const values = Float32Array.from([0, -3, 3, 1.4, 0, 0, 0, 0]);
  const { quantized, dequantized } = quantizeInt8(values, [8], { perChannel: false });
  assertEquals([...quantized], [0, -127, 127, 59, 0, 0, 0, 0]); // 1.4 / (3 / 127) = 59.3
  assertEquals(dequantized[0], 0);
  const zeros = quantizeInt8(new Float32Array(4), [2, 2]);
  assertEquals([...zeros.dequantized], [0, 0, 0, 0]);
});

Deno.test("quantizeUint8() nudges its range so that 0 is exactly representable, as tfjs-converter does", () => {
  // -1 to 2.5 in 255 steps of 3.5 / 255: zero would fall between levels 72 and 73 (72.86).
  const values = Float32Array.from([-1, 0, 0.25, 2.5]);
  const { quantized, scale, min, dequantized } = quantizeUint8(values);
  assertAlmostEquals(scale, 3.5 / 255, 1e-15);
  // Nudged: the range starts at -73 steps, so that level 73 is exactly 0.
  assertAlmostEquals(min, -73 * 3.5 / 255, 1e-12);
  assertEquals(quantized[1], 73);
  assertEquals(dequantized[1], 0);
  assertEquals([quantized[0], quantized[3]], [0, 255]);
  assertAlmostEquals(dequantized[3], 2.5 - (73 * 3.5 / 255 - 1), 1e-7); // the top moves down too
  // A constant tensor (a bias still at zero): scale 1, every q 0, min the value.
  const constant = quantizeUint8(Float32Array.from([0.5, 0.5]));
  assertEquals([constant.scale, constant.min, [...constant.quantized]], [1, 0.5, [0, 0]]);
});

// --- a model's weights

Deno.test("quantizeWeights() sizes: float16 half of float32, int8 about a quarter plus scales", () => {
  const sizes = Object.fromEntries(
    (["float32", "float16", "int8", "uint8"] as const).map((precision) => {
      const quantized = quantizeWeights(trained, precision);
      tf.dispose(Object.values(quantized.tensors));
      return [precision, quantized.bytes];
    }),
  );
  const params = 669_706;
  assertEquals(sizes.float32, params * 4);
  assertEquals(sizes.float16, params * 2);
  // Kernels 784x512, 512x512, 512x10 as int8 with 512 + 512 + 10 scales; biases 1,034 float32.
  const kernels = 784 * 512 + 512 * 512 + 512 * 10;
  assertEquals(sizes.int8, kernels + (512 + 512 + 10) * 4 + (512 + 512 + 10) * 4);
  assertEquals(sizes.uint8, params + 6 * 8);
});

Deno.test("quantizeWeights() leaves the model alone and its errors stay within half a step", () => {
  const before = weightValues(trained);
  const tensors = tf.memory().numTensors;
  const half = quantizeWeights(trained, "float16");
  const int8 = quantizeWeights(trained, "int8");
  assertEquals(weightValues(trained), before);
  assertEquals(Object.keys(half.tensors), trained.weights.map((w) => w.originalName));
  // float16 keeps 11 significant bits: relative error at most 2^-11 for these normal values.
  const largest = Math.max(...before.map((v) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0)));
  assert(half.maxAbsError <= largest * 2 ** -11, `${half.maxAbsError}`);
  assert(half.maxAbsError > 0, "float16 must change some weights");
  assert(int8.maxAbsError <= (largest / 127) / 2 + 1e-7, `${int8.maxAbsError}`);
  tf.dispose([...Object.values(half.tensors), ...Object.values(int8.tensors)]);
  assertEquals(tf.memory().numTensors, tensors, "tensors left behind");
});

Deno.test("evaluateQuantized() in float32 reproduces evaluateModel, and lower precisions cost little", async () => {
  const before = weightValues(trained);
  const tensors = tf.memory().numTensors;
  const reference = evaluateModel(trained, data.test, { batchSize: 400 });
  assertEquals(reference.accuracy, history[0].testAccuracy);
  assert(
    reference.accuracy > 0.6,
    `accuracy ${reference.accuracy}: the test needs a trained model`,
  );
  const results = Object.fromEntries(
    await Promise.all(
      (["float32", "float16", "int8", "uint8"] as const).map(async (precision) => [
        precision,
        await evaluateQuantized(trained, data.test, { precision, batchSize: 400 }),
      ]),
    ),
  );
  assertEquals(results.float32.accuracy, reference.accuracy);
  assertAlmostEquals(results.float32.loss, reference.loss, 1e-6);
  // 400 images: one image is 0.25 points.
  assertAlmostEquals(results.float16.accuracy, reference.accuracy, 0.0051);
  assertAlmostEquals(results.int8.accuracy, reference.accuracy, 0.0151);
  assertAlmostEquals(results.uint8.accuracy, reference.accuracy, 0.0251);
  assertNotEquals(results.int8.loss, reference.loss);
  assertEquals(weightValues(trained), before, "the caller's weights changed");
  assertEquals(tf.memory().numTensors, tensors, "tensors left behind");
});

Deno.test("evaluateQuantized() rejects an unknown precision", async () => {
  await assertRejects(
    () => evaluateQuantized(trained, data.test, { precision: "int4" as "int8" }),
    /Unknown precision "int4"; use one of: float32, float16, int8, uint8/,
  );
});

Deno.test("copyModel() gives an independent model with the given weights", async () => {
  const zeros: tf.NamedTensorMap = {};
  for (const weight of trained.weights) zeros[weight.originalName] = tf.zerosLike(weight.read());
  const copy = await copyModel(trained, zeros);
  tf.dispose(Object.values(zeros));
  assertEquals(copy.countParams(), trained.countParams());
  assert(predictions(copy).every((value) => value === 0));
  assert(predictions(trained).some((value) => value !== 0));
  copy.dispose();
});

// --- latency

Deno.test("percentile() is the nearest rank: p95 of 1..200 is 190, p50 of 1..4 is 2", () => {
  const values = Array.from({ length: 200 }, (_, i) => 200 - i);
  assertEquals(percentile(values, 95), 190);
  assertEquals(percentile([4, 1, 3, 2], 50), 2);
  assertEquals(percentile([7], 95), 7);
  assertThrows(() => percentile([], 95), /at least one value/);
  assertThrows(() => percentile([1], 0), /p must be in \(0, 100\]/);
});

Deno.test("measureLatency() times single images: positive, p95 >= median >= min, no leaks", () => {
  const small = buildModel("small-net");
  const tensors = tf.memory().numTensors;
  const latency = measureLatency(small, data.test, { repeats: 30, warmup: 3 });
  assertEquals(tf.memory().numTensors, tensors, "tensors left behind");
  assertEquals(latency.repeats, 30);
  assert(latency.minMs > 0 && latency.minMs <= latency.medianMs, JSON.stringify(latency));
  assert(latency.medianMs <= latency.p95Ms, JSON.stringify(latency));
  assertThrows(() => measureLatency(small, data.test, { repeats: 0 }), /repeats must be/);
  small.dispose();
});

// --- export and load back

async function roundTrip(model: tf.LayersModel, quantize?: "float16" | "uint8") {
  const dir = await Deno.makeTempDir({ prefix: "sizewise-export-" });
  try {
    const written = await exportModel(model, dir, { quantize });
    const json = JSON.parse(await Deno.readTextFile(written.modelJsonPath));
    const loaded = await loadExportedModel(dir);
    const theirs = predictions(loaded);
    loaded.dispose();
    const onDisk = (await Deno.stat(`${dir}/${WEIGHTS_FILE}`)).size;
    return { written, json, theirs, onDisk };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("exportModel() writes a model.json and weights that tf.loadLayersModel reads back exactly", async () => {
  const tensors = tf.memory().numTensors;
  const { written, json, theirs, onDisk } = await roundTrip(trained);
  assertEquals(json.format, "layers-model");
  assertEquals(json.weightsManifest[0].paths, [WEIGHTS_FILE]);
  assertEquals(json.modelTopology.class_name, "Sequential");
  assertEquals(onDisk, 669_706 * 4);
  assertEquals(written.weightBytes, onDisk);
  assertEquals(written.totalBytes, written.weightBytes + written.modelJsonBytes);
  assertEquals(theirs, predictions(trained));
  assertEquals(tf.memory().numTensors, tensors, "tensors left behind");
});

Deno.test("exportModel() as float16 halves the file and tf.js loads the same weights as roundToFloat16", async () => {
  const { written, json, theirs } = await roundTrip(trained, "float16");
  assertEquals(written.weightBytes, 669_706 * 2);
  assertEquals(json.weightsManifest[0].weights[0].quantization, { dtype: "float16" });
  const quantized = quantizeWeights(trained, "float16");
  const copy = await copyModel(trained, quantized.tensors);
  tf.dispose(Object.values(quantized.tensors));
  assertEquals(theirs, predictions(copy));
  assert(maxDifference(theirs, predictions(trained)) < 0.05);
  copy.dispose();
});

Deno.test("exportModel() as uint8 quarters the file; tf.js dequantizes it as quantizeWeights does", async () => {
  const { written, json, theirs } = await roundTrip(trained, "uint8");
  assertEquals(written.weightBytes, 669_706);
  const spec = json.weightsManifest[0].weights[0];
  assertEquals(spec.dtype, "float32");
  assertEquals(spec.quantization.dtype, "uint8");
  assert(spec.quantization.scale > 0 && spec.quantization.min < 0, JSON.stringify(spec));
  const quantized = quantizeWeights(trained, "uint8");
  const copy = await copyModel(trained, quantized.tensors);
  tf.dispose(Object.values(quantized.tensors));
  assertEquals(theirs, predictions(copy));
  assert(maxDifference(theirs, predictions(trained)) < 0.5);
  copy.dispose();
});

Deno.test("exportModel() round-trips conv models with BatchNorm and channel dropout (small-net, pytorch)", async () => {
  for (const name of ["small-net", "pytorch"]) {
    const model = buildModel(name, { seed: 3 });
    const { theirs } = await roundTrip(model);
    assertEquals(theirs, predictions(model), name);
    model.dispose();
  }
});

Deno.test("exportModel() refuses int8, which tf.js cannot load", async () => {
  await assertRejects(
    () => exportModel(trained, "/nonexistent", { quantize: "int8" as "uint8" }),
    /can quantize to "float16" or "uint8" \(tf.js loads no other format\), got "int8"/,
  );
});

// --- everything for a stored result

// Stores `model`'s weights as the result of `config` in `dir` and reads the result back.
async function storeResult(dir: string, model: tf.LayersModel) {
  const key = await resultKey(config, backend);
  const weights: tf.NamedTensorMap = {};
  for (const weight of model.weights) weights[weight.originalName] = weight.read();
  await saveResult(dir, {
    key,
    config,
    runtime: {},
    finishedAt: new Date().toISOString(),
    history,
    costs: { trainableParams: 669_706, macsPerImage: 669_696 },
  }, weights);
  return JSON.parse(await Deno.readTextFile(`${dir}/${key}.json`));
}

Deno.test("measureDeployment() measures a stored result once, then reads it back; tables show it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sizewise-deploy-" });
  try {
    const result = await storeResult(dir, trained);
    const tensors = tf.memory().numTensors;
    const options = { resultsDir: dir, measurementsDir: dir, repeats: 5, warmup: 1 };
    const row = await measureDeployment(result, data.test, options);
    assertEquals(tf.memory().numTensors, tensors, "tensors left behind");
    assertEquals(row.precisions.float32.accuracy, row.storedAccuracy);
    assertEquals(row.precisions.float16.bytes, 669_706 * 2);
    assertEquals(row.exports.uint8.weightBytes, 669_706);
    assertEquals(row.latency.repeats, 5);
    assert((await Deno.stat(`${row.exports.float16.dir}/model.json`)).isFile);
    // Stored: the second call measures nothing (same latency figures, to the last digit).
    const again = await measureDeployment(result, data.test, options);
    assertEquals(again, row);
    assertMatch(formatLatency([row]), /\| keras-mlp \| 669,706 \| 669,696 \| [\d.]+ \| [\d.]+ \|/);
    assertMatch(formatQuantization([row]), /\| keras-mlp \| 2\.55 \| 1\.28 \| 0\.65 \| 0\.64 \|/);
    assertMatch(
      formatExports([row]),
      /\| keras-mlp \| \d\.\d \| 261\d\.\d \| 13\d\d\.\d \| 65\d\.\d \|/,
    );
    await assertRejects(
      () => measureDeployment(result, { ...data.test, count: 10 }, options),
      /was tested on 400 images, the data given has 10/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("measureDeployment() measures again when the weights change, and refuses damaged weights", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sizewise-deploy-" });
  try {
    const key = await resultKey(config, backend);
    const options = { resultsDir: dir, measurementsDir: dir, repeats: 2, warmup: 0 };
    const first = await storeResult(dir, trained);
    const row = await measureDeployment(first, data.test, options);
    assertEquals(row.weightsSha256, first.weightsSha256);
    // A stored row that claims another accuracy for these weights is what the store serves...
    const path = `${dir}/measurements/deployment_v2_${key}.json`;
    const planted = JSON.parse(await Deno.readTextFile(path));
    planted.value.precisions.float32.accuracy = 0.151;
    await Deno.writeTextFile(path, JSON.stringify(planted));
    assertEquals(
      (await measureDeployment(first, data.test, options)).precisions.float32.accuracy,
      0.151,
    );
    // ...but not once the weights it measured are replaced: then it is measured again.
    const untrained = buildModel("keras-mlp", { seed: 7 });
    const second = await storeResult(dir, untrained);
    assertNotEquals(second.weightsSha256, first.weightsSha256);
    const again = await measureDeployment(second, data.test, options);
    assertEquals(again.weightsSha256, second.weightsSha256);
    assertEquals(again.precisions.float32.accuracy, evaluateModel(untrained, data.test).accuracy);
    untrained.dispose();
    // Bits flipped in the stored weights: no figures at all, even with remeasure.
    const bin = `${dir}/${key}.bin`;
    const bytes = await Deno.readFile(bin);
    for (let i = 3; i < 1000; i += 4) bytes[i] ^= 0x40; // exponent bits of 250 weights
    await Deno.writeFile(bin, bytes);
    await assertRejects(
      () => measureDeployment(second, data.test, { ...options, remeasure: true }),
      /The weights file .*\.bin does not match its result .*\.json: its SHA-256 is .*--retrain/,
    );
    // A stored row with a field missing names the file and the field.
    const bad = JSON.parse(await Deno.readTextFile(path));
    delete bad.value.latency.p95Ms;
    await Deno.writeTextFile(path, JSON.stringify(bad));
    await assertRejects(
      () => measureDeployment(second, data.test, options),
      /The measurement .*deployment_v2_.*\.json is invalid: value\.latency\.p95Ms is missing; delete it, or run "deno task choose" with --remeasure/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
