import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { applyDropoutForTraining, dropoutMask } from "../lib/backend/dropout.ts";
import { useSimdKernels } from "../lib/backend/simd.ts";
import { assert, assertEquals, assertNotEquals } from "./assert.ts";

await initBackend("wasm");

Deno.test("dropoutMask() is tf.js' own dropout multiplier for the seed, bit for bit", () => {
  for (const [rate, seed] of [[0.25, 7], [0.5, 12345], [0.2, 987654321]]) {
    const shape = [3, 7, 11];
    const ones = tf.ones(shape);
    const theirs = tf.dropout(ones, rate, undefined, seed);
    assertEquals(
      Array.from(dropoutMask(ones.size, rate, seed)),
      Array.from(theirs.dataSync()),
      `rate ${rate}, seed ${seed}`,
    );
    // The layer's path, with the SIMD module's loop and without: the same multiplier.
    const layer = tf.layers.dropout({ rate });
    (layer as unknown as { seed: number }).seed = seed;
    for (const simd of [true, false]) {
      useSimdKernels(simd);
      try {
        const ours = applyDropoutForTraining(layer, ones)!;
        assertEquals(Array.from(ours.dataSync()), Array.from(theirs.dataSync()), `SIMD ${simd}`);
        ours.dispose();
      } finally {
        useSimdKernels(true);
      }
    }
    tf.dispose([ones, theirs]);
  }
});

Deno.test("dropoutMask() keeps each unit with probability 1 - rate, scaled by 1 / (1 - rate), the same for the same seed", () => {
  const size = 100_000;
  for (const rate of [0.25, 0.5]) {
    const mask = dropoutMask(size, rate, 7);
    const kept = Math.fround(1 / (1 - rate));
    assert(mask.every((v) => v === 0 || v === kept), "values are 0 or 1 / keep");
    const count = mask.filter((v) => v !== 0).length;
    // Binomial: within 5 standard deviations of size * keep.
    const sd = Math.sqrt(size * rate * (1 - rate));
    assert(Math.abs(count - size * (1 - rate)) < 5 * sd, `${count} kept of ${size}, rate ${rate}`);
    assertEquals(Array.from(dropoutMask(50, rate, 7)), Array.from(mask.subarray(0, 50)));
    assertNotEquals(Array.from(dropoutMask(50, rate, 8)), Array.from(mask.subarray(0, 50)));
  }
});

Deno.test("applyDropoutForTraining() multiplies by the seed's mask, and its gradient is dy times the mask", () => {
  const layer = tf.layers.dropout({ rate: 0.25 });
  (layer as unknown as { seed: number }).seed = 11;
  const x = tf.randomUniform([4, 6, 5], -1, 1, "float32", 3);
  const dy = tf.randomUniform([4, 6, 5], -1, 1, "float32", 4);
  const mask = dropoutMask(x.size, 0.25, 11);
  const y = applyDropoutForTraining(layer, x)!;
  const xs = x.dataSync();
  assertEquals(Array.from(y.dataSync()), Array.from(xs, (v, i) => Math.fround(v * mask[i])));
  const dx = tf.grad((t: tf.Tensor) => applyDropoutForTraining(layer, t)!)(x, dy);
  const dys = dy.dataSync();
  assertEquals(Array.from(dx.dataSync()), Array.from(dys, (v, i) => Math.fround(v * mask[i])));
  tf.dispose([x, dy, y, dx]);
});

Deno.test("applyDropoutForTraining() leaves other layers, noise shapes and unseeded dropout to tf.js", () => {
  const x = tf.ones([2, 4]);
  assertEquals(applyDropoutForTraining(tf.layers.dense({ units: 3 }), x), undefined);
  assertEquals(applyDropoutForTraining(tf.layers.dropout({ rate: 0.5 }), x), undefined);
  const shaped = tf.layers.dropout({ rate: 0.5, noiseShape: [1, 4], seed: 1 });
  assertEquals(applyDropoutForTraining(shaped, x), undefined);
  x.dispose();
});
