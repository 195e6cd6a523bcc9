import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { buildModel, MODEL_NAMES } from "../lib/models/registry.ts";
import { createRandom } from "../lib/data/random.ts";
import {
  builtinWasmKernel,
  chooseInputGradientPath,
  type InputGradientPath,
  registerWasmKernels,
  setInputGradientPath,
  WASM_KERNEL_NAMES,
  withoutInputGradient,
} from "../lib/backend/wasm_kernels.ts";
import { useNativeKernels } from "../lib/backend/native_kernels.ts";
import { assert, assertEquals, assertMaxRelativeError } from "./assert.ts";

// These tests check the wasm kernels: the BLAS-backed ones over them (native_kernels_test.ts)
// stay off here.
useNativeKernels(false);

type Values = Float32Array | Int32Array | Uint8Array;

type Shape4D = [number, number, number, number];
type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;

interface ConvCase {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  strides: [number, number];
  pad: Pad;
}

interface ConvGradients {
  dx: Float32Array;
  dw: Float32Array;
}

// The values the five models' convolutions use.
const BATCHES = [1, 3, 16];
const SIZES = [28, 26, 24, 12, 10, 8, 5];
const IN_CHANNELS = [1, 5, 10, 20, 32];
const OUT_CHANNELS = [5, 8, 10, 20, 32, 64];
// The cpu reference runs ~10 MMAC/s; this keeps every shape under ~0.2 s there.
const MAX_MACS = 2e6;
const SHAPES_PER_CONFIG = 6;
const TOLERANCE = 1e-4;

const configs = [3, 5].flatMap((kernel) =>
  [1, 2].flatMap((stride) => (["valid", "same"] as const).map((pad) => ({ kernel, stride, pad })))
);
const random = createRandom(20261128);
const randomCases = new Map(configs.map((config) => [config, drawCases(config)]));
const cache = new Map<ConvCase, Map<string, ConvGradients>>();

for (const config of configs) {
  const label = `${config.kernel}x${config.kernel} stride ${config.stride} ${config.pad} padding`;
  Deno.test(`Conv2DBackpropFilter on wasm matches cpu for ${label}`, async () => {
    for (const convCase of randomCases.get(config)!) await checkAgainstCpu(convCase, "dw");
  });
  Deno.test(`Conv2DBackpropInput on wasm matches cpu for ${label}`, async () => {
    for (const convCase of randomCases.get(config)!) await checkAgainstCpu(convCase, "dx");
  });
}

// keras-cnn conv2, pytorch conv1/conv2, and uneven strides, numeric and asymmetric padding,
// a pad wider than k - 1 and a non-square input that exercise the cropping paths.
const specialCases: [string, ConvCase][] = [
  ["keras-cnn's second conv (26x26x32 to 64, 3x3)", makeCase(1, 26, 26, 32, 64, 3, 1, "valid")],
  ["pytorch's first conv (28x28x1 to 10, 5x5)", makeCase(3, 28, 28, 1, 10, 5, 1, "valid")],
  ["pytorch's second conv (12x12x10 to 20, 5x5)", makeCase(16, 12, 12, 10, 20, 5, 1, "valid")],
  ["strides [1, 2] on a 9x12 input", makeCase(2, 9, 12, 5, 8, 3, [1, 2], "same")],
  ["numeric padding 1 with stride 2", makeCase(3, 10, 10, 5, 8, 3, 2, 1)],
  ["numeric padding 4, wider than the 3x3 kernel", makeCase(2, 8, 8, 5, 8, 3, 1, 4)],
  ["explicit asymmetric padding", makeCase(2, 11, 9, 5, 8, 5, 2, [[0, 0], [1, 2], [0, 3], [0, 0]])],
  ["a stride-3 conv that never reads the last rows", makeCase(2, 12, 13, 5, 8, 5, 3, "valid")],
];
for (const [label, convCase] of specialCases) {
  Deno.test(`Conv2DBackpropFilter and Conv2DBackpropInput on wasm match cpu for ${label}`, async () => {
    await checkAgainstCpu(convCase, "dw");
    await checkAgainstCpu(convCase, "dx");
  });
}

Deno.test("Conv2DBackpropInput on wasm matches cpu on the built-in and auto paths too", async () => {
  const cases = [
    makeCase(1, 5, 5, 5, 8, 3, 1, "valid"),
    makeCase(16, 12, 12, 10, 20, 5, 2, "valid"),
    makeCase(3, 10, 10, 5, 8, 3, 1, "same"),
  ];
  for (const convCase of cases) {
    await checkAgainstCpu(convCase, "dx", "builtin");
    await checkAgainstCpu(convCase, "dx", "auto");
  }
});

Deno.test("chooseInputGradientPath() keeps the built-in kernel only where it is faster", () => {
  // Measured: keras-cnn conv2 130 ms built-in vs 12 ms conv; a 1x5x5x5 3x3 conv 0.02 vs 0.08
  // ms; pytorch conv2 at stride 2, where the conv path does 9x the work, 1.2 vs 1.8 ms.
  assertEquals(chooseInputGradientPath([16, 26, 26, 32], [3, 3, 32, 64], [16, 24, 24, 64]), "conv");
  assertEquals(chooseInputGradientPath([16, 12, 12, 10], [5, 5, 10, 20], [16, 8, 8, 20]), "conv");
  assertEquals(chooseInputGradientPath([1, 5, 5, 5], [3, 3, 5, 8], [1, 3, 3, 8]), "builtin");
  assertEquals(
    chooseInputGradientPath([16, 12, 12, 10], [5, 5, 10, 20], [16, 4, 4, 20]),
    "builtin",
  );
});

Deno.test("BatchMatMul on wasm matches cpu with either or both operands transposed", async () => {
  // [m, k, n]: keras-cnn's and keras-mlp's dense layers at batch 16, and small odd shapes.
  const sizes = [[16, 9216, 128], [16, 784, 512], [16, 8, 10], [3, 5, 7], [1, 7, 1]];
  const next = createRandom(11);
  for (const [m, k, n] of sizes) {
    for (
      const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]
    ) {
      const aShape = transposeA ? [k, m] : [m, k];
      const bShape = transposeB ? [n, k] : [k, n];
      const a = randomValues(aShape, next);
      const b = randomValues(bShape, next);
      // Also as rank 3 with batch 1, the form tf.js's fused dense layers use.
      for (const batchDims of [[], [1]]) {
        const [expected, actual] = await onBothBackends(() =>
          tf.matMul(
            tf.tensor(a, [...batchDims, ...aShape]),
            tf.tensor(b, [...batchDims, ...bShape]),
            transposeA,
            transposeB,
          )
        );
        const label = `${aShape} x ${bShape}, transposes ${transposeA}/${transposeB}`;
        assertMaxRelativeError(actual, expected, TOLERANCE, label);
      }
    }
  }
  // Batches of several matrices take the built-in kernel.
  const a = randomValues([3, 4, 5], next);
  const b = randomValues([3, 6, 5], next);
  const [expected, actual] = await onBothBackends(() =>
    tf.matMul(tf.tensor(a, [3, 4, 5]), tf.tensor(b, [3, 6, 5]), false, true)
  );
  assertMaxRelativeError(actual, expected, TOLERANCE, "batch of 3");
});

Deno.test("MaxPoolGrad on wasm matches cpu, also for windows whose maximum is <= 0 or tied", async () => {
  // Windows: max 6; max 8; a tie of 1s (cpu picks the first); all <= 0 (wasm's built-in
  // kernel drops this gradient).
  const x = [-1, -2, -3, -4, 5, 6, 7, 8, 1, 1, 0, 0, -5, -6, -7, -8];
  const [cpu, wasm] = await onBothBackends(() =>
    tf.grad((input: tf.Tensor) => tf.sum(tf.maxPool(input as tf.Tensor4D, 2, 2, "valid")))(
      tf.tensor4d(x, [1, 4, 4, 1]),
    )
  );
  assertEquals(Array.from(cpu), [0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0]);
  assertEquals(Array.from(wasm), Array.from(cpu));
  // [shape, pool size, strides, padding]: the models' 2x2 pools, then overlapping and padded.
  const cases: [number[], number, number, "valid" | "same" | number][] = [
    [[16, 24, 24, 32], 2, 2, "valid"],
    [[3, 24, 24, 10], 2, 2, "valid"],
    [[3, 8, 8, 20], 2, 2, "valid"],
    [[2, 9, 7, 3], 2, 2, "valid"], // odd sizes: the last row and column feed no window
    [[2, 9, 7, 5], 3, 2, "same"],
    [[2, 6, 6, 3], 2, 1, "valid"],
    [[2, 7, 7, 4], 3, 2, 1],
  ];
  const next = createRandom(12);
  for (const [shape, poolSize, strides, pad] of cases) {
    const values = randomValues(shape, next);
    const [expected, actual] = await onBothBackends(() => {
      const input = tf.tensor4d(values, shape as Shape4D);
      const weights = tf.randomNormal(
        tf.maxPool(input, poolSize, strides, pad).shape,
        0,
        1,
        "float32",
        3,
      );
      const loss = (t: tf.Tensor) =>
        tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, poolSize, strides, pad), weights));
      return tf.grad(loss)(input);
    });
    assertMaxRelativeError(
      actual,
      expected,
      TOLERANCE,
      `${shape} pool ${poolSize}/${strides}/${pad}`,
    );
  }
});

Deno.test("Tile on wasm matches cpu exactly for float32, int32 and bool of any rank", async () => {
  const cases: [number[], number[], "float32" | "int32" | "bool"][] = [
    [[1, 1, 1, 5], [16, 26, 26, 1], "float32"], // batch norm's gradient in Small Net
    [[2, 3], [3, 2], "float32"],
    [[3, 1, 2], [1, 4, 1], "int32"],
    [[4], [3], "bool"],
    [[2, 1, 3, 1, 2], [2, 3, 1, 2, 1], "float32"],
    [[], [], "float32"],
    [[0, 2], [3, 1], "float32"],
  ];
  const next = createRandom(13);
  for (const [shape, reps, dtype] of cases) {
    const values = Array.from(
      { length: tf.util.sizeFromShape(shape) },
      () => Math.floor(next() * 9) - 4,
    );
    const [expected, actual] = await onBothBackends(() =>
      tf.tile(tf.tensor(values, shape, dtype), reps)
    );
    // Tolerance 0: exact. (assertEquals on big typed arrays hangs building its diff.)
    assertMaxRelativeError(actual, expected, 0, `tile ${shape} by ${reps} (${dtype})`);
  }
});

Deno.test("Multiply and RealDiv on wasm match cpu exactly for per-channel vectors", async () => {
  // [full shape, vector shape]: Small Net's 5 channels (batch norm), odd row counts that keep
  // the built-in kernel, and channel counts that are already a multiple of 4.
  const cases = [
    [[16, 26, 26, 5], [5]],
    [[16, 26, 26, 5], [1, 1, 1, 5]],
    [[16, 24, 24, 10], [10]],
    [[3, 5], [5]],
    [[5, 6], [1, 6]],
    [[4, 2], [2]],
    [[7, 3], [3]],
    [[16, 8], [8]],
  ];
  const next = createRandom(14);
  for (const [fullShape, vectorShape] of cases) {
    const full = randomValues(fullShape, next);
    const vector = randomValues(vectorShape, next).map((v) => v + 3); // keep divisors off 0
    for (const op of ["mul", "div"] as const) {
      for (const vectorFirst of [false, true]) {
        const [expected, actual] = await onBothBackends(() => {
          const [a, b] = [tf.tensor(full, fullShape), tf.tensor(vector, vectorShape)];
          return vectorFirst ? tf[op](b, a) : tf[op](a, b);
        });
        const label = `${op} ${fullShape} ${vectorShape}${vectorFirst ? ", vector first" : ""}`;
        assertMaxRelativeError(actual, expected, 0, label);
      }
    }
  }
});

Deno.test("Mean's gradient on wasm matches cpu exactly", async () => {
  // [shape, axes, keepDims]: Small Net's global average pool, batch norm's moments, others.
  const cases: [number[], number | number[] | undefined, boolean][] = [
    [[16, 24, 24, 8], [1, 2], false],
    [[16, 26, 26, 5], [0, 1, 2], true],
    [[3, 4], -1, false],
    [[2, 3, 4], undefined, false],
    [[5], 0, true],
  ];
  const next = createRandom(16);
  for (const [shape, axes, keepDims] of cases) {
    const values = randomValues(shape, next);
    const [expected, actual] = await onBothBackends(() => {
      const x = tf.tensor(values, shape);
      const weights = tf.randomNormal(tf.mean(x, axes, keepDims).shape, 0, 1, "float32", 5);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, axes, keepDims), weights)))(x);
    });
    assertMaxRelativeError(actual, expected, 0, `mean over ${axes} of ${shape}`);
  }
});

Deno.test("Identity and a same-dtype Cast on wasm share the input's buffer", async () => {
  await initBackend("wasm");
  const backend = tf.engine().backend;
  const x = tf.tensor([1, 2, 3]);
  const buffersBefore = backend.numDataIds();
  const copies = [tf.clone(x), tf.cast(x, "float32")];
  assertEquals(backend.numDataIds(), buffersBefore, "no new buffer");
  const ints = tf.cast(x, "int32"); // another dtype still converts
  assertEquals(ints.dtype, "int32");
  x.dispose(); // the copies keep the shared buffer alive
  for (const copy of copies) assertEquals(Array.from(copy.dataSync()), [1, 2, 3]);
  tf.dispose([...copies, ints]);
  assertEquals(backend.numDataIds(), buffersBefore - 1, "the buffer is freed with its last user");
});

Deno.test("Sum over leading or middle axes on wasm matches cpu, and wasm's own sums exactly", async () => {
  // [shape, axes, keepDims]: keras-cnn's conv2 bias gradient, a middle block, a dense bias
  // gradient large enough for the JS path, and a small sum that keeps the built-in kernel.
  const cases: [number[], number[], boolean][] = [
    [[16, 24, 24, 64], [0, 1, 2], false],
    [[4, 64, 32, 40], [1, 2], true],
    [[512, 600], [0], false],
    [[16, 26, 26, 5], [0, 1, 2], false],
  ];
  const next = createRandom(17);
  const builtin = builtinWasmKernel("Sum")!;
  for (const [shape, axis, keepDims] of cases) {
    const values = randomValues(shape, next);
    const [expected, actual] = await onBothBackends(() =>
      tf.sum(tf.tensor(values, shape), axis, keepDims)
    );
    const label = `sum over ${axis} of ${shape}`;
    assertMaxRelativeError(actual, expected, 1e-5, label); // cpu sums in double precision
    const x = tf.tensor(values, shape);
    const info = builtin.kernelFunc({
      inputs: { x },
      attrs: { axis, keepDims },
      backend: tf.engine().backend,
    }) as tf.TensorInfo;
    const wasmOwn = tf.engine().makeTensorFromTensorInfo(info);
    assertEquals(wasmOwn.shape, tf.sum(x, axis, keepDims).shape);
    assertMaxRelativeError(actual, wasmOwn.dataSync(), 0, `${label}, wasm's built-in kernel`);
    tf.dispose([x, wasmOwn]);
  }
});

Deno.test("LeakyRelu and its gradient on wasm match cpu", async () => {
  const next = createRandom(18);
  // Small Net's activations, with exact zeros (negative zero too) among them.
  const values = randomValues([16, 26, 26, 5], next).map((v, i) => (i % 97 === 0 ? 0 : v));
  values[1] = -0;
  const dy = randomValues([16, 26, 26, 5], next);
  for (const alpha of [0.01, 0.3]) {
    const [cpu, wasm] = await onBothBackends(() => {
      const x = tf.tensor(values, [16, 26, 26, 5]);
      const [y, dx] = [
        tf.leakyRelu(x, alpha),
        tf.grad((t: tf.Tensor) => tf.leakyRelu(t, alpha))(x, tf.tensor(dy, x.shape)),
      ];
      return tf.concat([tf.reshape(y, [-1]), tf.reshape(dx, [-1])]);
    });
    // cpu multiplies by alpha in double precision, wasm by alpha rounded to float32.
    assertMaxRelativeError(wasm, cpu, 1e-7, `alpha ${alpha}`);
  }
  // The forward pass gives exactly what wasm's own kernel does.
  await initBackend("wasm");
  const x = tf.tensor(values, [16, 26, 26, 5]);
  const info = builtinWasmKernel("LeakyRelu")!.kernelFunc({
    inputs: { x },
    attrs: { alpha: 0.01 },
    backend: tf.engine().backend,
  }) as tf.TensorInfo;
  const wasmOwn = tf.engine().makeTensorFromTensorInfo(info);
  const ours = tf.leakyRelu(x, 0.01);
  assertMaxRelativeError(ours.dataSync(), wasmOwn.dataSync(), 0, "wasm's built-in LeakyRelu");
  assert(Object.is(ours.dataSync()[1], -0), "-0 stays -0");
  tf.dispose([x, wasmOwn, ours]);
});

Deno.test("withoutInputGradient() skips only the input gradient of convs by that filter", async () => {
  await initBackend("wasm");
  const next = createRandom(19);
  const x = tf.tensor4d(randomValues([2, 8, 8, 1], next), [2, 8, 8, 1]);
  const w1 = tf.variable(tf.tensor4d(randomValues([3, 3, 1, 4], next), [3, 3, 1, 4]));
  const w2 = tf.variable(tf.tensor4d(randomValues([3, 3, 4, 2], next), [3, 3, 4, 2]));
  const bias = tf.zeros([4]);
  // A fused conv with a bias (tf.js computes all its gradients, as in the models' first layers).
  const loss = (input: tf.Tensor) => {
    const hidden = tf.fused.conv2d({
      x: input as tf.Tensor4D,
      filter: w1,
      strides: 1,
      pad: "valid",
      bias,
    });
    return tf.sum(tf.conv2d(hidden, w2, 1, "valid")) as tf.Scalar;
  };
  const gradients = () => {
    const { grads } = tf.variableGrads(() => loss(x), [w1, w2]);
    const dx = tf.grad(loss)(x);
    return { dw1: grads[w1.name], dw2: grads[w2.name], dx };
  };
  const full = gradients();
  const skipped = withoutInputGradient(w1, gradients);
  assertEquals(Array.from(skipped.dw1.dataSync()), Array.from(full.dw1.dataSync()));
  assertEquals(Array.from(skipped.dw2.dataSync()), Array.from(full.dw2.dataSync()));
  assert(full.dx.dataSync().some((v) => v !== 0));
  assert(skipped.dx.dataSync().every((v) => v === 0), "x's gradient through w1 is skipped");
  // Outside the call, and for other filters, input gradients are computed as usual.
  const again = gradients();
  assertEquals(Array.from(again.dx.dataSync()), Array.from(full.dx.dataSync()));
  tf.dispose([x, w1, w2, bias, ...[full, skipped, again].flatMap(Object.values)]);
});

for (const name of MODEL_NAMES) {
  Deno.test(`Gradients of ${name}'s loss on wasm match cpu`, async () => {
    // Batch 2 (keras-cnn: 1, its cpu reference is slow); dropout layers, random per backend,
    // run in inference mode, so only Small Net (batch norm, no dropout) trains.
    const batch = name === "keras-cnn" ? 1 : 2;
    const next = createRandom(15);
    const images = randomValues([batch, 28, 28, 1], next).map((v) => (v + 1) / 2);
    const labels = Array.from({ length: batch }, (_, i) => (i * 7) % 10);
    let weights: Values[] | undefined;
    const results = await onBothBackends(() => {
      const model = buildModel(name, { seed: 3 });
      // The wasm run starts from the cpu run's weights, so initialisers cannot differ.
      if (weights) {
        model.setWeights(model.getWeights().map((w, i) => tf.tensor(weights![i], w.shape)));
      }
      weights ??= model.getWeights().map((w) => w.dataSync() as Values);
      const training = model.layers.every((layer) => !layer.getClassName().includes("Dropout"));
      const xs = tf.tensor4d(images, [batch, 28, 28, 1]);
      const ys = tf.oneHot(tf.tensor1d(labels, "int32"), 10);
      const { grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training }) as tf.Tensor),
        model.trainableWeights.map((w) => w.read() as tf.Variable),
      );
      const flat = tf.concat(Object.values(grads).map((g) => tf.reshape(g, [-1])));
      model.dispose();
      return flat;
    });
    assertMaxRelativeError(results[1], results[0], TOLERANCE, `${name} gradients`);
  });
}

Deno.test("The random conv shapes cover every batch, size and channel count the models use", () => {
  const cases = [...randomCases.values()].flat();
  assertEquals(new Set(cases.map((c) => c.batch)), new Set(BATCHES));
  assertEquals(new Set(cases.map((c) => c.height)), new Set(SIZES));
  assertEquals(new Set(cases.map((c) => c.inChannels)), new Set(IN_CHANNELS));
  assertEquals(new Set(cases.map((c) => c.outChannels)), new Set(OUT_CHANNELS));
});

Deno.test("The wasm kernels leave no tensors or wasm buffers behind", async () => {
  await initBackend("wasm");
  const convCase = makeCase(3, 12, 12, 5, 8, 3, 2, "same");
  const inputs = randomInputs(convCase, createRandom(7));
  // One pass through every replaced kernel: conv gradients, transposed matmuls (dense), max
  // pool gradient, Tile and per-channel Multiply/RealDiv (batch norm's gradient), a matmul
  // that transposes its large right operand, a large Sum, LeakyRelu and clones.
  const everyKernel = () => {
    gradientsOnActiveBackend(convCase, inputs);
    tf.tidy(() => {
      const big = tf.ones([600, 512]);
      const x = tf.leakyRelu(tf.matMul(tf.ones([16, 600]), big), 0.1);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.leakyRelu(tf.clone(t), 0.1)))(tf.sum(x, 0, true))
        .add(tf.sum(big, 0)).dataSync();
    });
    tf.tidy(() => {
      const x = tf.tensor4d(inputs.dx, shapes(convCase).xShape);
      const w = tf.ones([5 * 6 * 6, 4]);
      const loss = (t: tf.Tensor) => {
        const normalized = tf.div(
          tf.mul(t, tf.ones([5])),
          tf.tile(tf.ones([1, 1, 1, 5]), [3, 1, 1, 1]),
        );
        const pooled = tf.maxPool(normalized as tf.Tensor4D, 2, 2, "valid");
        return tf.sum(tf.matMul(tf.reshape(pooled, [3, -1]), w));
      };
      return tf.grad(loss)(x).dataSync();
    });
  };
  for (const path of ["conv", "builtin", "auto"] as const) {
    setInputGradientPath(path);
    try {
      everyKernel(); // warm up
      const tensorsBefore = tf.memory().numTensors;
      const buffersBefore = tf.engine().backend.numDataIds();
      everyKernel();
      assertEquals(tf.memory().numTensors, tensorsBefore, `tensors on the ${path} path`);
      assertEquals(tf.engine().backend.numDataIds(), buffersBefore, `buffers on the ${path} path`);
    } finally {
      setInputGradientPath("auto");
    }
  }
});

Deno.test("registerWasmKernels() registers once and keeps each built-in kernel it replaces", async () => {
  await initBackend("wasm");
  const before = WASM_KERNEL_NAMES.map((name) => tf.getKernel(name, "wasm")?.kernelFunc);
  // tf.js warns about a kernel or gradient registered twice, but not in PROD mode, which
  // initBackend() turns on: turn it off while the second call runs.
  const warnings: unknown[][] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args);
  tf.env().set("PROD", false);
  try {
    registerWasmKernels(); // a second call must not warn or replace anything
  } finally {
    tf.env().set("PROD", true);
    console.warn = warn;
  }
  assertEquals(warnings, []);
  assertEquals(WASM_KERNEL_NAMES.map((name) => tf.getKernel(name, "wasm")?.kernelFunc), before);
  for (const name of WASM_KERNEL_NAMES) {
    const active = tf.getKernel(name, "wasm");
    assert(active !== undefined, `${name} is not registered`);
    const builtin = builtinWasmKernel(name);
    if (name === "Conv2DBackpropFilter") {
      assertEquals(builtin, undefined); // wasm has none (tensorflow/tfjs#8474)
    } else {
      assert(builtin !== undefined && builtin.kernelFunc !== active.kernelFunc, name);
    }
  }
});

// Compares wasm with cpu; the input gradient runs as a forward conv unless `path` says otherwise.
async function checkAgainstCpu(
  convCase: ConvCase,
  which: keyof ConvGradients,
  path: InputGradientPath = "conv",
): Promise<void> {
  const expected = (await gradients("cpu", convCase))[which];
  const actual = (await gradients("wasm", convCase, path))[which];
  assertMaxRelativeError(actual, expected, TOLERANCE, `${which} for ${describe(convCase)}`);
}

// Both gradients of a random weighted sum of conv2d's output, computed once per backend/path.
async function gradients(
  backend: "cpu" | "wasm",
  convCase: ConvCase,
  path: InputGradientPath = "auto",
): Promise<ConvGradients> {
  const key = backend === "cpu" ? backend : `${backend} ${path}`;
  const byKey = cache.get(convCase) ?? new Map<string, ConvGradients>();
  cache.set(convCase, byKey);
  const cached = byKey.get(key);
  if (cached !== undefined) return cached;
  await initBackend(backend);
  const seed = [...describe(convCase)].reduce((hash, c) => (hash * 31 + c.charCodeAt(0)) >>> 0, 1);
  setInputGradientPath(path);
  try {
    const result = gradientsOnActiveBackend(convCase, randomInputs(convCase, createRandom(seed)));
    byKey.set(key, result);
    return result;
  } finally {
    setInputGradientPath("auto");
  }
}

function gradientsOnActiveBackend(
  convCase: ConvCase,
  inputs: ConvGradients & { dy: Float32Array },
) {
  const { xShape, filterShape, outShape } = shapes(convCase);
  return tf.tidy(() => {
    const x = tf.tensor4d(inputs.dx, xShape);
    const w = tf.tensor4d(inputs.dw, filterShape);
    const weights = tf.tensor4d(inputs.dy, outShape);
    const loss = (x: tf.Tensor, w: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, convCase.strides, convCase.pad),
          weights,
        ),
      );
    const [dx, dw] = tf.grads(loss)([x, w]);
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

// x, the filter and the loss weights (dy) as plain arrays, identical on both backends.
function randomInputs(convCase: ConvCase, next: () => number) {
  const { xShape, filterShape, outShape } = shapes(convCase);
  const fill = (shape: number[]) =>
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * next() - 1);
  return { dx: fill(xShape), dw: fill(filterShape), dy: fill(outShape) };
}

function shapes(convCase: ConvCase) {
  const { batch, height, width, inChannels, outChannels, kernel, strides, pad } = convCase;
  const xShape: [number, number, number, number] = [batch, height, width, inChannels];
  const filterShape: [number, number, number, number] = [kernel, kernel, inChannels, outChannels];
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad);
  return {
    xShape,
    filterShape,
    outShape: info.outShape,
    macs: tf.util.sizeFromShape(info.outShape) * kernel * kernel * inChannels,
  };
}

function drawCases(config: { kernel: number; stride: number; pad: "valid" | "same" }): ConvCase[] {
  const pick = <T>(values: T[]) => values[Math.floor(random() * values.length)];
  const cases: ConvCase[] = [];
  while (cases.length < SHAPES_PER_CONFIG) {
    const size = pick(SIZES);
    const convCase = makeCase(
      pick(BATCHES),
      size,
      size,
      pick(IN_CHANNELS),
      pick(OUT_CHANNELS),
      config.kernel,
      config.stride,
      config.pad,
    );
    if (size >= config.kernel && shapes(convCase).macs <= MAX_MACS) cases.push(convCase);
  }
  return cases;
}

// Runs `compute` on cpu, then on wasm, and returns both results as plain arrays.
async function onBothBackends(compute: () => tf.Tensor): Promise<[Values, Values]> {
  const results: Values[] = [];
  for (const backend of ["cpu", "wasm"] as const) {
    await initBackend(backend);
    const tensorsBefore = tf.memory().numTensors;
    results.push(tf.tidy(() => compute().dataSync() as Values));
    assertEquals(tf.memory().numTensors, tensorsBefore, `tensors left on ${backend}`);
  }
  return [results[0], results[1]];
}

function randomValues(shape: number[], next: () => number): Float32Array {
  return Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => 2 * next() - 1);
}

function makeCase(
  batch: number,
  height: number,
  width: number,
  inChannels: number,
  outChannels: number,
  kernel: number,
  stride: number | [number, number],
  pad: Pad,
): ConvCase {
  const strides: [number, number] = typeof stride === "number" ? [stride, stride] : stride;
  return { batch, height, width, inChannels, outChannels, kernel, strides, pad };
}

function describe(c: ConvCase): string {
  return `x [${c.batch},${c.height},${c.width},${c.inChannels}], ${c.kernel}x${c.kernel} to ${c.outChannels}, ` +
    `strides ${c.strides}, pad ${JSON.stringify(c.pad)}`;
}
