import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import {
  buildFamilyModel,
  FAMILY_NAMES,
  familyParams,
  type FamilySpec,
  familySpecName,
} from "../lib/models/families.ts";
import { DepthwiseConv3x3 } from "../lib/models/depthwise.ts";
import { summarizeModel } from "../lib/models/summary.ts";
import { trainModel } from "../lib/training/train.ts";
import { makeConfig } from "../lib/training/config.ts";

await initBackend("wasm");

// A spread of widths in every family, from about 100 to about 30,000 parameters.
const SPECS: FamilySpec[] = [
  { family: "small", filters1: 2, filters2: 4, kernelSize: 3, batchNorm: true, activation: "relu" },
  {
    family: "small",
    filters1: 5,
    filters2: 8,
    kernelSize: 5,
    batchNorm: false,
    activation: "leakyRelu",
  },
  {
    family: "small",
    filters1: 16,
    filters2: 64,
    kernelSize: 3,
    batchNorm: true,
    activation: "leakyRelu",
  },
  {
    family: "downsampled",
    filters: [2, 4],
    kernelSize: 3,
    downsample: "pool",
    batchNorm: true,
    activation: "leakyRelu",
  },
  {
    family: "downsampled",
    filters: [5, 8],
    kernelSize: 3,
    downsample: "stride",
    batchNorm: true,
    activation: "leakyRelu",
  },
  {
    family: "downsampled",
    filters: [16, 32, 64],
    kernelSize: 5,
    downsample: "pool",
    batchNorm: false,
    activation: "relu",
  },
  { family: "bn", widths: [2, 4, 6] },
  { family: "bn", widths: [8, 16] },
  { family: "bn", widths: [16, 32, 64] },
  { family: "bn", widths: [8, 16, 32, 32] },
  { family: "separable", stem: 4, widths: [8] },
  { family: "separable", stem: 8, widths: [16, 32] },
  { family: "separable", stem: 32, widths: [64, 128, 128] },
  { family: "separable", stem: 4, widths: [8, 3], head: "flatten" },
  { family: "separable", stem: 4, widths: [6], head: "flatten" },
  { family: "vgg", stages: [[3, 3], [6, 6], [10]] },
  { family: "vgg", stages: [[8, 8], [16, 16], [32, 32]] },
];

Deno.test("familyParams() counts exactly what the built model trains, in every family", () => {
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  for (const spec of SPECS) {
    const model = buildFamilyModel(spec);
    const summary = summarizeModel(model);
    assertEquals(familyParams(spec), summary.trainableParams, familySpecName(spec));
    assert(summary.macs > 0, familySpecName(spec));
    counts.push(familyParams(spec));
    model.dispose();
  }
  assertEquals(tf.memory().numTensors, before);
  assert(Math.min(...counts) <= 150, `smallest ${Math.min(...counts)}`);
  assert(Math.max(...counts) >= 30_000, `largest ${Math.max(...counts)}`);
  assertEquals(new Set(SPECS.map((spec) => spec.family)).size, FAMILY_NAMES.length);
});

Deno.test("the four 518-parameter readings of Small Net count 518, 598, 518 and 518", () => {
  const small = { kernelSize: 3, batchNorm: true, activation: "leakyRelu" } as const;
  const counts = [
    { family: "small", filters1: 5, filters2: 8, ...small },
    { family: "small", filters1: 5, filters2: 8, ...small, kernelSize: 5 },
    { family: "downsampled", filters: [5, 8], downsample: "pool", ...small },
    { family: "downsampled", filters: [5, 8], downsample: "stride", ...small },
  ].map((spec) => familyParams(spec as FamilySpec));
  assertEquals(counts, [518, 598, 518, 518]);
});

Deno.test("familySpecName() gives each spec its own readable name", () => {
  const names = SPECS.map(familySpecName);
  assertEquals(new Set(names).size, names.length);
  assertEquals(names.slice(0, 2), ["small-2.4-k3-relu", "small-5.8-k5-nobn"]);
  assert(names.includes("stride-5.8-k3"));
  assert(names.includes("bn-16.32.64"));
  assert(names.includes("sep-8-16.32"));
  assert(names.includes("sep-4-8.3-flat"));
  assert(names.includes("vgg-3.3-6.6-10"));
});

Deno.test("bn is vgg with one conv per stage: the same layers, counts and initial weights", () => {
  const bn = buildFamilyModel({ family: "bn", widths: [4, 8, 16] }, { seed: 3 });
  const vgg = buildFamilyModel({ family: "vgg", stages: [[4], [8], [16]] }, { seed: 3 });
  assertEquals(bn.layers.map((l) => l.name), vgg.layers.map((l) => l.name));
  const [a, b] = [bn.getWeights(), vgg.getWeights()];
  assertEquals(a.length, b.length);
  a.forEach((weight, i) => assertEquals(weight.dataSync(), b[i].dataSync()));
  // A second conv in a stage adds 9 x in x out weights and BatchNorm's scale and shift.
  const deeper = buildFamilyModel({ family: "vgg", stages: [[4, 4], [8], [16]] }, { seed: 3 });
  assertEquals(summarizeModel(deeper).trainableParams - summarizeModel(bn).trainableParams, 152);
  assertEquals(deeper.layers.filter((l) => l.name.startsWith("pool")).length, 2);
  for (const model of [bn, vgg, deeper]) model.dispose();
});

Deno.test("a bad spec is an error that names the field and what it takes", () => {
  assertThrows(
    () => familyParams({ family: "bn", widths: [8] }),
    /widths must list 2 to 4 widths/,
  );
  assertThrows(
    () => buildFamilyModel({ family: "separable", stem: 0, widths: [8] }),
    /stem must be a whole number/,
  );
  assertThrows(
    () => familyParams({ family: "resnet" } as unknown as FamilySpec),
    /Unknown model family "resnet"; choose one of: small, downsampled, bn, separable, vgg/,
  );
  assertThrows(
    () => familyParams({ family: "separable", stem: 4, widths: [8], head: "avg" as "gap" }),
    /head must be "gap" or "flatten", got "avg"/,
  );
  assertThrows(
    () => familyParams({ family: "vgg", stages: [[8]] }),
    /stages must list 2 to 4 stages/,
  );
  assertThrows(
    () => familyParams({ family: "vgg", stages: [[8], [8, 8, 8, 8]] }),
    /stages\[1\] must list 1 to 3 widths/,
  );
});

Deno.test("DepthwiseConv3x3 computes tf.depthwiseConv2d's numbers and its gradients", async () => {
  const x = tf.randomUniform([2, 5, 6, 3], -1, 1, "float32", 1) as tf.Tensor4D;
  const dy = tf.randomUniform([2, 5, 6, 3], -1, 1, "float32", 2) as tf.Tensor4D;
  const layer = new DepthwiseConv3x3({
    name: "dw",
    kernelInitializer: tf.initializers.randomUniform({ minval: -1, maxval: 1, seed: 3 }),
  });
  const y = layer.apply(x) as tf.Tensor;
  const kernel = layer.getWeights()[0] as tf.Tensor4D;
  assertEquals(kernel.shape, [3, 3, 3, 1]);
  const ours = tf.grads((input: tf.Tensor, filter: tf.Tensor) => {
    layer.setWeights([filter]);
    return tf.mul(layer.apply(input) as tf.Tensor, dy);
  })([x, kernel]);
  // The reference: tf.js' own depthwise conv and its gradients, on the cpu backend (wasm's
  // gradients are ours, lib/backend/depthwise_grad.ts).
  const values = { x: x.arraySync(), dy: dy.arraySync(), kernel: kernel.arraySync() };
  const mine = { y: y.arraySync(), dx: ours[0].arraySync(), dw: ours[1].arraySync() };
  await tf.setBackend("cpu");
  try {
    const [cx, cdy, ck] = [tf.tensor(values.x), tf.tensor(values.dy), tf.tensor(values.kernel)];
    const reference = (input: tf.Tensor, filter: tf.Tensor) =>
      tf.depthwiseConv2d(input as tf.Tensor4D, filter as tf.Tensor4D, 1, "same");
    const expectedY = reference(cx, ck).arraySync();
    const [dx, dw] = tf.grads((input: tf.Tensor, filter: tf.Tensor) =>
      tf.mul(reference(input, filter), cdy)
    )([cx, ck]);
    assertClose(mine.y, expectedY);
    assertClose(mine.dx, dx.arraySync());
    assertClose(mine.dw, dw.arraySync());
  } finally {
    await initBackend("wasm");
  }
});

Deno.test("every family trains one epoch on wasm without leaking tensors", async () => {
  const count = 32;
  const images = new Float32Array(count * 784);
  for (let i = 0; i < images.length; i++) images[i] = (i * 7919 % 255) / 255;
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const split = { images, labels, count };
  const config = makeConfig("small-net", {
    overrides: {
      trainSize: count,
      testSize: count,
      numEpochs: 1,
      batchSize: 16,
      learningRate: 0.05,
    },
  });
  for (const family of FAMILY_NAMES) {
    const spec = SPECS.find((spec) => spec.family === family)!;
    const model = buildFamilyModel(spec);
    const before = tf.memory().numTensors;
    const [metrics] = await trainModel(model, { train: split, test: split }, { config });
    assert(Number.isFinite(metrics.trainLoss), familySpecName(spec));
    assertEquals(tf.memory().numTensors, before, familySpecName(spec));
    model.dispose();
  }
});

function assertClose(actual: unknown, expected: unknown): void {
  const a = (actual as number[]).flat(4) as number[];
  const e = (expected as number[]).flat(4) as number[];
  assertEquals(a.length, e.length);
  a.forEach((value, i) => assertAlmostEquals(value, e[i], 1e-4));
}
