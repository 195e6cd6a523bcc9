import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { createRandom } from "../lib/data/random.ts";
import { useSimdKernels } from "../lib/backend/simd.ts";
import { assertEquals, assertMaxRelativeError, assertThrows } from "./assert.ts";

type Shape4D = [number, number, number, number];
type Pad = "valid" | "same";

// The gradients of sum(depthwiseConv2d(x, w) * weights) on `backend`, flat: dx then dw.
async function gradients(
  backend: "cpu" | "wasm",
  x: Float32Array,
  xShape: Shape4D,
  w: Float32Array,
  wShape: Shape4D,
  stride: number,
  pad: Pad,
): Promise<Float32Array> {
  await initBackend(backend);
  const before = tf.memory().numTensors;
  const result = tf.tidy(() => {
    const input = tf.tensor4d(x, xShape);
    const filter = tf.tensor4d(w, wShape);
    const outShape = tf.depthwiseConv2d(input, filter, stride, pad).shape;
    const weights = tf.randomUniform(outShape, -1, 1, "float32", 5);
    const loss = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), weights));
    const [dx, dw] = tf.grads(loss)([input, filter]);
    return tf.concat([tf.reshape(dx, [-1]), tf.reshape(dw, [-1])]).dataSync() as Float32Array;
  });
  assertEquals(tf.memory().numTensors, before, `tensors left on ${backend}`);
  return result;
}

Deno.test("the depthwise conv's gradients on wasm (SIMD and JS loops) match cpu for the separable blocks' shapes, strides and paddings", async () => {
  const next = createRandom(7);
  const random = (length: number) => Float32Array.from({ length }, () => 2 * next() - 1);
  // [x shape, filter size, stride, padding]: the families' 3x3 "same" blocks (1 to 64
  // channels, 28 to 7 pixels), then odd sizes, stride 2 and valid padding.
  const cases: [Shape4D, number, number, Pad][] = [
    [[2, 28, 28, 2], 3, 1, "same"],
    [[3, 14, 14, 16], 3, 1, "same"],
    [[2, 7, 7, 64], 3, 1, "same"],
    [[1, 9, 7, 5], 3, 2, "same"],
    [[2, 8, 8, 3], 3, 1, "valid"],
    [[1, 6, 5, 1], 5, 2, "valid"],
  ];
  for (const [xShape, size, stride, pad] of cases) {
    const wShape: Shape4D = [size, size, xShape[3], 1];
    const x = random(tf.util.sizeFromShape(xShape));
    const w = random(tf.util.sizeFromShape(wShape));
    const expected = await gradients("cpu", x, xShape, w, wShape, stride, pad);
    for (const simd of [true, false]) {
      useSimdKernels(simd);
      try {
        const actual = await gradients("wasm", x, xShape, w, wShape, stride, pad);
        const label = `${xShape} ${size}x${size}/${stride} ${pad}, SIMD ${simd}`;
        assertMaxRelativeError(actual, expected, 1e-4, label);
      } finally {
        useSimdKernels(true);
      }
    }
  }
});

Deno.test("the depthwise gradients on wasm refuse a channel multiplier above 1 by name", async () => {
  await initBackend("wasm");
  const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D;
  const w = tf.ones([3, 3, 2, 2]) as tf.Tensor4D;
  assertThrows(
    () => tf.grad((f: tf.Tensor) => tf.sum(tf.depthwiseConv2d(x, f as tf.Tensor4D, 1, "same")))(w),
    Error,
    "channel multiplier of 1",
  );
  tf.dispose([x, w]);
});
