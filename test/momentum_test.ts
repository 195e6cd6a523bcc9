import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { FusedMomentumOptimizer, MOMENTUM_UPDATE } from "../lib/backend/momentum.ts";
import { createRandom } from "../lib/data/random.ts";
import { disposeOptimizer } from "../lib/training/train.ts";
import { assert, assertEquals, assertMaxRelativeError } from "./assert.ts";

// A dense kernel, a bias and a conv filter: the shapes the models update.
const SHAPES = [[784, 16], [16], [3, 3, 5, 8]];
const STEPS = 5;

// Seeded tensors of uniform values in [-0.5, 0.5), one shape per call.
function randomTensors(seed: number): (shape: number[]) => tf.Tensor {
  const next = createRandom(seed);
  return (shape) =>
    tf.tensor(
      Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => next() - 0.5),
      shape,
    );
}

// Runs STEPS updates with random gradients; returns the values and accumulators.
function train(optimizer: tf.MomentumOptimizer, seed: number) {
  const random = randomTensors(seed);
  const variables = SHAPES.map((shape) => tf.tidy(() => tf.variable(random(shape))));
  for (let step = 0; step < STEPS; step++) {
    if (step === 3) optimizer.setLearningRate(0.02); // as at an epoch's learning-rate drop
    const gradients = SHAPES.map(random);
    optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: gradients[i] })));
    tf.dispose(gradients);
  }
  const accumulators = (optimizer as unknown as { accumulations: { variable: tf.Variable }[] })
    .accumulations.map(({ variable }) => Array.from(variable.dataSync()));
  const values = variables.map((v) => Array.from(v.dataSync()));
  tf.dispose(variables);
  return { values, accumulators };
}

for (const nesterov of [true, false]) {
  Deno.test(`FusedMomentumOptimizer on wasm matches tf.train.momentum (nesterov ${nesterov})`, async () => {
    await initBackend("wasm");
    const reference = tf.train.momentum(0.05, 0.9, nesterov);
    const expected = train(reference, 1);
    disposeOptimizer(reference);
    const before = tf.memory().numTensors;
    const fused = new FusedMomentumOptimizer(0.05, 0.9, nesterov);
    const actual = train(fused, 1);
    // tf.js rounds each product and sum to float32; the fused kernel rounds once.
    for (let i = 0; i < SHAPES.length; i++) {
      assertMaxRelativeError(actual.values[i], expected.values[i], 1e-6, `values ${SHAPES[i]}`);
      assertMaxRelativeError(
        actual.accumulators[i],
        expected.accumulators[i],
        1e-6,
        `accumulators ${SHAPES[i]}`,
      );
    }
    disposeOptimizer(fused);
    assertEquals(tf.memory().numTensors, before, "no tensors left behind");
  });
}

Deno.test("FusedMomentumOptimizer keeps its accumulators where tf.js keeps them", async () => {
  await initBackend("wasm");
  const optimizer = new FusedMomentumOptimizer(0.1, 0.9, true);
  const v = tf.variable(tf.ones([3]), true, "fused_momentum_v");
  optimizer.applyGradients([{ name: v.name, tensor: tf.fill([3], 2) }]);
  const [{ name, tensor }] = (await optimizer.getWeights()).slice(1);
  assertEquals(name, "fused_momentum_v/momentum");
  assertEquals(Array.from(tensor.dataSync()), [2, 2, 2]);
  // Nesterov: 1 - 0.1 * (2 + 0.9 * 2).
  assertMaxRelativeError(v.dataSync(), [0.62, 0.62, 0.62], 1e-7);
  disposeOptimizer(optimizer);
  v.dispose();
});

Deno.test("FusedMomentumOptimizer runs tf.js's own update on the cpu backend", async () => {
  await initBackend("cpu");
  try {
    const reference = tf.train.momentum(0.05, 0.9, true);
    const fused = new FusedMomentumOptimizer(0.05, 0.9, true);
    assertEquals(train(fused, 2), train(reference, 2));
    [reference, fused].forEach(disposeOptimizer);
    assert(tf.getKernel(MOMENTUM_UPDATE, "cpu") === undefined);
  } finally {
    await initBackend("wasm");
  }
});

// Two gradients applied as their weighted mean, the way data-parallel training does.
function trainMixed(optimizer: FusedMomentumOptimizer | tf.MomentumOptimizer, seed: number) {
  const random = randomTensors(seed);
  const variables = SHAPES.map((shape) => tf.tidy(() => tf.variable(random(shape))));
  const names = variables.map((v) => v.name);
  for (let step = 0; step < STEPS; step++) {
    const mine = SHAPES.map(random);
    const theirs = SHAPES.map(random);
    // Not instanceof: tf.js' Optimizer answers it true for any optimizer.
    if ("applyMixedGradients" in optimizer) {
      const flat = theirs.map((t) => t.dataSync() as Float32Array);
      optimizer.applyMixedGradients(names, mine, flat, [5 / 9, 4 / 9]);
    } else {
      const mean = tf.tidy(() => mine.map((g, i) => g.mul(5 / 9).add(theirs[i].mul(4 / 9))));
      optimizer.applyGradients(names.map((name, i) => ({ name, tensor: mean[i] })));
      tf.dispose(mean);
    }
    tf.dispose([...mine, ...theirs]);
  }
  const values = variables.map((v) => Array.from(v.dataSync()));
  tf.dispose(variables);
  return values;
}

for (const backend of ["wasm", "cpu"] as const) {
  Deno.test(`applyMixedGradients() on ${backend} applies the weighted mean of two gradients`, async () => {
    await initBackend(backend);
    try {
      const reference = tf.train.momentum(0.05, 0.9, true);
      const expected = trainMixed(reference, 3);
      const fused = new FusedMomentumOptimizer(0.05, 0.9, true);
      const before = tf.memory().numTensors;
      const actual = trainMixed(fused, 3);
      SHAPES.forEach((shape, i) =>
        assertMaxRelativeError(actual[i], expected[i], 1e-5, `values ${shape}`)
      );
      [reference, fused].forEach(disposeOptimizer);
      assert(tf.memory().numTensors <= before, "no tensors left behind");
    } finally {
      await initBackend("wasm");
    }
  });
}
