/**
 * Gradient kernels the wasm backend lacks (tensorflow/tfjs#8474), built from wasm ops.
 */
import * as tf from "@tensorflow/tfjs";

let registered = false;

/** Registers the missing wasm kernels once; later calls do nothing. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
  });
}

interface FilterGradArgs {
  inputs: { x: tf.Tensor4D; dy: tf.Tensor4D };
  backend: unknown;
  attrs: {
    strides: [number, number] | number;
    pad: "valid" | "same" | number;
    dataFormat: "NHWC" | "NCHW";
    filterShape: [number, number, number, number];
  };
}

// dW[kh, kw, ci, co] = sum over n, oh, ow of x[n, oh + kh, ow + kw, ci] * dy[n, oh, ow, co]:
// a stride-1 valid convolution of x (batch and channel axes swapped) with dy as the filter.
function conv2DBackpropFilter({ inputs, attrs }: FilterGradArgs): tf.Tensor4D {
  const { x, dy } = inputs;
  const strides = typeof attrs.strides === "number"
    ? [attrs.strides, attrs.strides]
    : attrs.strides;
  if (
    strides[0] !== 1 || strides[1] !== 1 || attrs.pad !== "valid" || attrs.dataFormat !== "NHWC"
  ) {
    throw new Error("Conv2DBackpropFilter on wasm supports stride 1, valid padding, NHWC only");
  }
  return tf.tidy(() => {
    const xT = tf.transpose(x, [3, 1, 2, 0]); // [ci, H, W, n]
    const dyT = tf.transpose(dy, [1, 2, 0, 3]); // [oh, ow, n, co]
    const dW = tf.conv2d(xT, dyT, 1, "valid"); // [ci, kh, kw, co]
    return tf.transpose(dW, [1, 2, 0, 3]);
  });
}
