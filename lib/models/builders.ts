/**
 * The article's five MNIST models as fresh, seeded tf.js models. Each ends in 10 logits;
 * the softmax lives in the loss (cross-entropy), which is what Keras' `softmax` plus
 * `categorical_crossentropy` and PyTorch's `log_softmax` plus `nll_loss` compute.
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed } from "../data/random.ts";

/** Options every builder takes. */
export interface BuildOptions {
  /** Seed for every initialiser; the same seed builds the same weights. Default 0. */
  seed?: number;
}

/** The MNIST image shape every model takes: 28x28 pixels, one channel. */
export const INPUT_SHAPE = [28, 28, 1];

/** Keras' mnist_mlp example: 784-512-512-10 with dropout 0.2; 669,706 parameters. */
export function buildKerasMlp(options: BuildOptions = {}): tf.Sequential {
  const init = kerasInit(options.seed ?? 0);
  return tf.sequential({
    name: "keras-mlp",
    layers: [
      tf.layers.flatten({ inputShape: INPUT_SHAPE, name: "flatten" }),
      tf.layers.dense({ units: 512, activation: "relu", name: "dense_1", ...init(1) }),
      tf.layers.dropout({ rate: 0.2, name: "dropout_1" }),
      tf.layers.dense({ units: 512, activation: "relu", name: "dense_2", ...init(2) }),
      tf.layers.dropout({ rate: 0.2, name: "dropout_2" }),
      tf.layers.dense({ units: 10, name: "logits", ...init(3) }),
    ],
  });
}

/** Keras' mnist_cnn example: conv 32@3x3, conv 64@3x3, pool, fc 128; 1,199,882 parameters. */
export function buildKerasCnn(options: BuildOptions = {}): tf.Sequential {
  const init = kerasInit(options.seed ?? 0);
  return tf.sequential({
    name: "keras-cnn",
    layers: [
      tf.layers.conv2d({
        inputShape: INPUT_SHAPE,
        filters: 32,
        kernelSize: 3,
        activation: "relu",
        name: "conv_1",
        ...init(1),
      }),
      tf.layers.conv2d({
        filters: 64,
        kernelSize: 3,
        activation: "relu",
        name: "conv_2",
        ...init(2),
      }),
      tf.layers.maxPooling2d({ poolSize: 2, name: "pool" }),
      tf.layers.dropout({ rate: 0.25, name: "dropout_1" }),
      tf.layers.flatten({ name: "flatten" }),
      tf.layers.dense({ units: 128, activation: "relu", name: "dense", ...init(3) }),
      tf.layers.dropout({ rate: 0.5, name: "dropout_2" }),
      tf.layers.dense({ units: 10, name: "logits", ...init(4) }),
    ],
  });
}

/** The 2018 pytorch/examples mnist net: conv 10@5x5, conv 20@5x5, fc 320-50-10; 21,840 parameters. */
export function buildPytorchNet(options: BuildOptions = {}): tf.Sequential {
  const init = pytorchInit(options.seed ?? 0);
  return tf.sequential({
    name: "pytorch",
    layers: [
      ...pytorchConvBlocks(init),
      tf.layers.flatten({ name: "flatten" }), // 4x4x20 = 320
      tf.layers.dense({ units: 50, activation: "relu", name: "fc_1", ...init(3, 320) }),
      tf.layers.dropout({ rate: 0.5, name: "dropout" }),
      tf.layers.dense({ units: 10, name: "logits", ...init(4, 50) }),
    ],
  });
}

/** The PyTorch net with its dense layers replaced by conv 10@3x3 and global average pooling; 7,090 parameters. */
export function buildPytorchGap(options: BuildOptions = {}): tf.Sequential {
  const init = pytorchInit(options.seed ?? 0);
  return tf.sequential({
    name: "pytorch-gap",
    layers: [
      ...pytorchConvBlocks(init),
      tf.layers.conv2d({ filters: 10, kernelSize: 3, name: "conv_3", ...init(3, 20 * 3 * 3) }),
      tf.layers.globalAveragePooling2d({ name: "logits" }), // 2x2x10 -> 10
    ],
  });
}

/**
 * The article's Small Net: conv 5@3x3 + BatchNorm + LeakyReLU, conv 8@3x3 + LeakyReLU, global
 * average pooling, dense 10; 518 trainable parameters. The article's text says the first conv
 * is 5x5, but 518 only adds up with 3x3 (5x5 gives 598: try `firstKernelSize: 5`).
 */
export function buildSmallNet(
  options: BuildOptions & { firstKernelSize?: number } = {},
): tf.Sequential {
  return buildSmallConvNet({ ...SMALL_NET_SPEC, kernelSize: options.firstKernelSize ?? 3 }, {
    seed: options.seed,
    name: "small-net",
  });
}

/** The shape of a small conv net: two convs, global average pooling, one dense layer. */
export interface SmallConvNetSpec {
  /** Filters of the first and second conv. */
  filters1: number;
  filters2: number;
  /** Kernel size of the first conv (the second is always 3x3, as in Small Net). */
  kernelSize: number;
  /** BatchNorm after the first conv. */
  batchNorm: boolean;
  activation: "relu" | "leakyRelu";
}

/** Small Net's own spec. */
export const SMALL_NET_SPEC: Readonly<SmallConvNetSpec> = {
  filters1: 5,
  filters2: 8,
  kernelSize: 3,
  batchNorm: true,
  activation: "leakyRelu",
};

/**
 * Builds a small conv net of the family the article searched for Small Net: conv
 * (+ BatchNorm) + activation, conv 3x3 + activation, global average pooling, dense 10.
 */
export function buildSmallConvNet(
  spec: SmallConvNetSpec,
  options: BuildOptions & { name?: string } = {},
): tf.Sequential {
  checkSmallConvNetSpec(spec);
  const init = pytorchInit(options.seed ?? 0);
  const activation = (name: string) =>
    spec.activation === "relu"
      ? tf.layers.reLU({ name })
      // PyTorch's default negative slope, 0.01 (Keras' default is 0.3).
      : tf.layers.leakyReLU({ alpha: 0.01, name });
  const k = spec.kernelSize;
  return tf.sequential({
    name: options.name ?? smallConvNetName(spec),
    layers: [
      tf.layers.conv2d({
        inputShape: INPUT_SHAPE,
        filters: spec.filters1,
        kernelSize: k,
        name: "conv_1",
        ...init(1, 1 * k * k),
      }),
      // PyTorch's BatchNorm2d defaults: momentum 0.1 (0.9 in Keras' terms), epsilon 1e-5.
      ...(spec.batchNorm
        ? [tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: "batch_norm" })]
        : []),
      activation("activation_1"),
      tf.layers.conv2d({
        filters: spec.filters2,
        kernelSize: 3,
        name: "conv_2",
        ...init(2, spec.filters1 * 3 * 3),
      }),
      activation("activation_2"),
      tf.layers.globalAveragePooling2d({ name: "gap" }),
      tf.layers.dense({ units: 10, name: "logits", ...init(3, spec.filters2) }),
    ],
  });
}

/** A readable name for a spec, e.g. "conv5x3-bn-conv8-leakyRelu". */
export function smallConvNetName(spec: SmallConvNetSpec): string {
  return `conv${spec.filters1}x${spec.kernelSize}${spec.batchNorm ? "-bn" : ""}` +
    `-conv${spec.filters2}-${spec.activation}`;
}

function checkSmallConvNetSpec(spec: SmallConvNetSpec): void {
  for (const key of ["filters1", "filters2", "kernelSize"] as const) {
    if (!Number.isInteger(spec[key]) || spec[key] <= 0) {
      throw new Error(`${key} must be a positive integer, got ${spec[key]}`);
    }
  }
  if (spec.kernelSize % 2 === 0 || spec.kernelSize > 9) {
    throw new Error(
      `kernelSize must be odd and at most 9 (3 or 5 in the search), got ${spec.kernelSize}`,
    );
  }
  if (spec.activation !== "relu" && spec.activation !== "leakyRelu") {
    throw new Error(`activation must be "relu" or "leakyRelu", got "${spec.activation}"`);
  }
}

// The first two conv blocks shared by "pytorch" and "pytorch-gap":
// conv 10@5x5, max pool 2, ReLU, conv 20@5x5, channel dropout 0.5, max pool 2, ReLU.
function pytorchConvBlocks(init: ReturnType<typeof pytorchInit>): tf.layers.Layer[] {
  return [
    tf.layers.conv2d({
      inputShape: INPUT_SHAPE,
      filters: 10,
      kernelSize: 5,
      name: "conv_1",
      ...init(1, 1 * 5 * 5),
    }),
    tf.layers.maxPooling2d({ poolSize: 2, name: "pool_1" }),
    tf.layers.reLU({ name: "relu_1" }),
    tf.layers.conv2d({ filters: 20, kernelSize: 5, name: "conv_2", ...init(2, 10 * 5 * 5) }),
    // PyTorch's Dropout2d drops whole channels: one mask value per image and channel.
    // tf.js fills a null noise-shape entry with the input's size at run time (typed as number).
    tf.layers.dropout({
      rate: 0.5,
      noiseShape: [null, 1, 1, null] as unknown as number[],
      name: "channel_dropout",
    }),
    tf.layers.maxPooling2d({ poolSize: 2, name: "pool_2" }),
    tf.layers.reLU({ name: "relu_2" }),
  ];
}

// Keras' defaults: Glorot-uniform weights, zero biases; one seed per layer.
function kerasInit(seed: number) {
  return function layerInit(layer: number) {
    return {
      kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, layer) }),
      biasInitializer: tf.initializers.zeros(),
    };
  };
}

/**
 * PyTorch's default initialisers for Conv2d and Linear, one seed per layer and tensor: weights
 * and biases uniform in ±1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)).
 */
export function pytorchInit(seed: number) {
  return function layerInit(layer: number, fanIn: number) {
    const bound = 1 / Math.sqrt(fanIn);
    return {
      kernelInitializer: tf.initializers.randomUniform({
        minval: -bound,
        maxval: bound,
        seed: deriveSeed(seed, layer, 0),
      }),
      biasInitializer: tf.initializers.randomUniform({
        minval: -bound,
        maxval: bound,
        seed: deriveSeed(seed, layer, 1),
      }),
    };
  };
}
