import { assert, assertEquals, assertMatch, assertNotEquals, assertThrows } from "./assert.ts";
import { fakeSplit, history } from "./chart_inputs.ts";
import {
  encodeGrayPng,
  plotAccuracyVsParams,
  plotBatchStudy,
  plotClassBalance,
  plotConfusionMatrix,
  plotCostBars,
  plotDigitGrid,
  plotFrontierErrors,
  plotLiveCurves,
  plotMisclassified,
  plotParamsPerLayer,
  plotSeedSpread,
  plotTrainingCurves,
  SVG_NS,
  type SvgChart,
  svgToString,
} from "../lib/plots/mod.ts";
import { decode } from "fast-png";
import { Buffer } from "node:buffer";
import { MODEL_NAMES, MODEL_REGISTRY, modelColor } from "../lib/models/registry.ts";

const MODEL_COLORS = Object.fromEntries(MODEL_REGISTRY.map((entry) => [entry.name, entry.color]));
import type { MnistSplit } from "../lib/data/mnist.ts";
import type { ModelSummary } from "../lib/models/summary.ts";

// ---- small data of the real shapes

// small-net's layers, as summarizeModel reports them.
const SMALL_NET_SUMMARY: ModelSummary = {
  name: "small-net",
  rows: [
    { name: "conv_1", type: "Conv2D", outputShape: [26, 26, 5], trainableParams: 50 },
    {
      name: "batch_norm",
      type: "BatchNormalization",
      outputShape: [26, 26, 5],
      trainableParams: 10,
    },
    { name: "leaky_relu_1", type: "LeakyReLU", outputShape: [26, 26, 5], trainableParams: 0 },
    { name: "conv_2", type: "Conv2D", outputShape: [24, 24, 8], trainableParams: 368 },
    { name: "leaky_relu_2", type: "LeakyReLU", outputShape: [24, 24, 8], trainableParams: 0 },
    { name: "gap", type: "GlobalAveragePooling2D", outputShape: [8], trainableParams: 0 },
    { name: "logits", type: "Dense", outputShape: [10], trainableParams: 90 },
  ].map((row) => ({ ...row, nonTrainableParams: 0, macs: 0 })),
  trainableParams: 518,
  nonTrainableParams: 10,
  macs: 0,
  weightBytes: 528 * 4,
  weightMB: 528 * 4 / 2 ** 20,
};

// ---- helpers

type Node = SvgChart;

function marks(svg: Node, label: string, tag: string): SvgChart[] {
  return [...svg.querySelectorAll(`g[aria-label="${label}"] ${tag}`)];
}

function texts(svg: Node): string[] {
  return [...svg.querySelectorAll("text")].map((t) => t.textContent ?? "");
}

/** What every chart must be: one standalone svg that JupyterLab can draw inside an <img>. */
function assertStandaloneSvg(svg: Node): void {
  const html = svgToString(svg);
  assert(html.startsWith("<svg "), html.slice(0, 80));
  assert(html.slice(0, html.indexOf(">")).includes(`xmlns="${SVG_NS}"`), "root svg lacks xmlns");
  assertEquals(html.match(/<svg\b/g)!.length, html.match(/<svg\b[^>]*xmlns=/g)!.length);
  assertMatch(html, /viewBox="0 0 \d+ \d+"/);
  for (const bad of ["NaN", "undefined", "Infinity", "=>", "[object"]) {
    assert(!html.includes(bad), `chart contains "${bad}"`);
  }
  // A bare & would make the XML invalid, and JupyterLab would show nothing.
  assert(!/&(?!(?:[a-z]+|#\d+|#x[0-9a-f]+);)/i.test(html), "unescaped & in chart");
  assert(!html.includes("<figure"), "a figure is HTML, not SVG");
}

// ---- colours

Deno.test("the registry gives each of the five models its own colour", () => {
  const colors = MODEL_NAMES.map((name) => MODEL_COLORS[name]);
  assert(colors.every((c) => /^#[0-9a-f]{6}$/.test(c)), colors.join());
  assertEquals(new Set(colors).size, MODEL_NAMES.length);
  for (const name of MODEL_NAMES) assertEquals(modelColor(name), MODEL_COLORS[name]);
});

Deno.test("modelColor() gives other names a stable colour unlike the five models'", () => {
  const other = modelColor("grid-conv8-dense16");
  assertEquals(modelColor("grid-conv8-dense16"), other);
  assert(!Object.values(MODEL_COLORS).includes(other));
  const many = new Set(Array.from({ length: 20 }, (_, i) => modelColor(`candidate-${i}`)));
  assert(many.size >= 4, "fallback colours should vary between names");
});

Deno.test("a model has the same colour in the curves, cost and accuracy charts", () => {
  const models = ["keras-mlp", "small-net", "grid-a"];
  const curves = plotTrainingCurves(
    models.map((model) => ({ model, history: history(3, 0.98) })),
    { metric: "testAccuracy" },
  );
  // Reversed order: colours must follow the name, not the position.
  const bars = plotCostBars(
    [...models].reverse().map((model, i) => ({ model, value: i + 1 })),
    { title: "t", unit: "s" },
  );
  const scatter = plotAccuracyVsParams(
    models.map((model, i) => ({ model, params: 1000 * (i + 1), accuracy: 0.9 })),
  );
  const lineColors = marks(curves, "line", "path").map((p) => p.getAttribute("stroke"));
  const barColors = marks(bars, "bar", "rect").map((r) => r.getAttribute("fill")).reverse();
  const dotColors = marks(scatter, "dot", "circle").map((c) => c.getAttribute("fill"));
  const expected = models.map(modelColor);
  assertEquals(lineColors, expected);
  assertEquals(barColors, expected);
  assertEquals(dotColors, expected);
  assertEquals(lineColors[0], "#4e79a7");
});

// ---- data charts

Deno.test("plotDigitGrid() draws 40 digits with their labels by default", () => {
  const split = fakeSplit(60);
  const svg = plotDigitGrid(split);
  assertStandaloneSvg(svg);
  const images = marks(svg, "image", "image");
  assertEquals(images.length, 40);
  assert(images.every((i) => i.getAttribute("href")!.startsWith("data:image/png;base64,iVBOR")));
  const labels = marks(svg, "text", "text").map((t) => t.textContent);
  assertEquals(labels, Array.from(split.labels.slice(0, 40), String));
  // Different digits give different pictures.
  assertNotEquals(images[0].getAttribute("href"), images[1].getAttribute("href"));
});

Deno.test("plotDigitGrid() honours count and columns, and a split smaller than count", () => {
  const svg = plotDigitGrid(fakeSplit(60), { count: 12, columns: 4 });
  assertEquals(marks(svg, "image", "image").length, 12);
  const xs = new Set(marks(svg, "image", "image").map((i) => i.getAttribute("x")));
  assertEquals(xs.size, 4);
  assertEquals(marks(plotDigitGrid(fakeSplit(3)), "image", "image").length, 3);
});

Deno.test("plotMisclassified() shows each mistake's image, captioned 'true 4 → predicted 9 (87%)'", () => {
  const split = fakeSplit(30);
  const items = [
    { index: 3, label: split.labels[3], predicted: 9, confidence: 0.873 },
    { index: 12, label: split.labels[12], predicted: 0, confidence: 0.5 },
    { index: 0, label: split.labels[0], predicted: 1, confidence: 0.996 },
  ];
  const svg = plotMisclassified(split, items, { columns: 2 });
  assertStandaloneSvg(svg);
  const images = marks(svg, "image", "image");
  assertEquals(images.length, 3);
  assertEquals(new Set(images.map((i) => i.getAttribute("x"))).size, 2);
  // Each image is the one at its index: the same picture plotDigitGrid draws for that image.
  const grid = marks(plotDigitGrid(split, { count: 13 }), "image", "image");
  assertEquals(
    images.map((i) => i.getAttribute("href")),
    [3, 12, 0].map((k) => grid[k].getAttribute("href")),
  );
  assertEquals(marks(svg, "text", "text").map((t) => t.textContent), [
    `true ${split.labels[3]} → predicted 9 (87%)`,
    `true ${split.labels[12]} → predicted 0 (50%)`,
    `true ${split.labels[0]} → predicted 1 (100%)`,
  ]);
  assert(texts(svg).includes("3 images the model got wrong"));
});

Deno.test("plotMisclassified() says when there are no mistakes and rejects an index outside the split", () => {
  const svg = plotMisclassified(fakeSplit(5), []);
  assertStandaloneSvg(svg);
  assert(texts(svg).includes("No mistakes to show."));
  const outside = { index: 5, label: 1, predicted: 2, confidence: 0.5 };
  assertThrows(
    () => plotMisclassified(fakeSplit(5), [outside]),
    /Mistake index 5 is outside the split's 5 images; pass the split/,
  );
});

Deno.test("encodeGrayPng() writes a PNG with the right size and chunk checksums", () => {
  const png = encodeGrayPng(new Uint8Array(6).fill(128), 3, 2);
  assertEquals([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(png.buffer);
  assertEquals(new TextDecoder().decode(png.subarray(12, 16)), "IHDR");
  assertEquals([view.getUint32(16), view.getUint32(20)], [3, 2]);
  // IEND's CRC is the same in every PNG.
  assertEquals(view.getUint32(png.length - 4), 0xae426082);
});

Deno.test("encodeGrayPng() round-trips through a PNG decoder, and rejects a wrong pixel count", () => {
  const gray = Uint8Array.from({ length: 28 * 3 }, (_, i) => (i * 37) % 256);
  const decoded = decode(encodeGrayPng(gray, 28, 3));
  assertEquals([decoded.width, decoded.height, decoded.depth, decoded.channels], [28, 3, 8, 1]);
  assertEquals([...decoded.data], [...gray]);
  assertThrows(
    () => encodeGrayPng(new Uint8Array(5), 3, 2),
    /got 5 pixels for a 3 × 2 image; pass width × height = 6/,
  );
});

Deno.test("the digit grid embeds each image as a PNG of its pixels, ink dark on light paper", () => {
  const split = fakeSplit(2);
  split.images[784 + 5 * 28 + 3] = 0.5; // one grey pixel in image 1, row 5, column 3
  const hrefs = marks(plotDigitGrid(split), "image", "image").map((i) => i.getAttribute("href")!);
  for (const [index, href] of hrefs.entries()) {
    const png = decode(Buffer.from(href.replace("data:image/png;base64,", ""), "base64"));
    assertEquals([png.width, png.height, png.channels], [28, 28, 1]);
    const expected = Array.from(
      split.images.subarray(index * 784, (index + 1) * 784),
      (ink) => Math.round(242 * (1 - ink)),
    );
    assertEquals([...png.data], expected);
  }
  assertEquals(decode(Buffer.from(hrefs[1].slice(22), "base64")).data[5 * 28 + 3], 121);
});

Deno.test("plotClassBalance() draws one bar per digit, its count and the mean", () => {
  const split = fakeSplit(100); // labels (i * 7) % 10: ten of each
  split.labels[0] = 3; // one 0 becomes a 3: nine 0s, eleven 3s
  const svg = plotClassBalance(split);
  assertStandaloneSvg(svg);
  const bars = marks(svg, "bar", "rect");
  assertEquals(bars.length, 10);
  const heights = bars.map((b) => Number(b.getAttribute("height")));
  assert(heights[3] > heights[1] && heights[1] > heights[0], heights.join());
  const all = texts(svg);
  assert(all.includes("11") && all.includes("9"), all.join("|"));
  assertEquals(marks(svg, "rule", "line").length, 2); // the mean and the baseline
  assert(all.some((t) => t.includes("images")) && all.some((t) => t.includes("digit")));
  assert(all.some((t) => t.includes("mean (10)")));
});

Deno.test("plotParamsPerLayer() draws a bar per layer with parameters and labels every layer", () => {
  const svg = plotParamsPerLayer(SMALL_NET_SUMMARY);
  assertStandaloneSvg(svg);
  assertEquals(marks(svg, "bar", "rect").length, 4); // the layers without parameters get none
  const all = texts(svg);
  assert(all.includes("368 (71%)"), all.join("|"));
  assert(all.includes("conv_2 (Conv2D)"));
  assert(all.includes("leaky_relu_1 (LeakyReLU)"));
  assert(all.some((t) => t.includes("518")));
  assert(all.some((t) => t.includes("trainable parameters")));
  assert(all.some((t) => t.includes("10 non-trainable")));
});

Deno.test("plotParamsPerLayer() can use a log scale", () => {
  const svg = plotParamsPerLayer(SMALL_NET_SUMMARY, { log: true });
  assertStandaloneSvg(svg);
  assertEquals(marks(svg, "bar", "rect").length, 4);
  assert(texts(svg).some((t) => t.includes("log scale")));
  const widths = marks(svg, "bar", "rect").map((r) => Number(r.getAttribute("width")));
  assert(widths.every((w) => w > 0), widths.join());
});

// ---- training curves

Deno.test("plotTrainingCurves() draws one line and a dot per epoch for each model", () => {
  const histories = MODEL_NAMES.map((model, i) => ({ model, history: history(4, 0.95 + i / 100) }));
  const svg = plotTrainingCurves(histories, { metric: "testAccuracy" });
  assertStandaloneSvg(svg);
  assertEquals(marks(svg, "line", "path").length, MODEL_NAMES.length);
  assertEquals(marks(svg, "dot", "circle").length, MODEL_NAMES.length * 4);
  const all = texts(svg);
  for (const model of MODEL_NAMES) assert(all.includes(model), `legend lacks ${model}`);
  assert(all.some((t) => t.includes("test accuracy (%)")));
  assert(all.some((t) => t.includes("epoch")));
  // Accuracy in percent: ticks near 90-100, not 0.9-1.
  const yTicks = marks(svg, "y-axis tick label", "text").map((t) => Number(t.textContent));
  assert(Math.max(...yTicks) > 90 && Math.max(...yTicks) <= 100, yTicks.join());
});

Deno.test("plotTrainingCurves() shows a single epoch as visible dots", () => {
  const svg = plotTrainingCurves(
    [{ model: "pytorch", history: history(1, 0.9) }, {
      model: "small-net",
      history: history(1, 0.8),
    }],
    { metric: "testLoss" },
  );
  assertStandaloneSvg(svg);
  const dots = marks(svg, "dot", "circle");
  assertEquals(dots.length, 2);
  assert(dots.every((d) => Number(d.getAttribute("r")) >= 3));
  assertEquals(marks(svg, "x-axis tick label", "text").map((t) => t.textContent), ["1"]);
  assert(texts(svg).some((t) => t.includes("test loss")));
});

Deno.test("plotLiveCurves() keeps the epoch axis fixed while epochs come in", () => {
  const ticks = (svg: Node) => marks(svg, "x-axis tick label", "text").map((t) => t.textContent);
  const empty = plotLiveCurves([], { model: "small-net", numEpochs: 12 });
  const later = plotLiveCurves(history(5, 0.97), { model: "small-net", numEpochs: 12 });
  assertStandaloneSvg(empty);
  assertStandaloneSvg(later);
  assertEquals(ticks(empty), ticks(later));
  assert(ticks(later).includes("12"));
  assertEquals(marks(empty, "dot", "circle").length, 0);
  assertEquals(marks(later, "dot", "circle").length, 10); // loss and accuracy panels
  const all = texts(later);
  assert(all.some((t) => t.includes("5 of 12 epochs")), all.join("|"));
  assert(all.some((t) => t.includes("test accuracy (%)")));
});

Deno.test("plotLiveCurves() averages thousands of batch losses into a short line", () => {
  const batchLosses = Array.from({ length: 5000 }, (_, i) => 2 / (1 + i / 100));
  const svg = plotLiveCurves(history(2, 0.9), {
    model: "keras-cnn",
    numEpochs: 10,
    batchLosses,
    numBatches: 2000,
  });
  assertStandaloneSvg(svg);
  const lines = marks(svg, "line", "path");
  assertEquals(lines.length, 3); // batches, test loss, test accuracy
  const batchLine = svg.querySelector('g[aria-label="line"][stroke="#9aa3ad"] path')!;
  const points = batchLine.getAttribute("d")!.split(/[ML]/).filter(Boolean).length;
  assert(points > 50 && points <= 240, `${points} points`);
  assert(svg.outerHTML.length < 60_000, `${svg.outerHTML.length} characters`);
  assert(texts(svg).includes("training batches (averaged)"));
});

// ---- costs and trade-off

Deno.test("plotCostBars() draws a bar per value and says which models do not fit", () => {
  const svg = plotCostBars(
    [
      { model: "keras-mlp", value: 350 },
      { model: "keras-cnn", value: null },
      { model: "small-net", value: 12.5 },
    ],
    {
      title: "Peak training memory",
      unit: "MB",
      reference: [{ model: "keras-mlp", value: 330 }, { model: "pytorch", value: 40 }],
    },
  );
  assertStandaloneSvg(svg);
  assertEquals(marks(svg, "bar", "rect").length, 2);
  assertEquals(marks(svg, "dot", "path").length, 2); // reference diamonds
  const all = texts(svg);
  assert(all.includes("does not fit"), all.join("|"));
  assert(all.includes("350 MB  (article: 330)"), all.join("|"));
  assert(all.includes("12.5 MB"));
  assert(all.includes("Peak training memory"));
  assert(all.includes("the article") && all.includes("ours"));
  for (const model of ["keras-mlp", "keras-cnn", "small-net", "pytorch"]) {
    assert(all.includes(model), `missing ${model}`);
  }
});

Deno.test("plotCostBars() shows a row's note where its value did not fit", () => {
  const svg = plotCostBars(
    [
      { model: "keras-cnn", value: null, note: "exceeds the 4 GB wasm heap (estimate: 9.9 GB)" },
      { model: "pytorch", value: 1340 },
    ],
    { title: "Training memory at batch 8192", unit: "MB" },
  );
  const all = texts(svg);
  assert(all.includes("exceeds the 4 GB wasm heap (estimate: 9.9 GB)"), all.join("|"));
  assert(!all.includes("does not fit"));
});

Deno.test("plotCostBars() on a log scale labels ticks as plain numbers", () => {
  const svg = plotCostBars(
    [{ model: "keras-cnn", value: 4.58 }, { model: "small-net", value: 0.002 }],
    { title: "Weights", unit: "MB", log: true },
  );
  assertStandaloneSvg(svg);
  const ticks = marks(svg, "x-axis tick label", "text").map((t) => t.textContent);
  assertEquals(ticks, ["0.001", "0.01", "0.1", "1"]);
  assertEquals(marks(svg, "bar", "rect").length, 2);
});

Deno.test("plotAccuracyVsParams() labels every point and draws the band and the threshold", () => {
  const points = [
    { model: "keras-cnn", params: 1_199_882, accuracy: 0.992 },
    { model: "small-net", params: 518, accuracy: 0.97 },
    { model: "grid-1", params: 2000, accuracy: 0.975, label: "grid 2k" },
    { model: "grid-2", params: 2100, accuracy: 0.9751, label: "grid 2.1k" },
  ];
  const svg = plotAccuracyVsParams(points, {
    bands: [{ from: 784, to: 60_000, label: "rule of thumb" }],
    threshold: 0.95,
    highlight: ["small-net"],
  });
  assertStandaloneSvg(svg);
  assertEquals(marks(svg, "dot", "circle").length, 4);
  assertEquals(marks(svg, "rect", "rect").length, 1);
  const all = texts(svg);
  for (const label of ["keras-cnn", "small-net", "grid 2k", "grid 2.1k", "rule of thumb"]) {
    assert(all.includes(label), `missing ${label}`);
  }
  assert(all.includes("95% accuracy"));
  assert(all.some((t) => t.includes("trainable parameters (log scale)")));
  assert(all.includes("1k") && all.includes("1M"), all.join("|"));
  // Two points almost on top of each other: their labels must not overlap.
  const box = (text: string) => {
    const groups = [...svg.querySelectorAll('g[aria-label="text"]')];
    const group = groups.find((g) =>
      [...g.querySelectorAll("text")].some((t) => t.textContent === text)
    )!;
    const node = [...group.querySelectorAll("text")].find((t) => t.textContent === text)!;
    const [x, y] = node.getAttribute("transform")!.match(/[\d.]+/g)!.map(Number);
    const width = text.length * 6;
    const x1 = group.getAttribute("text-anchor") === "end" ? x - width : x;
    return { x1, x2: x1 + width, y };
  };
  const [a, b] = [box("grid 2k"), box("grid 2.1k")];
  assert(Math.abs(a.y - b.y) >= 12 || a.x2 <= b.x1 || b.x2 <= a.x1, JSON.stringify([a, b]));
  // The highlighted point is drawn larger than the others.
  const dots = marks(svg, "dot", "circle");
  const radius = (d: SvgChart) => Number(d.getAttribute("r"));
  const smallNet = dots.filter((d) => d.getAttribute("fill") === modelColor("small-net"));
  assertEquals(smallNet.length, 1);
  assert(dots.every((d) => d === smallNet[0] || radius(d) < radius(smallNet[0])));
});

Deno.test("plotFrontierErrors() draws error on a reversed log axis, seed bars and labels", () => {
  const frontier = [
    { label: "tiny", params: 150, accuracy: 0.80 },
    { label: "mid", params: 2_000, accuracy: 0.985, low: 0.982, high: 0.988 },
    { label: "big", params: 20_000, accuracy: 0.994, low: 0.993, high: 0.995 },
  ];
  const references = [{ model: "small-net", params: 518, accuracy: 0.9601 }];
  const svg = plotFrontierErrors(frontier, references);
  assertStandaloneSvg(svg);
  const dots = marks(svg, "dot", "circle");
  assertEquals(dots.length, 4);
  // Two seed bars (the single-seed point has none), and every point labelled.
  assertEquals(marks(svg, "rule", "line").length, 2);
  const all = texts(svg);
  for (const label of ["tiny", "mid", "big", "small-net"]) assert(all.includes(label), label);
  assert(all.includes("1%") && all.includes("10%"), all.join("|"));
  // The reference is drawn in its registry colour, larger than the frontier's dots.
  const reference = dots.find((d) => d.getAttribute("fill") === modelColor("small-net"))!;
  assert(dots.every((d) => d === reference || Number(d.getAttribute("r")) < 6));
  // Reversed: left to right the error falls, so the dots climb (smaller cy is higher).
  const cy = dots.filter((d) => d !== reference)
    .sort((a, b) => Number(a.getAttribute("cx")) - Number(b.getAttribute("cx")))
    .map((d) => Number(d.getAttribute("cy")));
  assert(cy[2] < cy[1] && cy[1] < cy[0], cy.join(","));
});

Deno.test("plotConfusionMatrix() draws 100 cells with counts, mistakes in red", () => {
  const matrix = Array.from(
    { length: 10 },
    (_, i) => Array.from({ length: 10 }, (_, j) => (i === j ? 980 : i === 4 && j === 9 ? 17 : 1)),
  );
  const svg = plotConfusionMatrix(matrix, { title: "small-net on the test set" });
  assertStandaloneSvg(svg);
  const cells = marks(svg, "cell", "rect");
  assertEquals(cells.length, 100);
  const counts = marks(svg, "text", "text").map((t) => t.textContent);
  assertEquals(counts.length, 100);
  assertEquals(counts.filter((c) => c === "980").length, 10);
  const all = texts(svg);
  assert(all.includes("small-net on the test set"));
  assert(
    all.some((t) => t.includes("predicted digit")) && all.some((t) => t.includes("true digit")),
  );
  assert(all.join(" ").includes("a 4 read as 9 (17 times)"), all.join("|"));
  // The worst mistake is the darkest off-diagonal cell; the diagonal has its own colour.
  const fills = cells.map((c) => c.getAttribute("fill"));
  const diagonal = new Set(fills.filter((_, k) => k % 11 === 0));
  assertEquals(diagonal.size, 1);
  assert(!diagonal.has(fills[4 * 10 + 9]));
  assertNotEquals(fills[4 * 10 + 9], fills[1]);
});

// ---- widths: every chart fits a notebook column

// Jupyter Notebook's page gives an output about 800 px; a wider chart is cut off there.
const NOTEBOOK_COLUMN = 800;

/** The chart's width, checked to be the same in its width attribute and its viewBox. */
function chartWidth(svg: Node): number {
  const width = Number(svg.getAttribute("width"));
  const viewBox = svg.getAttribute("viewBox")!.split(" ").map(Number);
  assertEquals(viewBox[2], width, "viewBox and width attribute disagree");
  return width;
}

/** `count` mistakes of a split, as misclassified() lists them, with confidences near 100%. */
function mistakesOf(split: MnistSplit, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    index: i,
    label: split.labels[i],
    predicted: (split.labels[i] + 3) % 10,
    confidence: 0.9 + i / 1000,
  }));
}

/** Every chart drawn from inputs of the sizes the notebooks give them, and larger. */
function realisticCharts(): [string, SvgChart][] {
  const models = [...MODEL_NAMES];
  const split = fakeSplit(200);
  // The search: 60 candidates with the long names a grid search gives.
  const candidates = Array.from({ length: 60 }, (_, i) => ({
    model: `grid-conv${4 << (i % 4)}-conv${8 << (i % 3)}-dense${16 << (i % 5)}`,
    params: Math.round(400 * 1.2 ** i),
    accuracy: 0.9 + (i % 17) / 200,
  }));
  const summary: ModelSummary = {
    ...SMALL_NET_SUMMARY,
    name: "keras-cnn",
    rows: Array.from({ length: 12 }, (_, i) => ({
      name: `conv2d_Conv2D${i + 1}`,
      type: "BatchNormalization",
      outputShape: [24, 24, 64],
      trainableParams: i % 3 === 0 ? 0 : 1_179_776 / (i + 1),
      nonTrainableParams: 0,
      macs: 0,
    })),
    trainableParams: 1_199_882,
  };
  return [
    ["plotDigitGrid, 40 digits", plotDigitGrid(split)],
    ["plotDigitGrid, 100 digits in 20 columns", plotDigitGrid(split, { count: 100, columns: 20 })],
    ["plotClassBalance", plotClassBalance(split)],
    ["plotParamsPerLayer, 12 layers", plotParamsPerLayer(summary, { log: true })],
    [
      "plotTrainingCurves, 5 models x 20 epochs",
      plotTrainingCurves(models.map((model) => ({ model, history: history(20, 0.98) }))),
    ],
    [
      "plotLiveCurves, 45,000 batch losses",
      plotLiveCurves(history(12, 0.99), {
        model: "keras-cnn",
        numEpochs: 12,
        batchLosses: Array.from({ length: 45_000 }, (_, i) => 2 / (1 + i / 500)),
      }),
    ],
    [
      "plotCostBars, 5 models and 60 candidates with the article's figures",
      plotCostBars(
        [...models, ...candidates.map((c) => c.model)].map((model, i) => ({
          model,
          value: i === 2 ? null : 1000 / (i + 1),
        })),
        {
          title: "Training memory at batch 8192",
          unit: "MB",
          log: true,
          reference: models.map((model, i) => ({ model, value: 500 * (i + 1) })),
          referenceLabel: "the article (GPU memory with the CUDA context)",
        },
      ),
    ],
    [
      "plotAccuracyVsParams, 60 candidates",
      plotAccuracyVsParams(candidates, {
        bands: [{ from: 784, to: 60_000, label: "rule of thumb" }],
        threshold: 0.95,
        highlight: [candidates[7].model],
      }),
    ],
    [
      "plotFrontierErrors, 60 frontier points and the 5 models",
      plotFrontierErrors(
        candidates.map((c, i) => ({
          label: c.model,
          params: c.params,
          accuracy: c.accuracy,
          ...(i % 2 === 0 && { low: c.accuracy - 0.002, high: c.accuracy + 0.001 }),
        })),
        models.map((model, i) => ({ model, params: 500 * 10 ** i, accuracy: 0.96 + i / 200 })),
      ),
    ],
    [
      "plotConfusionMatrix, 10 x 10",
      plotConfusionMatrix(
        Array.from(
          { length: 10 },
          (_, i) => Array.from({ length: 10 }, (_, j) => i === j ? 1000 : i + j),
        ),
      ),
    ],
    ["plotMisclassified, 12 mistakes", plotMisclassified(split, mistakesOf(split, 12))],
    [
      "plotMisclassified, 30 mistakes in 8 columns",
      plotMisclassified(split, mistakesOf(split, 30), { columns: 8 }),
    ],
    [
      "plotSeedSpread, 5 models x 10 seeds",
      plotSeedSpread(models.map((model, i) => ({
        model,
        accuracies: Array.from({ length: 10 }, (_, k) => 0.95 + i / 100 + k / 1000),
        mean: 0.955 + i / 100,
        std: 0.003,
      }))),
    ],
    [
      "plotBatchStudy, 5 models x 10 batch sizes",
      plotBatchStudy(models.flatMap((model) =>
        Array.from({ length: 10 }, (_, k) => ({
          model,
          batchSize: 16 * 2 ** k,
          trainSecondsPerFullEpoch: 200 / (k + 1),
          accuracy: 0.97 - k / 100,
          diverged: k === 9,
        }))
      )),
    ],
  ];
}

Deno.test("every chart fits an 800-px notebook column, for inputs of realistic size", () => {
  const charts = realisticCharts();
  assertEquals(charts.length, 14);
  const tooWide = charts
    .map(([name, svg]) => ({ name, width: chartWidth(svg) }))
    .filter(({ width }) => width > NOTEBOOK_COLUMN);
  assertEquals(tooWide, [], "charts wider than a notebook column");
});

Deno.test("plotMisclassified() wraps 12 mistakes into 3 rows of 4, and never more columns than fit", () => {
  const split = fakeSplit(40);
  const place = (svg: SvgChart, name: "x" | "y") =>
    new Set(marks(svg, "image", "image").map((i) => i.getAttribute(name))).size;
  const twelve = plotMisclassified(split, mistakesOf(split, 12));
  assertEquals([place(twelve, "x"), place(twelve, "y")], [4, 3]);
  assertEquals(marks(twelve, "image", "image").length, 12);
  // Asked for 6, it still wraps at 4: 6 cells of 168 px are 1,028 px.
  const six = plotMisclassified(split, mistakesOf(split, 12), { columns: 6 });
  assertEquals([place(six, "x"), place(six, "y")], [4, 3]);
  assert(chartWidth(six) <= NOTEBOOK_COLUMN, `${chartWidth(six)} px`);
  // Fewer columns than fit are kept.
  assertEquals(place(plotMisclassified(split, mistakesOf(split, 12), { columns: 3 }), "x"), 3);
});

Deno.test("plotDigitGrid() wraps at 13 columns, the most that fit a notebook column", () => {
  const svg = plotDigitGrid(fakeSplit(100), { count: 100, columns: 20 });
  const xs = new Set(marks(svg, "image", "image").map((i) => i.getAttribute("x")));
  assertEquals(xs.size, 13);
  assertEquals(marks(svg, "image", "image").length, 100);
  assert(chartWidth(svg) <= NOTEBOOK_COLUMN, `${chartWidth(svg)} px`);
});

Deno.test("plotTrainingCurves() says what the curves were measured on, and claims no count it was not given", () => {
  const histories = [{ model: "pytorch", history: history(2, 0.92) }];
  // Subtitles wrap over several <text> lines: read them as one.
  const quick = texts(
    plotTrainingCurves(histories, { measuredOn: { testImages: 2000, preset: "quick" } }),
  ).join(" ");
  assertMatch(quick, /2,000 test images, preset quick/);
  assert(!quick.includes("10,000"), "a 2,000-image run must not claim the 10,000 test images");
  const unlabelled = texts(plotTrainingCurves(histories)).join(" ");
  assert(!/\d,\d{3} test images/.test(unlabelled), "no count without measuredOn");
  const trainLoss = texts(
    plotTrainingCurves(histories, {
      metric: "trainLoss",
      measuredOn: { testImages: 2000, preset: "quick" },
    }),
  ).join(" ");
  assertMatch(trainLoss, /preset quick/);
  assert(!trainLoss.includes("test images"), "the training loss is not measured on test images");
});
