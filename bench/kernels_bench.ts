/**
 * Times the wasm kernels from lib/wasm_kernels.ts against the built-in ones they replace, on
 * the models' shapes at batch 16: `deno bench --allow-read --allow-env bench/kernels_bench.ts`.
 * Conv gradients have the forward conv (same multiply-adds) as yardstick; wasm has no
 * filter gradient of its own. Prints ms and GMAC/s per case at the end (nominal MACs: those
 * of the forward op; mean over all runs, warm-up included). The "native vs wasm" groups time
 * the BLAS-backed kernels (lib/backend/native_kernels.ts) against the wasm ones they replace,
 * in the same process (needs --allow-ffi; SIZEWISE_BLAS_THREADS=1 for one thread).
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { builtinWasmKernel } from "../lib/backend/wasm_kernels.ts";
import {
  computePath,
  nativeKernelsActive,
  useNativeKernels,
} from "../lib/backend/native_kernels.ts";
import { createRandom } from "../lib/data/random.ts";

type Shape4D = [number, number, number, number];

interface ConvShape {
  name: string;
  x: Shape4D;
  filter: Shape4D;
}

const CONV_SHAPES: ConvShape[] = [
  // keras-cnn's second conv: 32 -> 64 channels, 3x3, valid.
  { name: "keras-cnn conv2", x: [16, 26, 26, 32], filter: [3, 3, 32, 64] },
  // pytorch/examples mnist conv2: 10 -> 20 channels, 5x5, valid.
  { name: "pytorch conv2", x: [16, 12, 12, 10], filter: [5, 5, 10, 20] },
];

await initBackend("wasm");
// The sections below time the wasm kernels; the native ones are timed at the end.
const nativeAvailable = nativeKernelsActive();
useNativeKernels(false);
const timings = new Map<string, { macs: number; ms: number; runs: number }>();
const groups = new Set<string>();

for (const shape of CONV_SHAPES) {
  const [kh, kw, inChannels, outChannels] = shape.filter;
  const dyShape: Shape4D = [shape.x[0], shape.x[1] - kh + 1, shape.x[2] - kw + 1, outChannels];
  const macs = tf.util.sizeFromShape(dyShape) * kh * kw * inChannels;
  const x = randomTensor(shape.x, 1) as tf.Tensor4D;
  const filter = randomTensor(shape.filter, 2) as tf.Tensor4D;
  const dy = randomTensor(dyShape, 3) as tf.Tensor4D;
  const common = { strides: 1, pad: "valid", dataFormat: "NHWC" } as const;
  const inputAttrs = { ...common, inputShape: shape.x };
  const filterAttrs = { ...common, filterShape: shape.filter };
  const group = `${shape.name} (${(macs / 1e6).toFixed(1)} MMAC)`;
  bench(group, "forward conv2d (yardstick)", macs, () => tf.conv2d(x, filter, 1, "valid"));
  compare(group, "Conv2DBackpropInput", "Conv2DBackpropInput", macs, { dy, filter }, inputAttrs);
  bench(group, "Conv2DBackpropFilter, ours (wasm has none)", macs, () => {
    return tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, filterAttrs);
  });
}

{
  // keras-cnn's dense layer, 9216 -> 128: its two gradients transpose one operand each.
  const [m, k, n] = [16, 9216, 128];
  const x = randomTensor([m, k], 4);
  const w = randomTensor([k, n], 5);
  const dy = randomTensor([m, n], 6);
  const group = `keras-cnn dense ${k}x${n} (${(m * k * n / 1e6).toFixed(1)} MMAC)`;
  bench(group, "forward matMul (yardstick)", m * k * n, () => tf.matMul(x, w));
  const dxAttrs = { transposeA: false, transposeB: true };
  compare(group, "dx = dy W^T", "BatchMatMul", m * k * n, { a: dy, b: w }, dxAttrs);
  const dwAttrs = { transposeA: true, transposeB: false };
  compare(group, "dW = x^T dy", "BatchMatMul", m * k * n, { a: x, b: dy }, dwAttrs);
  // The forward product with weights new on every call, as after each optimizer step:
  // XNNPACK repacks them (the yardstick above reuses its packed copy).
  const builtin = builtinWasmKernel("BatchMatMul")!;
  const attrs = { transposeA: false, transposeB: false } as unknown as tf.NamedAttrMap;
  bench(group, "forward x W, new weights, built-in wasm", m * k * n, () => {
    const fresh = tf.add(w, 0);
    const out = builtin.kernelFunc({ inputs: { a: x, b: fresh }, attrs, backend: tf.backend() });
    tf.backend().disposeData((out as tf.TensorInfo).dataId);
    return fresh;
  });
  bench(group, "forward x W, new weights, ours", m * k * n, () => {
    const fresh = tf.add(w, 0);
    return [fresh, tf.matMul(x, fresh)];
  });
}

{
  // keras-cnn's 2x2 max pool on [16, 24, 24, 64], and Small Net's batch norm gradient pieces.
  const input = randomTensor([16, 24, 24, 64], 7) as tf.Tensor4D;
  const output = tf.maxPool(input, 2, 2, "valid");
  const dy = randomTensor(output.shape as Shape4D, 8);
  const poolAttrs = { filterSize: 2, strides: 2, pad: "valid" };
  compare("keras-cnn pool", "MaxPoolGrad", "MaxPoolGrad", 0, { dy, input, output }, poolAttrs);
  const perChannel = randomTensor([1, 1, 1, 5], 9);
  const activations = randomTensor([16, 26, 26, 5], 10);
  const reps = { reps: [16, 26, 26, 1] };
  compare("small-net batch norm tile", "Tile [1,1,1,5]", "Tile", 0, { x: perChannel }, reps);
  const product = { a: activations, b: perChannel };
  compare("small-net batch norm product", "Multiply by [1,1,1,5]", "Multiply", 0, product, {});
  // keras-cnn's conv2 bias gradient; Small Net's activations.
  const sumAttrs = { axis: [0, 1, 2], keepDims: false };
  compare("keras-cnn bias gradient", "Sum over [0, 1, 2]", "Sum", 0, { x: input }, sumAttrs);
  compare("small-net activation", "LeakyRelu", "LeakyRelu", 0, { x: activations }, { alpha: 0.01 });
  compare("clone", "Identity [16, 24, 24, 64]", "Identity", 0, { x: input }, {});
}

if (nativeAvailable) {
  const convs: ConvShape[] = [
    ...CONV_SHAPES,
    { name: "pytorch conv1", x: [16, 28, 28, 1], filter: [5, 5, 1, 10] },
    { name: "small-net conv1", x: [16, 28, 28, 1], filter: [3, 3, 1, 5] },
    { name: "small-net conv2", x: [16, 26, 26, 5], filter: [3, 3, 5, 8] },
  ];
  for (const shape of convs) {
    const [kh, kw, inChannels, outChannels] = shape.filter;
    const dyShape: Shape4D = [shape.x[0], shape.x[1] - kh + 1, shape.x[2] - kw + 1, outChannels];
    const macs = tf.util.sizeFromShape(dyShape) * kh * kw * inChannels;
    const x = randomTensor(shape.x, 11) as tf.Tensor4D;
    const filter = randomTensor(shape.filter, 12) as tf.Tensor4D;
    const dy = randomTensor(dyShape, 13) as tf.Tensor4D;
    const common = { strides: 1, pad: "valid", dataFormat: "NHWC" } as const;
    const group = `native vs wasm: ${shape.name} (${(macs / 1e6).toFixed(1)} MMAC)`;
    nativeVersusWasm(group, "forward conv2d", macs, () => tf.conv2d(x, filter, 1, "valid"));
    nativeVersusWasm(
      group,
      "Conv2DBackpropInput",
      macs,
      () =>
        tf.engine().runKernel("Conv2DBackpropInput", { dy, filter }, {
          ...common,
          inputShape: shape.x,
        }),
    );
    nativeVersusWasm(
      group,
      "Conv2DBackpropFilter",
      macs,
      () =>
        tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          ...common,
          filterShape: shape.filter,
        }),
    );
  }
  for (
    const [m, k, n, name] of [[16, 9216, 128, "keras-cnn dense"], [
      16,
      784,
      512,
      "keras-mlp dense 1",
    ]] as const
  ) {
    const x = randomTensor([m, k], 14);
    const w = randomTensor([k, n], 15);
    const dy = randomTensor([m, n], 16);
    const group = `native vs wasm: ${name} ${k}x${n} (${(m * k * n / 1e6).toFixed(1)} MMAC)`;
    const macs = m * k * n;
    // New weights on every call, as after each optimizer step.
    nativeVersusWasm(group, "forward x W, new weights", macs, () => {
      const fresh = tf.add(w, 0);
      return [fresh, tf.matMul(x, fresh)];
    });
    nativeVersusWasm(group, "dx = dy W^T", macs, () => tf.matMul(dy, w, false, true));
    nativeVersusWasm(group, "dW = x^T dy", macs, () => tf.matMul(x, dy, true, false));
  }
  // Conv bias gradients (a Sum over batch, height and width) and global average pooling.
  for (
    const [shape, axes, name] of [
      [[16, 24, 24, 10], [0, 1, 2], "pytorch conv1 bias gradient"],
      [[16, 24, 24, 8], [1, 2], "small-net global average pool"],
    ] as const
  ) {
    const x = randomTensor([...shape], 17);
    const reduce = name.endsWith("pool") ? tf.mean : tf.sum;
    nativeVersusWasm(
      `native vs wasm: ${name}`,
      `[${shape}] over [${axes}]`,
      0,
      () => reduce(x, [...axes]),
    );
  }
  console.log(`native kernels: ${computePath()}`);
}

globalThis.addEventListener("unload", () => {
  console.log("\nMean time per call (all runs, warm-up included) and nominal GMAC/s:");
  for (const [name, { macs, ms, runs }] of timings) {
    const mean = ms / runs;
    const rate = macs > 0 ? `${(macs / mean / 1e6).toFixed(2).padStart(7)} GMAC/s` : "";
    console.log(`  ${name.padEnd(72)} ${mean.toFixed(3).padStart(8)} ms ${rate}`);
  }
});

// Benches the built-in wasm kernel that lib/wasm_kernels.ts replaced, then ours.
function compare(
  group: string,
  label: string,
  kernelName: string,
  macs: number,
  inputs: tf.NamedTensorMap,
  attrs: object,
): void {
  const builtin = builtinWasmKernel(kernelName);
  const namedAttrs = attrs as tf.NamedAttrMap;
  if (builtin !== undefined) {
    bench(group, `${label}, built-in wasm`, macs, () => {
      const out = builtin.kernelFunc({ inputs, attrs: namedAttrs, backend: tf.backend() });
      tf.backend().disposeData((out as tf.TensorInfo).dataId);
    });
  }
  bench(group, `${label}, ours`, macs, () => {
    return tf.engine().runKernel(kernelName, inputs, namedAttrs);
  });
}

// Benches `run` on the wasm kernels (the group's baseline), then on the native ones.
function nativeVersusWasm(
  group: string,
  label: string,
  macs: number,
  run: () => tf.TensorContainer,
): void {
  for (const native of [false, true]) {
    bench(group, `${label}, ${native ? "native" : "wasm"}`, macs, () => {
      useNativeKernels(native);
      try {
        return run();
      } finally {
        useNativeKernels(false);
      }
    });
  }
}

function bench(group: string, label: string, macs: number, run: () => tf.TensorContainer): void {
  const name = `${group}: ${label}`;
  const baseline = !groups.has(group); // the first case of each group: yardstick or built-in
  groups.add(group);
  Deno.bench({ name, group, baseline }, () => {
    const start = performance.now();
    tf.dispose(run());
    const entry = timings.get(name) ?? { macs, ms: 0, runs: 0 };
    entry.ms += performance.now() - start;
    entry.runs++;
    timings.set(name, entry);
  });
}

function randomTensor(shape: number[], seed: number): tf.Tensor {
  const next = createRandom(seed);
  const values = Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => 2 * next() - 1);
  return tf.tensor(values, shape);
}
