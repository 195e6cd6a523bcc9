import * as tf from "@tensorflow/tfjs";
import { Buffer } from "node:buffer";
import { initBackend } from "../lib/backend/backend.ts";
import { FusedMomentumOptimizer } from "../lib/backend/momentum.ts";
import { nativeKernelCalls, useNativeKernels } from "../lib/backend/native_kernels.ts";
import { loadBlas } from "../lib/backend/blas.ts";
import { simdLoops, useSimdKernels } from "../lib/backend/simd.ts";
import { SIMD_WASM_BASE64 } from "../lib/backend/simd_binary.ts";
import { createRandom } from "../lib/data/random.ts";
import { disposeOptimizer, setDropoutSeeds, trainStep } from "../lib/training/train.ts";
import { buildFamilyModel } from "../lib/models/families.ts";
import { buildModel } from "../lib/models/registry.ts";
import { assembleSimd } from "../scripts/build_simd.ts";
import { assert, assertEquals } from "./assert.ts";

useNativeKernels(false);

Deno.test("simd_binary.ts holds the module simd.wat assembles to (deno task build-simd)", async () => {
  const assembled = await assembleSimd();
  const committed = new Uint8Array(Buffer.from(SIMD_WASM_BASE64, "base64"));
  assertEquals(committed.length, assembled.length, "run deno task build-simd");
  assert(committed.every((byte, i) => byte === assembled[i]), "run deno task build-simd");
});

Deno.test("the SIMD loops load over tf.js-wasm's memory", async () => {
  await initBackend("wasm");
  assert(simdLoops(tf.backend() as never) !== undefined, "the SIMD module did not load");
  useSimdKernels(false);
  assertEquals(simdLoops(tf.backend() as never), undefined);
  useSimdKernels(true);
});

// Values with the cases the loops branch on: exact zeros of both signs, NaN and infinities.
function awkwardValues(length: number, seed: number): Float32Array {
  const next = createRandom(seed);
  const values = Float32Array.from({ length }, () => 2 * next() - 1);
  const specials = [0, -0, NaN, Infinity, -Infinity];
  for (let i = 0; i < Math.min(length, 50); i += 7) values[i] = specials[(i / 7) % 5];
  return values;
}

// Runs `compute` on wasm with the SIMD loops, then with the JS loops; returns both results.
function withAndWithoutSimd(compute: () => tf.Tensor): [Float32Array, Float32Array] {
  const results = [true, false].map((on) => {
    useSimdKernels(on);
    try {
      return tf.tidy(() => compute().dataSync() as Float32Array);
    } finally {
      useSimdKernels(true);
    }
  });
  return [results[0], results[1]];
}

// Bit for bit, NaN equal to NaN and -0 apart from 0.
function assertSameFloats(actual: Float32Array, expected: Float32Array, label: string): void {
  assertEquals(actual.length, expected.length, label);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

// Lengths with every remainder mod 4 (the loops' scalar tails) and one large shape.
const SHAPES = [[1], [2, 3], [3, 5, 7], [16, 26, 26, 5], [7, 9, 1, 1]];

Deno.test("Relu's and LeakyRelu's SIMD loops give the JS loops' values bit for bit, and Relu's gradient cpu's", async () => {
  await initBackend("wasm");
  for (const [index, shape] of SHAPES.entries()) {
    const count = tf.util.sizeFromShape(shape);
    const values = awkwardValues(count, index);
    const dy = awkwardValues(count, 100 + index).reverse();
    const both = (f: (x: tf.Tensor, dy: tf.Tensor) => tf.Tensor) =>
      withAndWithoutSimd(() => f(tf.tensor(values, shape), tf.tensor(dy, shape)));
    for (const alpha of [0.01, 0.2]) {
      const [simd, js] = both((x) => tf.leakyRelu(x, alpha));
      assertSameFloats(simd, js, `leakyRelu ${shape} alpha ${alpha}`);
      const [simdGrad, jsGrad] = both((x, g) => tf.grad((t) => tf.leakyRelu(t, alpha))(x, g));
      assertSameFloats(simdGrad, jsGrad, `leakyRelu's gradient ${shape} alpha ${alpha}`);
    }
    const reluGrad = (x: tf.Tensor, g: tf.Tensor) => tf.grad((t) => tf.relu(t))(x, g);
    const [simd, js] = both(reluGrad);
    assertSameFloats(simd, js, `relu's gradient ${shape}`);
    await initBackend("cpu");
    const cpu = tf.tidy(() =>
      reluGrad(tf.tensor(values, shape), tf.tensor(dy, shape)).dataSync() as Float32Array
    );
    await initBackend("wasm");
    assertSameFloats(simd, cpu, `relu's gradient ${shape} against cpu`);
  }
});

Deno.test("the 2x2 max pool gradient's SIMD loop gives the JS loop's values bit for bit", async () => {
  await initBackend("wasm");
  // 4 channels or more take the SIMD loop (10: 4, 4 and the last 4 overlapping); odd sizes
  // leave a row and column no window covers; ties (rounded values) go to the first maximum, a
  // NaN loses to the next pixel.
  for (
    const shape of [[2, 4, 4, 4], [3, 9, 7, 8], [16, 24, 24, 64], [1, 2, 2, 12], [3, 24, 24, 10], [
      2,
      6,
      5,
      5,
    ], [2, 4, 4, 3]]
  ) {
    const count = tf.util.sizeFromShape(shape);
    const values = awkwardValues(count, shape[3]).map((v, i) => (i % 3 ? Math.round(v * 2) : v));
    const dy = awkwardValues(count / 4, 7);
    const outShape = [shape[0], shape[1] >> 1, shape[2] >> 1, shape[3]];
    const [simd, js] = withAndWithoutSimd(() => {
      const x = tf.tensor4d(values, shape as [number, number, number, number]);
      const weights = tf.tensor(dy.subarray(0, tf.util.sizeFromShape(outShape)), outShape);
      return tf.grad((t) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, 2, 2, "valid"), weights)))(
        x,
      );
    });
    assertSameFloats(simd, js, `maxPool gradient ${shape}`);
  }
});

Deno.test("the momentum step's SIMD loop gives tf.js's own update bit for bit", async () => {
  await initBackend("wasm");
  for (const nesterov of [true, false]) {
    for (const shape of [[5], [3, 3, 1, 7], [784, 16]]) {
      const steps = (optimizer: tf.MomentumOptimizer) => {
        const next = createRandom(shape.length);
        const random = () =>
          tf.tensor(Float32Array.from({ length: tf.util.sizeFromShape(shape) }, next), shape);
        const variable = tf.variable(random());
        for (let step = 0; step < 3; step++) {
          const gradient = random();
          optimizer.applyGradients([{ name: variable.name, tensor: gradient }]);
          gradient.dispose();
        }
        const values = variable.dataSync() as Float32Array;
        variable.dispose();
        disposeOptimizer(optimizer);
        return values;
      };
      const expected = steps(tf.train.momentum(0.05, 0.9, nesterov));
      const actual = steps(new FusedMomentumOptimizer(0.05, 0.9, nesterov));
      assertSameFloats(actual, expected, `nesterov ${nesterov}, ${shape}`);
    }
  }
});

Deno.test({
  name:
    "the native products' fused Relu and LeakyRelu in SIMD give the JS loops' values bit for bit",
  ignore: loadBlas().blas === undefined,
  fn: async () => {
    await initBackend("wasm");
    useNativeKernels(true);
    try {
      // 7 x 9 outputs: 63 values, the last 3 in the scalar tail; exact zeros, NaN, infinities.
      const a = tf.tensor2d(awkwardValues(7 * 5, 1), [7, 5]);
      const b = tf.tensor2d(awkwardValues(5 * 9, 2).map((v) => (Number.isFinite(v) ? v : 1)), [
        5,
        9,
      ]);
      const bias = tf.tensor1d(awkwardValues(9, 3));
      const calls = nativeKernelCalls();
      for (const activation of ["relu", "leakyrelu"] as const) {
        const [simd, js] = withAndWithoutSimd(() =>
          tf.fused.matMul({ a, b, bias, activation, leakyreluAlpha: 0.1 })
        );
        assertSameFloats(simd, js, activation);
        assert(simd.some((v) => Number.isNaN(v)), "NaN reaches the activation");
      }
      assert(nativeKernelCalls() > calls, "the native product ran");
      tf.dispose([a, b, bias]);
    } finally {
      useNativeKernels(false);
    }
  },
});

Deno.test("training steps on the SIMD paths (batch norm, depthwise, dropout, pools) leave no tensors, buffers or heap blocks behind", async () => {
  await initBackend("wasm");
  const backend = tf.backend() as unknown as {
    wasm: { _malloc(bytes: number): number; _free(at: number): void };
    numDataIds(): number;
  };
  const { wasm } = backend;
  // Emscripten's exports replace themselves with the real function on their first call: call
  // them once before wrapping them.
  wasm._free(wasm._malloc(16));
  const [malloc, free] = [wasm._malloc, wasm._free];
  let open = 0; // blocks allocated and not yet freed
  wasm._malloc = (bytes) => (open++, malloc(bytes));
  wasm._free = (at) => (open--, free(at));
  try {
    const models = [
      buildFamilyModel({ family: "separable", stem: 4, widths: [8] }),
      buildModel("keras-cnn", { seed: 0 }),
    ];
    const next = createRandom(5);
    const images = Float32Array.from({ length: 4 * 784 }, next);
    const targets = new Float32Array(4 * 10).map((_, i) => (i % 11 === 0 ? 1 : 0));
    for (const model of models) {
      const optimizer = new FusedMomentumOptimizer(0.01, 0.9, true);
      const step = (seed: number) => {
        setDropoutSeeds(model, [seed, seed + 1]);
        return trainStep(model, optimizer, images, targets, 4);
      };
      step(1); // warm up: the optimizer's accumulators
      const before = { tensors: tf.memory().numTensors, buffers: backend.numDataIds(), open };
      step(2);
      assertEquals(tf.memory().numTensors, before.tensors, `${model.name}: tensors`);
      assertEquals(backend.numDataIds(), before.buffers, `${model.name}: buffers`);
      assertEquals(open, before.open, `${model.name}: heap blocks`);
      disposeOptimizer(optimizer);
      model.dispose();
    }
  } finally {
    wasm._malloc = malloc;
    wasm._free = free;
  }
});
