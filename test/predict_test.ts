import * as tf from "@tensorflow/tfjs";
import { assertEquals } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { buildModel } from "../lib/models/registry.ts";
import { predictInBatches } from "../lib/training/predict.ts";
import { createRandom } from "../lib/data/random.ts";

await initBackend("wasm");

Deno.test("predictInBatches() runs each batch as one pass (predict() alone cuts it into 32s)", async () => {
  const model = buildModel("keras-mlp", { seed: 0 });
  const next = createRandom(3);
  const count = 250;
  const examples = {
    images: Float32Array.from({ length: count * 784 }, () => next()),
    labels: new Uint8Array(count),
    count,
  };
  const ranges: [number, number][] = [];
  let logits = new Float32Array(0);
  const profile = await tf.profile(() => {
    predictInBatches(model, examples, 100, (batch, from, to) => {
      ranges.push([from, to]);
      logits = new Float32Array([...logits, ...batch.dataSync()]);
    });
  });
  assertEquals(ranges, [[0, 100], [100, 200], [200, 250]]);
  // Three dense layers a batch, three batches: 9 products, no concatenation of pieces.
  const products = profile.kernels.filter((k) => k.name === "_FusedMatMul");
  assertEquals(products.length, 9);
  for (const copy of ["Concat", "Slice"]) {
    assertEquals(profile.kernels.filter((k) => k.name === copy).length, 0, copy);
  }
  // The same logits as one pass over all 250 images.
  const whole = tf.tidy(() =>
    (model.predict(tf.tensor4d(examples.images, [count, 28, 28, 1]), {
      batchSize: count,
    }) as tf.Tensor)
      .dataSync()
  );
  const worst = logits.reduce((m, v, i) => Math.max(m, Math.abs(v - whole[i])), 0);
  assertEquals(worst < 1e-5, true, `largest difference ${worst}`);
  model.dispose();
});
