/**
 * A 3x3 depthwise convolution ("same" padding, stride 1, no bias) as a layer of its own:
 * `tf.depthwiseConv2d`, whose gradients the wasm backend gets from lib/backend (tf.js' wasm
 * has the forward kernel only).
 */
import * as tf from "@tensorflow/tfjs";

/** A tf.js weight initialiser, e.g. `tf.initializers.randomUniform(...)`. */
export type Initializer = ReturnType<typeof tf.initializers.randomUniform>;

/** Arguments of `DepthwiseConv3x3`. */
export interface DepthwiseConv3x3Args {
  name: string;
  /** Initialiser of the [3, 3, channels, 1] kernel. */
  kernelInitializer: Initializer;
  inputShape?: number[];
}

/**
 * Depthwise 3x3 convolution: each channel convolved with its own 3x3 filter, the same
 * numbers as `tf.depthwiseConv2d(x, kernel, 1, "same")`, as nine shifted slices of the
 * zero-padded input times one weight per channel, summed. 9 trainable weights per channel.
 */
export class DepthwiseConv3x3 extends tf.layers.Layer {
  /** The class name tf.js serialization and `summarizeModel` see. */
  static className = "DepthwiseConv3x3";
  private readonly kernelInitializer: Initializer;
  private kernel?: tf.LayerVariable;

  /** A layer named `args.name`, its kernel drawn by `args.kernelInitializer`. */
  constructor(args: DepthwiseConv3x3Args) {
    super({ name: args.name, inputShape: args.inputShape });
    this.kernelInitializer = args.kernelInitializer;
  }

  /** Adds the [3, 3, channels, 1] kernel, the shape tf.depthwiseConv2d takes. */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (shape.length !== 4 || channels === null) {
      throw new Error(
        `DepthwiseConv3x3 takes images [batch, height, width, channels], got [${shape}]`,
      );
    }
    this.kernel = this.addWeight(
      "depthwise_kernel",
      [3, 3, channels, 1],
      "float32",
      this.kernelInitializer,
    );
    this.built = true;
  }

  /** "same" padding, stride 1: the output has the input's shape. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  /** Each channel convolved with its own 3x3 filter, "same" padding, stride 1. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return tf.depthwiseConv2d(x, this.kernel!.read() as tf.Tensor4D, 1, "same");
  }

  /** The layer's config, for tf.js serialization. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig() };
  }
}

tf.serialization.registerClass(DepthwiseConv3x3);
