import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { loadBlas } from "../lib/backend/blas.ts";
import {
  computePath,
  NATIVE_KERNEL_NAMES,
  nativeKernelCalls,
  nativeKernelsActive,
  registerNativeKernels,
  useNativeKernels,
} from "../lib/backend/native_kernels.ts";
import {
  type ConvKernel,
  nativeConvMethod,
  setNativeConvPolicy,
} from "../lib/backend/native_conv.ts";
import { directConvCalls, setDirectScratchFloats } from "../lib/backend/native_direct_conv.ts";
import { oneDnnConvs, setOneDnnPlanLimit } from "../lib/backend/onednn_conv.ts";
import { leanStepCount } from "../lib/backend/lean_dense.ts";
import { createRandom } from "../lib/data/random.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { buildModel, MODEL_NAMES } from "../lib/models/registry.ts";
import { makeConfig } from "../lib/training/config.ts";
import { trainModel } from "../lib/training/train.ts";
import { assert, assertEquals, assertMatch, assertMaxRelativeError } from "./assert.ts";

type Shape4D = [number, number, number, number];
type Pad = "valid" | "same" | number;
type Activation = "linear" | "relu" | "leakyrelu";

interface ConvCase {
  x: Shape4D;
  filter: Shape4D;
  stride: number;
  pad: Pad;
  activation: Activation;
}

const TOLERANCE = 1e-4;
// Without the library the native kernels cannot run: blas_test.ts covers that fallback.
const ignore = loadBlas().blas === undefined;
const random = createRandom(20261201);
// Every conv shape runs natively here, also those "auto" leaves to wasm (checked below).
setNativeConvPolicy("always");

// The models' and search families' conv layers (batch 16, an odd 7 and a partial 13), then
// random shapes over kernels 1, 3, 5, strides 1 and 2, valid and same padding.
const MODEL_CONVS: [string, ConvCase][] = [
  ["keras-cnn conv 1", conv([7, 28, 28, 1], [3, 3, 1, 32], 1, "valid", "relu")],
  ["keras-cnn conv 2", conv([1, 26, 26, 32], [3, 3, 32, 64], 1, "valid", "relu")],
  ["pytorch conv 1", conv([16, 28, 28, 1], [5, 5, 1, 10], 1, "valid", "linear")],
  ["pytorch conv 2", conv([13, 12, 12, 10], [5, 5, 10, 20], 1, "valid", "linear")],
  ["pytorch-gap conv 3", conv([16, 4, 4, 20], [3, 3, 20, 10], 1, "valid", "linear")],
  ["small-net conv 1", conv([16, 28, 28, 1], [3, 3, 1, 5], 1, "valid", "linear")],
  ["small-net conv 2", conv([7, 26, 26, 5], [3, 3, 5, 8], 1, "valid", "linear")],
  ["a search net's 5x5 first conv", conv([13, 28, 28, 1], [5, 5, 1, 8], 1, "valid", "linear")],
  ["a 1x1 conv", conv([7, 12, 12, 10], [1, 1, 10, 6], 1, "valid", "relu")],
  ["a 3x3 same conv", conv([5, 13, 13, 5], [3, 3, 5, 8], 1, "same", "relu")],
  ["a 5x5 same conv, stride 2", conv([3, 13, 11, 4], [5, 5, 4, 6], 2, "same", "leakyrelu")],
  ["a 1x1 conv, stride 2, numeric padding 1", conv([3, 9, 9, 3], [1, 1, 3, 4], 2, 1, "linear")],
];
const RANDOM_CONVS: ConvCase[] = Array.from({ length: 8 }, () => {
  const pick = <T>(values: T[]) => values[Math.floor(random() * values.length)];
  const kernel = pick([1, 3, 5]);
  const size = pick([5, 8, 12, 26, 28]);
  return conv(
    [pick([1, 2, 7]), size, size, pick([1, 5, 10, 20])],
    [kernel, kernel, 0, pick([5, 8, 10, 20])],
    pick([1, 2]),
    pick(["valid", "same"] as const),
    pick(["linear", "relu"] as const),
  );
});

for (const [label, convCase] of MODEL_CONVS) {
  Deno.test({
    name: `Conv2D, its bias, activation and both gradients on the native path match cpu: ${label}`,
    ignore,
    fn: () => checkConv(convCase),
  });
}

// Stride 1 and no padding: the convs the direct kernels (tap by tap, no im2col) take.
const DIRECT_CONVS = [...MODEL_CONVS.map(([, c]) => c), ...RANDOM_CONVS].filter((c) =>
  c.stride === 1 && c.pad === "valid" && c.filter[0] * c.filter[1] > 1
);

Deno.test({
  name: "Conv2D, its bias, activation and both gradients on the direct path match cpu",
  ignore,
  fn: async () => {
    assert(DIRECT_CONVS.length >= 8, `${DIRECT_CONVS.length} direct cases`);
    setNativeConvPolicy("direct");
    try {
      for (const convCase of DIRECT_CONVS) {
        const before = directConvCalls();
        await checkConv(convCase);
        // FusedConv2D twice, Conv2D, and both gradients.
        assertEquals(directConvCalls() - before, 5, `direct kernels for x [${convCase.x}]`);
      }
    } finally {
      setNativeConvPolicy("always");
    }
  },
});

Deno.test({
  name: "The direct kernels match cpu when the batch runs in chunks of images",
  ignore,
  fn: async () => {
    // Scratch for ~2 images: chunks of 2, and a last chunk of 1.
    setNativeConvPolicy("direct");
    setDirectScratchFloats(2 * 28 * 28 * 25);
    try {
      await checkConv(conv([5, 28, 28, 1], [5, 5, 1, 10], 1, "valid", "linear"));
      setDirectScratchFloats(2 * 12 * 12 * 20);
      await checkConv(conv([5, 12, 12, 10], [3, 3, 10, 20], 1, "valid", "relu"));
    } finally {
      setDirectScratchFloats();
      setNativeConvPolicy("always");
    }
  },
});

Deno.test({
  name: "Conv2D, its bias, activation and both gradients on oneDNN's primitives match cpu",
  ignore: ignore || oneDnnConvs() === undefined,
  fn: async () => {
    setNativeConvPolicy("auto");
    try {
      for (const convCase of [...MODEL_CONVS.map(([, c]) => c), ...RANDOM_CONVS]) {
        const before = oneDnnConvs()!.calls;
        await checkConv(convCase);
        // FusedConv2D twice, Conv2D, and both gradients.
        assertEquals(oneDnnConvs()!.calls - before, 5, `oneDNN for x [${convCase.x}]`);
      }
    } finally {
      setNativeConvPolicy("always");
    }
  },
});

Deno.test({
  name:
    "oneDNN's primitives are built once per geometry and thread count, and a batch of one works",
  ignore: ignore || oneDnnConvs() === undefined,
  fn: async () => {
    setNativeConvPolicy("auto");
    try {
      const info = tf.backend_util.computeConv2DInfo(
        [1, 26, 26, 32],
        [3, 3, 32, 64],
        1,
        1,
        "valid",
      );
      assertEquals(nativeConvMethod(info, "forward", 1), "onednn");
      assertEquals(nativeConvMethod(info, "filterGradient", 2), "onednn");
      await checkConv(conv([1, 26, 26, 32], [3, 3, 32, 64], 1, "valid", "relu"));
      // The same geometry again, on other values: the cached primitives give cpu's numbers.
      await checkConv(conv([1, 26, 26, 32], [3, 3, 32, 64], 1, "valid", "linear"));
      // Two plans at most: the others are dropped (their memory freed) and built again.
      setOneDnnPlanLimit(2);
      for (const c of [MODEL_CONVS[3][1], MODEL_CONVS[6][1], MODEL_CONVS[3][1]]) {
        await checkConv(c);
        assert(oneDnnConvs()!.plans() <= 2, `${oneDnnConvs()!.plans()} plans held`);
      }
    } finally {
      setOneDnnPlanLimit();
      setNativeConvPolicy("always");
    }
  },
});

Deno.test("nativeConvMethod() without oneDNN picks direct, im2col or wasm by the measured shapes", () => {
  const info = (x: Shape4D, filter: Shape4D) =>
    tf.backend_util.computeConv2DInfo(x, filter, 1, 1, "valid");
  const methods = (x: Shape4D, filter: Shape4D) =>
    (["forward", "inputGradient", "filterGradient"] as ConvKernel[]).map((kernel) =>
      nativeConvMethod(info(x, filter), kernel)
    );
  setNativeConvPolicy("sgemm");
  try {
    assertEquals(methods([16, 26, 26, 5], [3, 3, 5, 8]), [undefined, "direct", "direct"]);
    assertEquals(methods([16, 28, 28, 1], [3, 3, 1, 5]), ["direct", "direct", "direct"]);
    assertEquals(methods([16, 28, 28, 1], [5, 5, 1, 10]), ["direct", undefined, "direct"]);
    assertEquals(methods([16, 12, 12, 10], [5, 5, 10, 20]), ["direct", "im2col", "direct"]);
    assertEquals(methods([16, 26, 26, 32], [3, 3, 32, 64]), ["direct", "direct", "direct"]);
    assertEquals(methods([16, 12, 12, 10], [1, 1, 10, 6]), ["im2col", "im2col", "im2col"]);
    const strided = tf.backend_util.computeConv2DInfo([3, 13, 11, 4], [5, 5, 4, 64], 2, 1, "same");
    assertEquals(nativeConvMethod(strided, "forward"), "im2col");
  } finally {
    setNativeConvPolicy("always");
  }
});

Deno.test({
  name: "Conv2D and its gradients on the native path match cpu on random shapes",
  ignore,
  fn: async () => {
    for (const convCase of RANDOM_CONVS) await checkConv(convCase);
  },
});

Deno.test({
  name: "BatchMatMul on the native path matches cpu for every transpose and batch shape",
  ignore,
  fn: async () => {
    // [m, k, n]: keras-mlp's and keras-cnn's dense layers, pytorch's, small-net's, odd sizes.
    const sizes: [number, number, number][] = [
      [16, 784, 512],
      [7, 512, 10],
      [3, 9216, 128],
      [13, 320, 50],
      [16, 8, 10],
      [1, 50, 10],
    ];
    for (const [m, k, n] of sizes) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const a = randomValues(m * k);
          const b = randomValues(k * n);
          const [expected, actual] = await onBothBackends(() =>
            tf.matMul(
              tf.tensor2d(a, transposeA ? [k, m] : [m, k]),
              tf.tensor2d(b, transposeB ? [n, k] : [k, n]),
              transposeA,
              transposeB,
            )
          );
          const label = `[${m}, ${k}] x [${k}, ${n}], transposes ${transposeA} ${transposeB}`;
          assertMaxRelativeError(actual, expected, TOLERANCE, label);
        }
      }
    }
    // Batches of matrices: equal batches and one side a single matrix, both ways round.
    const batched: [number[], number[], boolean, boolean][] = [
      [[3, 5, 7], [3, 7, 4], false, false],
      [[2, 3, 7, 5], [2, 3, 4, 7], true, true],
      [[1, 5, 7], [4, 7, 6], false, false],
      [[4, 7, 5], [1, 6, 7], true, true],
    ];
    for (const [aShape, bShape, transposeA, transposeB] of batched) {
      const a = randomValues(tf.util.sizeFromShape(aShape));
      const b = randomValues(tf.util.sizeFromShape(bShape));
      const [expected, actual] = await onBothBackends(() =>
        tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), transposeA, transposeB)
      );
      assertMaxRelativeError(actual, expected, TOLERANCE, `${aShape} x ${bShape}`);
    }
  },
});

Deno.test({
  name:
    "Sum and Mean over a block of axes (bias gradients, global pooling) on the native path match cpu",
  ignore,
  fn: async () => {
    // [shape, axes, keepDims]: conv bias gradients, global average pooling, odd and partial.
    const cases: [number[], number[], boolean][] = [
      [[16, 24, 24, 10], [0, 1, 2], false],
      [[13, 26, 26, 5], [0, 1, 2], true],
      [[16, 24, 24, 8], [1, 2], false],
      [[7, 5, 5, 20], [1, 2], true],
      [[33, 50], [0], false],
      [[3, 40, 12], [1, 2], false],
    ];
    for (const [shape, axes, keepDims] of cases) {
      const values = randomValues(tf.util.sizeFromShape(shape));
      const [expected, actual] = await onBothBackends(() => {
        const x = tf.tensor(values, shape);
        return tf.concat(
          [tf.sum(x, axes, keepDims), tf.mean(x, axes, keepDims)].map((t) => tf.reshape(t, [-1])),
        );
      }, 2);
      assertMaxRelativeError(
        actual,
        expected,
        TOLERANCE,
        `sum and mean of [${shape}] over [${axes}]`,
      );
    }
  },
});

Deno.test({
  name: "A dense layer's fused product, bias and activation on the native path match cpu",
  ignore,
  fn: async () => {
    for (const activation of ["linear", "relu", "leakyrelu"] as const) {
      const [m, k, n] = [13, 320, 50];
      const [a, b, bias, dy] = [m * k, k * n, n, m * n].map(randomValues);
      const [expected, actual] = await onBothBackends(() => {
        const [x, w, c] = [tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n]), tf.tensor1d(bias)];
        const weights = tf.tensor2d(dy, [m, n]);
        const f = (x: tf.Tensor, w: tf.Tensor, c: tf.Tensor) => {
          const y = tf.fused.matMul({
            a: x as tf.Tensor2D,
            b: w as tf.Tensor2D,
            bias: c,
            activation,
            leakyreluAlpha: 0.1,
          });
          return tf.sum(tf.mul(y, weights));
        };
        const y = tf.fused.matMul({ a: x, b: w, bias: c, activation, leakyreluAlpha: 0.1 });
        const grads = tf.grads(f)([x, w, c]);
        return tf.concat([y, ...grads].map((t) => tf.reshape(t, [-1])));
      }, 4);
      assertMaxRelativeError(actual, expected, TOLERANCE, `fused matMul with ${activation}`);
    }
  },
});

for (const name of MODEL_NAMES) {
  Deno.test({
    name: `${name}'s predictions and loss gradients on the native path match cpu`,
    ignore,
    fn: async () => {
      // Predictions of 21 images in batches of 8 (a last partial batch of 5; keras-cnn: 9, as
      // cpu is slow), gradients of the loss of the first 3.
      const count = name === "keras-cnn" ? 9 : 21;
      const images = randomValues(count * 784).map((v) => (v + 1) / 2);
      const labels = Array.from({ length: count }, (_, i) => (i * 7) % 10);
      let weights: Float32Array[] | undefined;
      const [expected, actual] = await onBothBackends(() => {
        const model = buildModel(name, { seed: 3 });
        if (weights) {
          model.setWeights(model.getWeights().map((w, i) => tf.tensor(weights![i], w.shape)));
        }
        weights ??= model.getWeights().map((w) => w.dataSync() as Float32Array);
        const xs = tf.tensor4d(images, [count, 28, 28, 1]);
        const ys = tf.oneHot(tf.tensor1d(labels, "int32"), 10);
        const predictions = model.predict(xs, { batchSize: 8 }) as tf.Tensor;
        const [x3, y3] = [tf.slice(xs, 0, 3), tf.slice(ys, 0, 3)];
        const { grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(y3, model.apply(x3) as tf.Tensor),
          model.trainableWeights.map((w) => w.read() as tf.Variable),
        );
        const flat = tf.concat(
          [predictions, ...Object.values(grads)].map((g) => tf.reshape(g, [-1])),
        );
        model.dispose();
        return flat;
      }, 6);
      assertMaxRelativeError(actual, expected, TOLERANCE, `${name} predictions and gradients`);
    },
  });
}

for (const name of ["small-net", "pytorch", "keras-mlp"]) {
  Deno.test({
    name: `Training ${name} for 32 steps on the native path follows the wasm path's loss curve`,
    ignore,
    fn: async () => {
      await initBackend("wasm");
      const data = await loadMnist({ trainSize: 512, testSize: 64, seed: 0 });
      const config = makeConfig(name, {
        preset: "smoke",
        overrides: { trainSize: 512, testSize: 64, numEpochs: 1, batchSize: 16 },
      });
      const curve = async (native: boolean) => {
        useNativeKernels(native);
        const model = buildModel(name, { seed: 1 });
        const losses: number[] = [];
        try {
          await trainModel(model, data, { config, onBatch: ({ loss }) => void losses.push(loss) });
        } finally {
          model.dispose();
          useNativeKernels(true);
        }
        return losses;
      };
      const tensorsBefore = tf.memory().numTensors;
      const callsBefore = nativeKernelCalls();
      const leanBefore = leanStepCount();
      const wasm = await curve(false);
      assertEquals(nativeKernelCalls(), callsBefore, "native kernels ran while turned off");
      assertEquals(leanStepCount(), leanBefore, "lean steps ran while native kernels were off");
      const native = await curve(true);
      // The MLP's steps run lean (lean_dense.ts), the convnets' through the native kernels.
      if (name === "keras-mlp") assertEquals(leanStepCount(), leanBefore + 32, "lean steps");
      else assert(nativeKernelCalls() > callsBefore + 32, "the native run ran native kernels");
      assertEquals(native.length, 32);
      assertEquals(tf.memory().numTensors, tensorsBefore, "tensors left by training");
      // Same maths, other summation order: the curves part only by float rounding, which
      // 32 steps of SGD grow to ~1e-5 here.
      assertMaxRelativeError(native, wasm, 1e-3, `${name} loss curve`);
      assert(native.at(-1)! < native[0], `${name}'s loss falls: ${native[0]} -> ${native.at(-1)}`);
    },
  });
}

Deno.test({
  name:
    "Without oneDNN, small convs run their forward pass on wasm and large ones and 1x1 convs run natively",
  ignore,
  fn: async () => {
    await initBackend("wasm");
    const runs = (convCase: ConvCase) => {
      const before = nativeKernelCalls();
      tf.tidy(() => convOutputs(convCase, inputsFor(convCase)).dataSync());
      return nativeKernelCalls() - before;
    };
    setNativeConvPolicy("sgemm");
    try {
      // Both gradients on the direct kernels and two Sums (the bias gradient, the weighted
      // sum) natively, the forward conv on wasm; the others: 3 forward convs, 2 gradients and
      // the two Sums.
      assertEquals(runs(MODEL_CONVS[6][1]), 4, "small-net conv 2 (8 channels out)");
      assertEquals(runs(MODEL_CONVS[8][1]), 7, "a 1x1 conv");
      assertEquals(runs(MODEL_CONVS[1][1]), 7, "keras-cnn conv 2 (64 channels out)");
    } finally {
      setNativeConvPolicy("always");
    }
  },
});

Deno.test({
  name: "The native kernels leave no tensors or wasm buffers behind",
  ignore,
  fn: async () => {
    await initBackend("wasm");
    assert(nativeKernelsActive(), computePath());
    const everyKernel = () =>
      tf.tidy(() => {
        for (const [, convCase] of MODEL_CONVS.slice(-4)) {
          convOutputs(convCase, inputsFor(convCase));
        }
        const model = buildModel("keras-mlp");
        const out = model.predict(tf.ones([21, 28, 28, 1]), { batchSize: 8 }) as tf.Tensor;
        const sum = tf.sum(tf.matMul(tf.ones([2, 3, 4]), tf.ones([2, 4, 5]), false, false));
        model.dispose();
        return [out.sum(), sum];
      }).forEach((t) => t.dispose());
    everyKernel(); // warm up
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = tf.engine().backend.numDataIds();
    everyKernel();
    assertEquals(tf.memory().numTensors, tensorsBefore, "tensors");
    assertEquals(tf.engine().backend.numDataIds(), buffersBefore, "wasm buffers");
  },
});

Deno.test({
  name:
    "registerNativeKernels() replaces each kernel once, and useNativeKernels(false) turns them off",
  ignore,
  fn: async () => {
    await initBackend("wasm");
    const kernels = NATIVE_KERNEL_NAMES.map((name) => tf.getKernel(name, "wasm")?.kernelFunc);
    registerNativeKernels(); // a second call changes nothing
    assertEquals(
      NATIVE_KERNEL_NAMES.map((name) => tf.getKernel(name, "wasm")?.kernelFunc),
      kernels,
    );
    assertMatch(computePath(), /^native \(.*libopenblas.*\d thread/);
    useNativeKernels(false);
    try {
      assertEquals(nativeKernelsActive(), false);
      assertMatch(computePath(), /^wasm \(native kernels turned off\)/);
    } finally {
      useNativeKernels(true);
    }
  },
});

function conv(
  x: Shape4D,
  filter: Shape4D,
  stride: number,
  pad: Pad,
  activation: Activation,
): ConvCase {
  return { x, filter: [filter[0], filter[1], x[3], filter[3]], stride, pad, activation };
}

// The forward output with bias and activation, and the gradients of a weighted sum of it with
// respect to x, the filter and the bias, on cpu and on wasm.
async function checkConv(convCase: ConvCase): Promise<void> {
  const inputs = inputsFor(convCase);
  // FusedConv2D twice (the gradient reruns it), Conv2D, and both gradients.
  const [expected, actual] = await onBothBackends(() => convOutputs(convCase, inputs), 5);
  const label = `x [${convCase.x}], filter [${convCase.filter}], stride ${convCase.stride}, ` +
    `pad ${convCase.pad}, ${convCase.activation}`;
  assertMaxRelativeError(actual, expected, TOLERANCE, label);
}

function inputsFor(convCase: ConvCase): Float32Array[] {
  const outShape = tf.backend_util.computeConv2DInfo(
    convCase.x,
    convCase.filter,
    convCase.stride,
    1,
    convCase.pad,
  ).outShape;
  return [convCase.x, convCase.filter, [convCase.filter[3]], outShape].map((shape) =>
    randomValues(tf.util.sizeFromShape(shape))
  );
}

function convOutputs(convCase: ConvCase, [x, w, b, dy]: Float32Array[]): tf.Tensor {
  const xs = tf.tensor4d(x, convCase.x);
  const filter = tf.tensor4d(w, convCase.filter);
  const bias = tf.tensor1d(b);
  const apply = (x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor) =>
    tf.fused.conv2d({
      x: x as tf.Tensor4D,
      filter: filter as tf.Tensor4D,
      strides: convCase.stride,
      pad: convCase.pad,
      bias,
      activation: convCase.activation,
      leakyreluAlpha: 0.1,
    });
  const y = apply(xs, filter, bias);
  const weights = tf.tensor(dy, y.shape);
  const plain = tf.conv2d(xs, filter, convCase.stride, convCase.pad);
  const grads = tf.grads((x, f, c) => tf.sum(tf.mul(apply(x, f, c), weights)))([xs, filter, bias]);
  return tf.concat([y, plain, ...grads].map((t) => tf.reshape(t, [-1])));
}

// Runs `compute` on cpu, then on wasm, and returns both results as arrays; checks that wasm ran
// `nativeRuns` native kernels (a kernel that handed every call on would pass unseen).
async function onBothBackends(
  compute: () => tf.Tensor,
  nativeRuns = 1,
): Promise<[Float32Array, Float32Array]> {
  const results: Float32Array[] = [];
  let ran = 0;
  for (const backend of ["cpu", "wasm"] as const) {
    await initBackend(backend);
    const tensorsBefore = tf.memory().numTensors;
    const callsBefore = nativeKernelCalls();
    results.push(tf.tidy(() => compute().dataSync() as Float32Array));
    ran = nativeKernelCalls() - callsBefore;
    assertEquals(tf.memory().numTensors, tensorsBefore, `tensors left on ${backend}`);
  }
  assert(ran >= nativeRuns, `${ran} native kernel calls, expected at least ${nativeRuns}`);
  return [results[0], results[1]];
}

function randomValues(length: number): Float32Array {
  return Float32Array.from({ length }, () => 2 * random() - 1);
}
