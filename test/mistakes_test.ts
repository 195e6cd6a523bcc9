import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { makeConfig } from "../lib/training/config.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import {
  confusionMatrix,
  countConfusions,
  misclassified,
  predictExamples,
  topConfusions,
} from "../lib/measure/mistakes.ts";
import { buildModel } from "../lib/models/registry.ts";
import { evaluateModel, trainModel } from "../lib/training/train.ts";

await initBackend();
const data = await loadMnist({ trainSize: 1024, testSize: 300, seed: 0 });
const config = makeConfig("keras-mlp", {
  preset: "smoke",
  overrides: { trainSize: 1024, testSize: 300, evalBatchSize: 300 },
});
// Trained for one epoch: right on most images, wrong on some, as the tests need.
const model = buildModel("keras-mlp", { seed: 0 });
await trainModel(model, data, { config });

Deno.test("countConfusions() puts true digits in rows and answers in columns", () => {
  const matrix = countConfusions([4, 4, 4, 9, 0], [4, 9, 9, 9, 0]);
  assertEquals(matrix.length, 10);
  assert(matrix.every((row) => row.length === 10));
  assertEquals(matrix[4][4], 1);
  assertEquals(matrix[4][9], 2);
  assertEquals(matrix[9][9], 1);
  assertEquals(matrix[9][4], 0);
  assertEquals(matrix.flat().reduce((a, b) => a + b), 5);
  assertThrows(() => countConfusions([1, 2], [1]), /one answer per label, got 2 labels and 1/);
  assertThrows(() => countConfusions([10], [1]), /digits 0-9; item 0 is 10 -> 1/);
});

Deno.test("confusionMatrix() counts every test image once; its diagonal is evaluateModel's accuracy", () => {
  const tensors = tf.memory().numTensors;
  const matrix = confusionMatrix(model, data.test, { batchSize: 128 });
  assertEquals(tf.memory().numTensors, tensors, "tensors left behind");
  const rowSums = matrix.map((row) => row.reduce((a, b) => a + b));
  const labelCounts = Array.from({ length: 10 }, (_, d) => data.test.labels.filter((l) => l === d));
  assertEquals(rowSums, labelCounts.map((labels) => labels.length));
  const correct = matrix.reduce((sum, row, d) => sum + row[d], 0);
  const { accuracy } = evaluateModel(model, data.test, { batchSize: 300 });
  assertEquals(correct / data.test.count, accuracy);
  assert(correct < data.test.count, "the test needs a model that makes mistakes");
});

Deno.test("predictExamples() gives softmax confidences in (0, 1] and the same answers at any batch size", () => {
  const whole = predictExamples(model, data.test, { batchSize: 300 });
  const batched = predictExamples(model, data.test, { batchSize: 7 });
  assertEquals(whole.predicted, batched.predicted);
  assert(whole.confidence.every((c) => c > 0.1 && c <= 1), "a top probability is at least 1/10");
  // Each confidence is the softmax probability of the answer, computed here from the logits.
  const logits = tf.tidy(() =>
    (model.predict(tf.tensor4d(data.test.images, [data.test.count, 28, 28, 1])) as tf.Tensor2D)
      .arraySync()
  );
  logits.forEach((row, i) => {
    const top = Math.max(...row);
    const total = row.reduce((sum, logit) => sum + Math.exp(logit - top), 0);
    assertEquals(whole.predicted[i], row.indexOf(top), `image ${i}'s answer`);
    assertAlmostEquals(whole.confidence[i], 1 / total, 1e-5, `image ${i}'s confidence`);
    assertAlmostEquals(batched.confidence[i], whole.confidence[i], 1e-5, `image ${i}, batch 7`);
  });
  // Even after one short epoch the model is far surer of some answers than of others.
  const [surest, leastSure] = [Math.max(...whole.confidence), Math.min(...whole.confidence)];
  assert(surest > 0.6 && leastSure < 0.4, `confidences from ${leastSure} to ${surest}`);
});

Deno.test("misclassified() lists every wrong image, surest first, with its true digit and answer", () => {
  const tensors = tf.memory().numTensors;
  const all = misclassified(model, data.test, { limit: Infinity });
  assertEquals(tf.memory().numTensors, tensors, "tensors left behind");
  const matrix = confusionMatrix(model, data.test);
  const wrong = data.test.count - matrix.reduce((sum, row, d) => sum + row[d], 0);
  assertEquals(all.length, wrong);
  for (const item of all) {
    assertEquals(item.label, data.test.labels[item.index]);
    assert(item.predicted !== item.label);
    assert(item.confidence > 0 && item.confidence <= 1);
  }
  for (let i = 1; i < all.length; i++) assert(all[i - 1].confidence >= all[i].confidence);
  // Each mistake is one off-diagonal count.
  const counted = countConfusions(all.map((m) => m.label), all.map((m) => m.predicted));
  for (let t = 0; t < 10; t++) {
    for (let p = 0; p < 10; p++) if (t !== p) assertEquals(counted[t][p], matrix[t][p]);
  }
});

Deno.test("misclassified() honours limit and index order", () => {
  const firstFive = misclassified(model, data.test, { limit: 5, order: "index" });
  assertEquals(firstFive.length, 5);
  assertEquals(
    firstFive,
    misclassified(model, data.test, { limit: Infinity, order: "index" }).slice(0, 5),
  );
  assert(firstFive.every((m, i) => i === 0 || firstFive[i - 1].index < m.index));
  assertEquals(misclassified(model, data.test, { limit: 0 }), []);
  assertThrows(() => misclassified(model, data.test, { limit: -1 }), /limit must be zero or more/);
});

Deno.test("topConfusions() lists the largest off-diagonal counts first", () => {
  const matrix = countConfusions([4, 4, 4, 7, 7, 3], [9, 9, 9, 1, 1, 3]);
  assertEquals(topConfusions(matrix, { limit: 2 }), [
    { label: 4, predicted: 9, count: 3 },
    { label: 7, predicted: 1, count: 2 },
  ]);
});
