/**
 * A 3x3 depthwise convolution ("same" padding, stride 1, no bias) built from slices and
 * multiplies, so that it trains on every backend: tf.js' wasm backend has the forward
 * `DepthwiseConv2dNative` kernel but neither of its gradients.
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

  /** Sum over the nine taps of (shifted input) x (that tap's weight per channel). */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const [n, height, width, channels] = x.shape;
      const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
      const taps = tf.unstack(tf.reshape(this.kernel!.read(), [9, channels]));
      const terms: tf.Tensor[] = [];
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          const shifted = tf.slice(padded, [0, i, j, 0], [n, height, width, channels]);
          terms.push(tf.mul(shifted, taps[i * 3 + j]));
        }
      }
      return tf.addN(terms);
    });
  }

  /** The layer's config, for tf.js serialization. */
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig() };
  }
}

tf.serialization.registerClass(DepthwiseConv3x3);
