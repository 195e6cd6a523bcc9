/**
 * Conv2D and Dense layers with a bias and an activation (Keras' `activation: "relu"`), in
 * training, as one fused product-plus-bias kernel followed by the activation. tf.js fuses a
 * layer's bias into its kernel only where no gradient is taken or the activation is linear
 * (tf.fused's `shouldFuse`), so in training `layer.apply` runs the product, then the bias as
 * a separate Add over the whole output, then the activation: for the Keras CNN's two convs
 * that Add is a pass over 0.9 million floats a step (~0.8 ms of ~23 on one thread). Fused
 * with its bias and a linear activation, the kernel's gradient is the same as tf.js computes
 * for the separate ops (the activation's gradient stays its own op), and the maths is the
 * same to float rounding: the bias added, then the activation. PyTorch's convs add their
 * bias inside the product too.
 */
import * as tf from "@tensorflow/tfjs";

// The fields of tf.js' Conv2D and Dense layers this module reads (private in their typings).
interface BiasedLayer {
  useBias: boolean;
  activation?: { getClassName(): string; apply(x: tf.Tensor): tf.Tensor };
  kernel: { read(): tf.Tensor };
  bias?: { read(): tf.Tensor };
  // Conv2D only:
  rank?: number;
  strides?: number | number[];
  padding?: string;
  dataFormat?: string;
  dilationRate?: number | number[];
}

/**
 * What `layer.apply(x, {training: true})` computes for a Conv2D (2D, channels last, no
 * dilation) or Dense (on a batch of vectors) layer with a bias and a non-linear activation;
 * undefined for every other layer, which the caller applies as usual (a linear activation
 * already runs fused in tf.js). `inputNeedsGradient: false` says x is the images (or a
 * reshape of them): a fused kernel's gradient computes its input's gradient whether or not it
 * is used, where tf.js' separate product computes it only when asked, so a Dense layer there
 * is left to tf.js (the Keras MLP's first layer: a 16x512x784 product a step for nothing). A
 * first conv's input gradient is skipped another way (`withoutInputGradient`).
 */
export function applyFusedBiasForTraining(
  layer: tf.layers.Layer,
  x: tf.Tensor,
  options: { inputNeedsGradient?: boolean } = {},
): tf.Tensor | undefined {
  const kind = layer.getClassName();
  if (kind !== "Conv2D" && kind !== "Dense") return undefined;
  const l = layer as unknown as BiasedLayer;
  const activation = l.activation;
  if (!l.useBias || l.bias === undefined || activation === undefined) return undefined;
  if (activation.getClassName() === "linear") return undefined;
  if (kind === "Conv2D") {
    const undilated = [l.dilationRate ?? 1].flat().every((rate) => rate === 1);
    const pad = l.padding;
    if (
      l.rank !== 2 || l.dataFormat !== "channelsLast" || !undilated || x.rank !== 4 ||
      (pad !== "same" && pad !== "valid")
    ) return undefined;
    return tf.tidy(() =>
      activation.apply(tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: l.kernel.read() as tf.Tensor4D,
        bias: l.bias!.read(),
        strides: l.strides as [number, number],
        pad,
        dataFormat: "NHWC",
      }))
    );
  }
  if (x.rank !== 2 || options.inputNeedsGradient === false) return undefined;
  return tf.tidy(() =>
    activation.apply(tf.fused.matMul({
      a: x as tf.Tensor2D,
      b: l.kernel.read() as tf.Tensor2D,
      bias: l.bias!.read(),
    }))
  );
}
