import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { applyFusedBiasForTraining } from "../lib/backend/fused_bias.ts";
import { meanSoftmaxCrossEntropy } from "../lib/backend/loss.ts";
import { createRandom } from "../lib/data/random.ts";
import { batchGradients } from "../lib/training/train.ts";
import { assert, assertEquals } from "./assert.ts";

await initBackend("wasm");

// Every case the fused path takes (valid and same padding, stride 2, relu on convs and dense)
// and one it leaves alone (the logits' linear dense, which tf.js fuses itself).
function model(): tf.Sequential {
  const init = (seed: number) => ({
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: seed + 50 }),
  });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 4,
        kernelSize: 3,
        activation: "relu",
        ...init(1),
      }),
      tf.layers.conv2d({
        filters: 6,
        kernelSize: 3,
        strides: 2,
        padding: "same",
        activation: "relu",
        ...init(2),
      }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 12, activation: "relu", ...init(3) }),
      tf.layers.dense({ units: 10, ...init(4) }),
    ],
  });
}

function batch(size: number): { images: Float32Array; targets: Float32Array } {
  const next = createRandom(5);
  const images = Float32Array.from({ length: size * 784 }, () => next());
  const targets = new Float32Array(size * 10);
  for (let i = 0; i < size; i++) targets[i * 10 + ((i * 7) % 10)] = 1;
  return { images, targets };
}

Deno.test("a step with the bias fused into conv and dense kernels has tf.js' own loss and gradients", () => {
  const net = model();
  const size = 5; // odd, like a last partial batch
  const { images, targets } = batch(size);
  const variables = net.trainableWeights.map((w) => w.read() as tf.Variable);
  // tf.js' own path, through the layers' apply (which keeps a few tensors of its own).
  const theirs = tf.tidy(() => {
    const xs = tf.tensor4d(images, [size, 28, 28, 1]);
    const ys = tf.tensor2d(targets, [size, 10]);
    const { value, grads } = tf.variableGrads(
      () => meanSoftmaxCrossEntropy(ys, net.apply(xs, { training: true }) as tf.Tensor2D),
      variables,
    );
    return { loss: value, gradients: variables.map((v) => grads[v.name]) };
  });
  const before = tf.memory().numTensors;
  const ours = batchGradients(net, images, targets, size);
  const close = (a: tf.Tensor, b: tf.Tensor, what: string) => {
    const [x, y] = [Array.from(a.dataSync()), Array.from(b.dataSync())];
    assertEquals(x.length, y.length, what);
    const scale = Math.max(...y.map(Math.abs), 1e-6);
    const worst = x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0) / scale;
    assert(worst < 1e-5, `${what}: relative difference ${worst}`);
  };
  close(ours.loss, theirs.loss, "loss");
  ours.gradients.forEach((g, i) => close(g, theirs.gradients[i], variables[i].name));
  // A bias's gradient is real: the test would pass for nothing if every bias had none.
  const biasMoves = (g: tf.Tensor) => tf.tidy(() => g.abs().max().dataSync()[0] > 0);
  assert(ours.gradients.some((g, i) => variables[i].rank === 1 && biasMoves(g)));
  tf.dispose([ours.loss, ...ours.gradients]);
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([theirs.loss, ...theirs.gradients]);
  net.dispose();
});

Deno.test("applyFusedBiasForTraining() runs the fused kernel only where tf.js would not", () => {
  const net = model();
  const x = tf.ones([2, 28, 28, 1]);
  const kernels = (f: () => tf.Tensor | undefined) => {
    const profile = tf.profile(() => f() ?? tf.scalar(0));
    return profile.then((info) => info.kernelNames);
  };
  return (async () => {
    const conv = await kernels(() => applyFusedBiasForTraining(net.layers[0], x));
    assert(conv.includes("FusedConv2D") && !conv.includes("Add"), conv.join(", "));
    // A relu dense layer is fused, unless its input is the images (no gradient wanted).
    const features = tf.ones([2, 13 * 13 * 6]);
    const dense = await kernels(() => applyFusedBiasForTraining(net.layers[3], features));
    assert(dense.includes("_FusedMatMul") && !dense.includes("Add"), dense.join(", "));
    assertEquals(
      applyFusedBiasForTraining(net.layers[3], features, { inputNeedsGradient: false }),
      undefined,
    );
    tf.dispose(features);
    // The logits' dense layer is linear: left to tf.js.
    assertEquals(applyFusedBiasForTraining(net.layers[4], tf.ones([2, 12])), undefined);
    // Not a conv or a dense layer, or a dense layer on more than a batch of vectors.
    assertEquals(applyFusedBiasForTraining(net.layers[2], x), undefined);
    const flatDense = tf.layers.dense({ units: 3, activation: "relu" });
    flatDense.apply(tf.ones([1, 2, 4]));
    assertEquals(applyFusedBiasForTraining(flatDense, tf.ones([1, 2, 4])), undefined);
    const noBias = tf.layers.conv2d({
      filters: 2,
      kernelSize: 3,
      activation: "relu",
      useBias: false,
    });
    noBias.apply(x);
    assertEquals(applyFusedBiasForTraining(noBias, x), undefined);
    tf.dispose(x);
    net.dispose();
  })();
});
