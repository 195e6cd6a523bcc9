import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import {
  buildSmallConvNet,
  buildSmallNet,
  SMALL_NET_SPEC,
  smallConvNetName,
} from "../lib/models/builders.ts";
import { buildModel, MODEL_NAMES } from "../lib/models/registry.ts";
import {
  formatFirstLayerVariants,
  formatModelOverview,
  formatSummary,
  summarizeModel,
} from "../lib/models/summary.ts";
import { initBackend } from "../lib/backend/backend.ts";

await initBackend();

// The article's counts (trainable parameters only).
const ARTICLE_PARAMS: Record<string, number> = {
  "keras-mlp": 669_706,
  "keras-cnn": 1_199_882,
  "pytorch": 21_840,
  "pytorch-gap": 7_090,
  "small-net": 518,
};

for (const name of MODEL_NAMES) {
  Deno.test(`buildModel("${name}") has ${ARTICLE_PARAMS[name]} trainable parameters`, () => {
    const model = buildModel(name);
    assertEquals(summarizeModel(model).trainableParams, ARTICLE_PARAMS[name]);
    model.dispose();
  });

  Deno.test(`buildModel("${name}") maps a batch of images to 10 logits each`, () => {
    const model = buildModel(name);
    const logits = tf.tidy(() => model.predict(tf.zeros([3, 28, 28, 1])) as tf.Tensor);
    assertEquals(logits.shape, [3, 10]);
    logits.dispose();
    model.dispose();
  });
}

Deno.test("the same seed builds the same weights, another seed different ones", () => {
  const weightsOf = (seed: number) => {
    const model = buildModel("pytorch", { seed });
    const values = model.getWeights().map((w) => Array.from(w.dataSync()));
    model.dispose();
    return values;
  };
  const first = weightsOf(7);
  assertEquals(weightsOf(7), first);
  assert(JSON.stringify(weightsOf(8)) !== JSON.stringify(first));
});

Deno.test("two builds are independent models, so a re-run cell starts fresh", () => {
  const a = buildModel("small-net");
  const b = buildModel("small-net");
  assert(a !== b);
  const [ones, zeros] = [tf.ones([3, 3, 1, 5]), tf.zeros([5])];
  a.layers[0].setWeights([ones, zeros]);
  assertEquals(a.layers[0].getWeights()[0].dataSync()[0], 1);
  assert(b.layers[0].getWeights()[0].dataSync()[0] !== 1);
  tf.dispose([ones, zeros]);
  a.dispose();
  b.dispose();
});

Deno.test("buildModel() rejects an unknown name and lists the known ones", () => {
  assertThrows(() => buildModel("resnet"), /Unknown model "resnet".*keras-mlp, keras-cnn/);
});

Deno.test("small-net's first conv must be 3x3: 5x5 would give 598 parameters, not 518", () => {
  const summary = summarizeModel(buildSmallNet());
  const conv1 = summary.rows.find((row) => row.name === "conv_1")!;
  assertEquals(conv1.trainableParams, 5 * (3 * 3 * 1) + 5);
  // The same net with a 5x5 first conv, as the article's text says: 25 weights per filter.
  assertEquals(summarizeModel(buildSmallNet({ firstKernelSize: 5 })).trainableParams, 598);
  // BatchNorm's moving mean and variance are stored but not trained.
  assertEquals(summary.nonTrainableParams, 10);
});

Deno.test("summarizeModel() counts keras-cnn's shapes, MACs and float32 size like the article", () => {
  const summary = summarizeModel(buildModel("keras-cnn"));
  const byName = Object.fromEntries(summary.rows.map((row) => [row.name, row]));
  assertEquals(byName.conv_1.outputShape, [26, 26, 32]);
  assertEquals(byName.conv_2.outputShape, [24, 24, 64]);
  assertEquals(byName.flatten.outputShape, [9216]);
  assertEquals(byName.conv_1.macs, 26 * 26 * 32 * 9);
  assertEquals(byName.conv_2.macs, 24 * 24 * 64 * 9 * 32);
  assertEquals(byName.dense.macs, 9216 * 128);
  assertEquals(summary.weightBytes, 1_199_882 * 4);
  assertEquals(summary.weightMB.toFixed(2), "4.58"); // the article's figure
});

Deno.test("formatSummary() renders every layer and the totals as a Markdown table", () => {
  const text = formatSummary(summarizeModel(buildModel("pytorch")));
  assert(text.includes("| fc_1 | Dense | 50 | 16,050 | 0 | 16,000 |"), text);
  assert(text.includes("**21,840**"));
  assert(text.includes("0.08 MB"));
});

Deno.test("buildSmallConvNet() builds the search family and counts what each switch adds", () => {
  const count = (spec: typeof SMALL_NET_SPEC) =>
    summarizeModel(buildSmallConvNet(spec)).trainableParams;
  assertEquals(count(SMALL_NET_SPEC), 518);
  assertEquals(count({ ...SMALL_NET_SPEC, batchNorm: false }), 508); // no gamma and beta
  // conv 8@3x3 + conv 16@3x3: 80 + 1,168 + 170.
  assertEquals(count({ ...SMALL_NET_SPEC, filters1: 8, filters2: 16 }), 80 + 16 + 1168 + 170);
  assertEquals(smallConvNetName(SMALL_NET_SPEC), "conv5x3-bn-conv8-leakyRelu");
});

Deno.test("buildSmallConvNet() rejects specs that make no sense", () => {
  assertThrows(
    () => buildSmallConvNet({ ...SMALL_NET_SPEC, filters1: 0 }),
    /filters1 must be a positive integer/,
  );
  assertThrows(
    () => buildSmallConvNet({ ...SMALL_NET_SPEC, kernelSize: 4 }),
    /kernelSize must be odd/,
  );
  assertThrows(
    () => buildSmallConvNet({ ...SMALL_NET_SPEC, activation: "tanh" as "relu" }),
    /activation must be "relu" or "leakyRelu"/,
  );
});

Deno.test("largestLayer() finds where the parameters live: keras-cnn's dense layer holds 98%", async () => {
  const { largestLayer } = await import("../lib/models/summary.ts");
  const { row, share } = largestLayer(summarizeModel(buildModel("keras-cnn")));
  assertEquals(row.name, "dense");
  assertEquals(row.trainableParams, 9216 * 128 + 128);
  assertEquals(share.toFixed(3), (1_179_776 / 1_199_882).toFixed(3));
});

Deno.test("formatModelOverview() gives each model's size, arithmetic and largest layer", () => {
  const lines = formatModelOverview(
    ["keras-cnn", "pytorch"].map((name) => summarizeModel(buildModel(name))),
  ).split("\n");
  assertEquals(lines.length, 4);
  assertEquals(
    lines[0],
    "| model | parameters | MACs per image | weights (float32) | largest layer | its share |",
  );
  // MACs: conv 26x26x32 x 9 + conv 24x24x64 x 288 + dense 9216x128 + dense 128x10.
  assertEquals(lines[2], "| keras-cnn | 1,199,882 | 11,992,448 | 4.58 MB | dense (Dense) | 98% |");
  assertEquals(lines[3], "| pytorch | 21,840 | 480,500 | 0.08 MB | fc_1 (Dense) | 73% |");
});

Deno.test("formatFirstLayerVariants() sets the first layer's parameters beside the model's total", () => {
  const table = formatFirstLayerVariants({
    "3x3": summarizeModel(buildSmallNet({ firstKernelSize: 3 })),
    "5x5": summarizeModel(buildSmallNet({ firstKernelSize: 5 })),
  }, { label: "first conv" });
  assertEquals(table.split("\n"), [
    "| first conv | its parameters | model total |",
    "| :- | -: | -: |",
    "| 3x3 | 50 | **518** |",
    "| 5x5 | 130 | **598** |",
  ]);
});
