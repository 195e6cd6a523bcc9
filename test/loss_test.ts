import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { meanSoftmaxCrossEntropy } from "../lib/backend/loss.ts";
import { createRandom } from "../lib/data/random.ts";
import { assert, assertEquals, assertMaxRelativeError } from "./assert.ts";

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`meanSoftmaxCrossEntropy() matches tf.losses.softmaxCrossEntropy on ${backend}`, async () => {
    await initBackend(backend);
    try {
      const next = createRandom(3);
      // A batch of 16 as in training, logits from small to large, and a batch of one.
      for (const [batch, scale] of [[16, 3], [16, 30], [1, 1]]) {
        const logits = tf.tensor2d(
          Array.from({ length: batch * 10 }, () => scale * (next() - 0.5)),
          [batch, 10],
        );
        const labels = tf.oneHot(
          tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 3) % 10), "int32"),
          10,
        ) as tf.Tensor2D;
        const reference = tf.valueAndGrad((x: tf.Tensor) =>
          tf.losses.softmaxCrossEntropy(labels, x)
        )(logits);
        const before = tf.memory().numTensors;
        const ours = tf.valueAndGrad((x: tf.Tensor) =>
          meanSoftmaxCrossEntropy(labels, x as tf.Tensor2D)
        )(logits);
        const label = `batch ${batch}, logits x${scale}`;
        assertMaxRelativeError(ours.value.dataSync(), reference.value.dataSync(), 1e-6, label);
        assertMaxRelativeError(ours.grad.dataSync(), reference.grad.dataSync(), 1e-6, label);
        tf.dispose([ours.value, ours.grad]);
        assertEquals(tf.memory().numTensors, before, `no tensors left behind, ${label}`);
        tf.dispose([logits, labels, reference.value, reference.grad]);
      }
    } finally {
      await initBackend("wasm");
    }
  });
}

Deno.test("meanSoftmaxCrossEntropy() is NaN when a logit is NaN, so a diverged run stops", async () => {
  await initBackend("wasm");
  const logits = tf.tensor2d([[0, 1, NaN], [1, 2, 3]]);
  const labels = tf.tensor2d([[1, 0, 0], [0, 0, 1]]);
  const loss = meanSoftmaxCrossEntropy(labels, logits);
  assert(Number.isNaN(loss.dataSync()[0]));
  tf.dispose([logits, labels, loss]);
});
