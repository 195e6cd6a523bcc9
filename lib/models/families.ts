/**
 * The families of small MNIST conv nets the frontier searches, as plain specs: each spec has a
 * name, a trainable-parameter count computed from the spec alone (a pure function, checked
 * against the built model by test/families_test.ts), and a builder.
 *
 * - `small`: Small Net's own shape: conv (+ BatchNorm) + activation, conv 3x3, GAP, dense 10.
 * - `downsampled`: the same convs with a 2x2 max pool, or a stride-2 conv, after every block
 *   but the last, so the last conv sees more of the digit than a 5x5 patch.
 * - `bn`: blocks of conv 3x3 + BatchNorm + ReLU ("same" padding), 2x2 max pool after every
 *   block but the last, GAP, dense 10. (A 1x1-conv head followed by GAP is the same linear
 *   map as GAP followed by dense, and has the same parameters, so it is not a separate head.)
 * - `separable`: a conv 3x3 stem, then depthwise-separable blocks (depthwise 3x3 + pointwise
 *   1x1 + BatchNorm + ReLU), pools as in `bn`, GAP, dense 10; or, with `head: "flatten"`, one
 *   more 2x2 max pool and a dense layer over every position ("flatten"), which keeps where a
 *   stroke is (GAP keeps only how much of it there is) at the price of a bigger dense layer.
 * - `vgg`: `bn` with stages of one to three convs each (VGG's pattern): depth at each
 *   resolution, where `bn` has one conv per resolution.
 */
import * as tf from "@tensorflow/tfjs";
import {
  type BuildOptions,
  buildSmallConvNet,
  INPUT_SHAPE,
  pytorchInit,
  type SmallConvNetSpec,
} from "./builders.ts";
import { DepthwiseConv3x3 } from "./depthwise.ts";

type Activation = SmallConvNetSpec["activation"];

/** Small Net's family (see `buildSmallConvNet`). */
export interface SmallFamilySpec extends SmallConvNetSpec {
  family: "small";
}

/** Small Net's convs with downsampling between blocks. */
export interface DownsampledSpec {
  family: "downsampled";
  /** Filters of each conv, first to last (2 or 3 convs; all but the first are 3x3). */
  filters: number[];
  /** Kernel size of the first conv: 3 or 5. */
  kernelSize: number;
  /** After every block but the last: a 2x2 max pool, or stride 2 in that block's conv. */
  downsample: "pool" | "stride";
  /** BatchNorm after every conv but the last (Small Net: after the first of two). */
  batchNorm: boolean;
  activation: Activation;
}

/** Blocks of conv 3x3 + BatchNorm + ReLU with pools between them, GAP, dense 10. */
export interface BatchNormNetSpec {
  family: "bn";
  /** Filters of each block (2 to 4 blocks). */
  widths: number[];
}

/** Stages of 1-3 (conv 3x3 + BatchNorm + ReLU), a 2x2 max pool between stages, GAP, dense 10. */
export interface VggSpec {
  family: "vgg";
  /** Filters of each conv, stage by stage (2 to 4 stages of 1 to 3 convs). */
  stages: number[][];
}

/** A conv 3x3 stem, then depthwise-separable blocks, GAP, dense 10. */
export interface SeparableSpec {
  family: "separable";
  /** Filters of the stem conv (3x3 + BatchNorm + ReLU + 2x2 max pool). */
  stem: number;
  /** Pointwise filters of each separable block (1 to 3 blocks). */
  widths: number[];
  /** GAP + dense (the default), or a 2x2 max pool + flatten + dense. */
  head?: "gap" | "flatten";
}

/** A spec of any family. */
export type FamilySpec =
  | SmallFamilySpec
  | DownsampledSpec
  | BatchNormNetSpec
  | SeparableSpec
  | VggSpec;

/** The family names, in the order the module comment gives them. */
export const FAMILY_NAMES: readonly FamilySpec["family"][] = [
  "small",
  "downsampled",
  "bn",
  "separable",
  "vgg",
];

/**
 * A name that spells out the spec: "small-5.8-k3", "pool-5.8-k3", "stride-4.8.16-k3-nobn",
 * "bn-8.16.32", "sep-8-16.32", "vgg-8.8-16.16-32" (stages joined by "-"). Flags appear only where they differ from Small Net's
 * (BatchNorm on, LeakyReLU).
 */
export function familySpecName(spec: FamilySpec): string {
  switch (spec.family) {
    case "small":
      return `small-${spec.filters1}.${spec.filters2}-k${spec.kernelSize}${flags(spec)}`;
    case "downsampled":
      return `${spec.downsample}-${spec.filters.join(".")}-k${spec.kernelSize}${flags(spec)}`;
    case "bn":
      return `bn-${spec.widths.join(".")}`;
    case "separable":
      return `sep-${spec.stem}-${spec.widths.join(".")}${spec.head === "flatten" ? "-flat" : ""}`;
    case "vgg":
      return `vgg-${spec.stages.map((stage) => stage.join(".")).join("-")}`;
  }
}

/** Trainable parameters of `spec`, from the spec alone (the article counts trainable only). */
export function familyParams(spec: FamilySpec): number {
  checkFamilySpec(spec);
  switch (spec.family) {
    case "small":
      return smallConvNetParams(spec);
    case "downsampled": {
      const f = spec.filters;
      let params = (spec.kernelSize ** 2 + 1) * f[0];
      for (let i = 1; i < f.length; i++) params += (9 * f[i - 1] + 1) * f[i];
      if (spec.batchNorm) params += 2 * sum(f.slice(0, -1));
      return params + dense(f[f.length - 1]);
    }
    case "bn":
    case "vgg": {
      // Convs before BatchNorm have no bias (BatchNorm's shift takes its place).
      let params = 0;
      let channels = 1;
      for (const width of stagesOf(spec).flat()) {
        params += 9 * channels * width + 2 * width;
        channels = width;
      }
      return params + dense(channels);
    }
    case "separable": {
      let params = 9 * spec.stem + 2 * spec.stem;
      let channels = spec.stem;
      for (const width of spec.widths) {
        params += 9 * channels + channels * width + 2 * width;
        channels = width;
      }
      return params + dense(channels * separableHeadPositions(spec));
    }
  }
}

/**
 * How many positions the separable head's dense layer sees per channel: 1 after GAP; after the
 * flatten head's pool, the side left by the stem's pool, the pools between blocks and its own,
 * squared (two blocks: 28 -> 14 -> 7 -> 3, so 9).
 */
function separableHeadPositions(spec: SeparableSpec): number {
  if (spec.head !== "flatten") return 1;
  let side = 28;
  for (let pool = 0; pool < spec.widths.length + 1; pool++) side = Math.floor(side / 2);
  return side * side;
}

/**
 * Trainable parameters of a small conv net, by formula: conv k x k (+1 bias) per first filter,
 * BatchNorm's scale and shift, conv 3x3 over the first filters (+1 bias) per second filter,
 * dense from the second filters (+1 bias) to 10. Small Net: 50 + 10 + 368 + 90 = 518.
 */
export function smallConvNetParams(spec: SmallConvNetSpec): number {
  const conv1 = (spec.kernelSize * spec.kernelSize + 1) * spec.filters1;
  const batchNorm = spec.batchNorm ? 2 * spec.filters1 : 0;
  const conv2 = (9 * spec.filters1 + 1) * spec.filters2;
  return conv1 + batchNorm + conv2 + dense(spec.filters2);
}

/** Builds a fresh, seeded model of `spec`, named `familySpecName(spec)` unless named. */
export function buildFamilyModel(
  spec: FamilySpec,
  options: BuildOptions & { name?: string } = {},
): tf.Sequential {
  checkFamilySpec(spec);
  const name = options.name ?? familySpecName(spec);
  const seed = options.seed ?? 0;
  switch (spec.family) {
    case "small": {
      const { family: _, ...small } = spec;
      return buildSmallConvNet(small, { seed, name });
    }
    case "downsampled":
      return tf.sequential({ name, layers: downsampledLayers(spec, seed) });
    case "bn":
    case "vgg":
      return tf.sequential({ name, layers: stagedLayers(stagesOf(spec), seed) });
    case "separable":
      return tf.sequential({ name, layers: separableLayers(spec, seed) });
  }
}

/** Throws a clear error for a spec no builder can build, naming the field at fault. */
export function checkFamilySpec(spec: FamilySpec): FamilySpec {
  const positive = (field: string, value: unknown) => {
    if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 256) {
      throw new Error(
        `${field} must be a whole number of filters from 1 to 256, got ${JSON.stringify(value)}`,
      );
    }
  };
  const list = (field: string, values: unknown, min: number, max: number) => {
    if (!Array.isArray(values) || values.length < min || values.length > max) {
      throw new Error(
        `${field} must list ${min} to ${max} widths, got ${JSON.stringify(values)}`,
      );
    }
    values.forEach((value, i) => positive(`${field}[${i}]`, value));
  };
  const kernel = (value: unknown) => {
    if (value !== 3 && value !== 5) {
      throw new Error(`kernelSize must be 3 or 5, got ${JSON.stringify(value)}`);
    }
  };
  const activation = (value: unknown) => {
    if (value !== "relu" && value !== "leakyRelu") {
      throw new Error(`activation must be "relu" or "leakyRelu", got ${JSON.stringify(value)}`);
    }
  };
  switch (spec?.family) {
    case "small":
      positive("filters1", spec.filters1);
      positive("filters2", spec.filters2);
      kernel(spec.kernelSize);
      activation(spec.activation);
      return spec;
    case "downsampled":
      list("filters", spec.filters, 2, 3);
      kernel(spec.kernelSize);
      activation(spec.activation);
      if (spec.downsample !== "pool" && spec.downsample !== "stride") {
        throw new Error(`downsample must be "pool" or "stride", got ${spec.downsample}`);
      }
      return spec;
    case "bn":
      list("widths", spec.widths, 2, 4);
      return spec;
    case "separable":
      positive("stem", spec.stem);
      list("widths", spec.widths, 1, 3);
      if (spec.head !== undefined && spec.head !== "gap" && spec.head !== "flatten") {
        throw new Error(`head must be "gap" or "flatten", got ${JSON.stringify(spec.head)}`);
      }
      return spec;
    case "vgg":
      if (!Array.isArray(spec.stages) || spec.stages.length < 2 || spec.stages.length > 4) {
        throw new Error(`stages must list 2 to 4 stages, got ${JSON.stringify(spec.stages)}`);
      }
      spec.stages.forEach((stage, i) => list(`stages[${i}]`, stage, 1, 3));
      return spec;
    default:
      throw new Error(
        `Unknown model family "${(spec as { family?: string })?.family}"; choose one of: ` +
          FAMILY_NAMES.join(", "),
      );
  }
}

function downsampledLayers(spec: DownsampledSpec, seed: number): tf.layers.Layer[] {
  const init = pytorchInit(seed);
  const layers: tf.layers.Layer[] = [];
  let channels = 1;
  spec.filters.forEach((filters, i) => {
    const last = i === spec.filters.length - 1;
    const k = i === 0 ? spec.kernelSize : 3;
    layers.push(tf.layers.conv2d({
      ...(i === 0 && { inputShape: INPUT_SHAPE }),
      filters,
      kernelSize: k,
      strides: !last && spec.downsample === "stride" ? 2 : 1,
      name: `conv_${i + 1}`,
      ...init(i + 1, channels * k * k),
    }));
    if (!last && spec.batchNorm) layers.push(batchNorm(`batch_norm_${i + 1}`));
    layers.push(activationLayer(spec.activation, `activation_${i + 1}`));
    if (!last && spec.downsample === "pool") {
      layers.push(tf.layers.maxPooling2d({ poolSize: 2, name: `pool_${i + 1}` }));
    }
    channels = filters;
  });
  return [...layers, ...gapDenseHead(init, spec.filters.length + 1, channels)];
}

// `bn` is `vgg` with one conv per stage: the same layers, names and initial weights.
function stagesOf(spec: BatchNormNetSpec | VggSpec): number[][] {
  return spec.family === "bn" ? spec.widths.map((width) => [width]) : spec.stages;
}

function stagedLayers(stages: number[][], seed: number): tf.layers.Layer[] {
  const init = pytorchInit(seed);
  const layers: tf.layers.Layer[] = [];
  let channels = 1;
  let conv = 0;
  stages.forEach((stage, i) => {
    for (const width of stage) {
      conv++;
      layers.push(
        tf.layers.conv2d({
          ...(conv === 1 && { inputShape: INPUT_SHAPE }),
          filters: width,
          kernelSize: 3,
          padding: "same",
          useBias: false,
          name: `conv_${conv}`,
          kernelInitializer: init(conv, channels * 9).kernelInitializer,
        }),
        batchNorm(`batch_norm_${conv}`),
        tf.layers.reLU({ name: `relu_${conv}` }),
      );
      channels = width;
    }
    if (i < stages.length - 1) {
      layers.push(tf.layers.maxPooling2d({ poolSize: 2, name: `pool_${i + 1}` }));
    }
  });
  return [...layers, ...gapDenseHead(init, conv + 1, channels)];
}

function separableLayers(spec: SeparableSpec, seed: number): tf.layers.Layer[] {
  const init = pytorchInit(seed);
  const layers: tf.layers.Layer[] = [
    tf.layers.conv2d({
      inputShape: INPUT_SHAPE,
      filters: spec.stem,
      kernelSize: 3,
      padding: "same",
      useBias: false,
      name: "stem",
      kernelInitializer: init(1, 9).kernelInitializer,
    }),
    batchNorm("batch_norm_stem"),
    tf.layers.reLU({ name: "relu_stem" }),
    tf.layers.maxPooling2d({ poolSize: 2, name: "pool_stem" }),
  ];
  let channels = spec.stem;
  spec.widths.forEach((width, i) => {
    layers.push(
      // PyTorch's depthwise conv (groups = channels) has fan-in 1 x 3 x 3.
      new DepthwiseConv3x3({
        name: `depthwise_${i + 1}`,
        kernelInitializer: init(2 * i + 2, 9).kernelInitializer,
      }),
      tf.layers.conv2d({
        filters: width,
        kernelSize: 1,
        useBias: false,
        name: `pointwise_${i + 1}`,
        kernelInitializer: init(2 * i + 3, channels).kernelInitializer,
      }),
      batchNorm(`batch_norm_${i + 1}`),
      tf.layers.reLU({ name: `relu_${i + 1}` }),
    );
    if (i < spec.widths.length - 1) {
      layers.push(tf.layers.maxPooling2d({ poolSize: 2, name: `pool_${i + 1}` }));
    }
    channels = width;
  });
  const denseLayer = 2 * spec.widths.length + 2;
  if (spec.head !== "flatten") return [...layers, ...gapDenseHead(init, denseLayer, channels)];
  return [
    ...layers,
    tf.layers.maxPooling2d({ poolSize: 2, name: "pool_head" }),
    tf.layers.flatten({ name: "flatten" }),
    logits(init, denseLayer, channels * separableHeadPositions(spec)),
  ];
}

function gapDenseHead(
  init: ReturnType<typeof pytorchInit>,
  layer: number,
  channels: number,
): tf.layers.Layer[] {
  return [tf.layers.globalAveragePooling2d({ name: "gap" }), logits(init, layer, channels)];
}

// The dense layer from `inputs` features to the 10 scores, initialised as layer `layer`.
function logits(
  init: ReturnType<typeof pytorchInit>,
  layer: number,
  inputs: number,
): tf.layers.Layer {
  return tf.layers.dense({ units: 10, name: "logits", ...init(layer, inputs) });
}

// PyTorch's BatchNorm2d defaults: momentum 0.1 (0.9 in Keras' terms), epsilon 1e-5.
function batchNorm(name: string): tf.layers.Layer {
  return tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name });
}

function activationLayer(activation: Activation, name: string): tf.layers.Layer {
  // PyTorch's default negative slope, 0.01 (Keras' default is 0.3).
  return activation === "relu"
    ? tf.layers.reLU({ name })
    : tf.layers.leakyReLU({ alpha: 0.01, name });
}

function flags(spec: { batchNorm: boolean; activation: Activation }): string {
  return `${spec.batchNorm ? "" : "-nobn"}${spec.activation === "relu" ? "-relu" : ""}`;
}

function dense(channels: number): number {
  return (channels + 1) * 10;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
