/**
 * A lean training step for networks of dense and dropout layers (the Keras MLP) on the native
 * path: the forward pass, the loss and every weight's gradient computed in one go over the wasm
 * heap, with the BLAS for the products and the SIMD loops for ReLU and dropout, instead of ~60
 * tf.js ops under the gradient tape. On one thread the tape's bookkeeping took ~0.7 ms of the
 * MLP's ~2.1 ms step, a third. The maths is the tape path's (train.ts `batchGradients`): the
 * same products in the same library, tf.js' dropout masks bit for bit (dropout.ts), the same
 * loss (loss.ts); only the bias gradients' sums round differently (here in double precision).
 * Any other layer, setting or path returns undefined, and the caller uses the tape.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { addressOf, type Blas } from "./blas.ts";
import { fillDropoutMask } from "./dropout.ts";
import { logitGradient, softmaxCrossEntropy } from "./loss.ts";
import { activeBlas } from "./native_kernels.ts";
import { fillBias, wasmHeap } from "./native_matmul.ts";
import { heapOffset, type SimdLoops, simdLoops, withHeapBlock } from "./simd.ts";

// The fields of tf.js' Dense and Dropout layers read here (private in their typings).
interface DenseFields {
  units: number;
  useBias: boolean;
  activation: { getClassName(): string };
  kernel: tf.LayerVariable;
  bias?: tf.LayerVariable;
  kernelRegularizer?: unknown;
  biasRegularizer?: unknown;
  activityRegularizer?: unknown;
}
interface DropoutFields {
  rate: number;
  noiseShape?: number[] | null;
  seed?: number;
}

type Stage =
  | {
    kind: "dense";
    inputs: number;
    units: number;
    relu: boolean;
    kernel: tf.LayerVariable;
    bias?: tf.LayerVariable;
  }
  | { kind: "dropout"; size: number; layer: DropoutFields };

let enabled = true;
let steps = 0;

/** Turns the lean step on or off (on by default; off: the tape path runs); tests compare both. */
export function useLeanSteps(on: boolean): void {
  enabled = on;
}

/** How many lean steps have run so far: tests check which path trained. */
export function leanStepCount(): number {
  return steps;
}

/**
 * The mean loss of `size` images (flat, 784 floats each) and the gradients of the model's
 * trainable weights in their order, as `batchGradients` returns them (the loss read out), for
 * a Sequential of an optional Flatten, then Dense layers (ReLU or linear, no regularizer) and
 * seeded Dropout layers, ending in a linear Dense of the logits; undefined otherwise, off the
 * native path or without the SIMD loops. The caller disposes the gradients.
 */
export function leanDenseGradients(
  model: tf.LayersModel,
  images: Float32Array,
  targets: Float32Array,
  size: number,
): { loss: number; gradients: tf.Tensor[] } | undefined {
  const blas = activeBlas();
  if (!enabled || blas === undefined || tf.getBackend() !== "wasm") return undefined;
  const backend = tf.backend() as BackendWasm;
  const simd = simdLoops(backend);
  if (simd === undefined) return undefined;
  // Planned each step (a few microseconds): a layer frozen since the last step counts.
  const stages = densePlan(model);
  if (!stages || stages.some((s) => s.kind === "dropout" && s.layer.seed === undefined)) {
    return undefined;
  }
  const result = run(stages, backend, blas, simd, images, targets, size);
  steps++;
  return result;
}

function densePlan(model: tf.LayersModel): Stage[] | null {
  if (!(model instanceof tf.Sequential)) return null;
  // Dense layers act on the last axis: the input must be flat, or flattened first.
  const flatten = model.layers[0]?.getClassName() === "Flatten";
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  if (!flatten && inputShape.length !== 1) return null;
  const layers = flatten ? model.layers.slice(1) : model.layers;
  let width = tf.util.sizeFromShape(inputShape);
  const stages: Stage[] = [];
  const weights: tf.LayerVariable[] = [];
  for (const layer of layers) {
    const kind = layer.getClassName();
    if (kind === "Dense") {
      const dense = layer as unknown as DenseFields;
      const activation = dense.activation.getClassName();
      if (
        !layer.trainable || (activation !== "relu" && activation !== "linear") ||
        dense.kernelRegularizer || dense.biasRegularizer || dense.activityRegularizer
      ) return null;
      const bias = dense.useBias ? dense.bias : undefined;
      if (dense.useBias && bias === undefined) return null; // not built yet
      stages.push({
        kind: "dense",
        inputs: width,
        units: dense.units,
        relu: activation === "relu",
        kernel: dense.kernel,
        bias,
      });
      weights.push(dense.kernel, ...(bias ? [bias] : []));
      width = dense.units;
    } else if (kind === "Dropout") {
      const dropout = layer as unknown as DropoutFields;
      if (dropout.noiseShape != null || !(dropout.rate > 0 && dropout.rate < 1)) return null;
      stages.push({ kind: "dropout", size: width, layer: dropout });
    } else {
      return null;
    }
  }
  const last = stages.at(-1);
  const inOrder = weights.length === model.trainableWeights.length &&
    weights.every((weight, i) => weight === model.trainableWeights[i]);
  return last?.kind === "dense" && !last.relu && inOrder ? stages : null;
}

function run(
  stages: Stage[],
  backend: BackendWasm,
  blas: Blas,
  simd: SimdLoops,
  images: Float32Array,
  targets: Float32Array,
  size: number,
): { loss: number; gradients: tf.Tensor[] } {
  // Scratch, in floats: the images, each stage's output (and a dropout's mask), two gradients.
  const inputWidth = stages[0].kind === "dense" ? stages[0].inputs : stages[0].size;
  const widths = stages.map((s) => (s.kind === "dense" ? s.units : s.size));
  const classes = widths.at(-1)!;
  if (
    !Number.isInteger(size) || size < 1 || images.length < size * inputWidth ||
    targets.length < size * classes
  ) {
    throw new Error(
      `leanDenseGradients(): a batch of ${size} needs ${size * inputWidth} image values and ` +
        `${size * classes} targets, got ${images.length} and ${targets.length}`,
    );
  }
  const floats = size *
    (inputWidth + widths.reduce((sum, w, i) => sum + w * (stages[i].kind === "dense" ? 1 : 2), 0) +
      2 * Math.max(inputWidth, ...widths));
  // The gradients' tensors, in the model's weight order (kernel, then bias, of each layer).
  const outputs = stages.flatMap((s) =>
    s.kind === "dense"
      ? [
        backend.makeOutput([s.inputs, s.units], "float32"),
        ...(s.bias ? [backend.makeOutput([s.units], "float32")] : []),
      ]
      : []
  );
  try {
    const loss = withHeapBlock(backend, floats * 4, (block) => {
      // Addresses after every allocation: an allocation may grow (and so move) the heap.
      const heap = wasmHeap(backend);
      const base = addressOf(heap.buffer);
      let free = block;
      const take = (count: number) => ((free += count * 4) - count * 4);
      const offset = (info: tf.TensorInfo) => heapOffset(backend, info);
      const weightAt = (variable: tf.LayerVariable) => offset(variable.read());

      // Forward: each stage's output and (dropout) mask, kept for the backward pass.
      const input = take(size * inputWidth);
      heap.set(images.subarray(0, size * inputWidth), input / 4);
      const kept: { input: number; output: number; mask?: number }[] = [];
      let x = input;
      for (const stage of stages) {
        if (stage.kind === "dense") {
          const { inputs, units, kernel, bias } = stage;
          const y = take(size * units);
          // The bias in every row first: the product then adds to it (beta = 1).
          const beta = fillBias(backend, bias?.read(), y / 4, size, units);
          blas.sgemm(
            false,
            false,
            size,
            units,
            inputs,
            1,
            base + x,
            inputs,
            base + weightAt(kernel),
            units,
            beta,
            base + y,
            units,
          );
          if (stage.relu) simd.relu(y, y, size * units);
          kept.push({ input: x, output: y });
          x = y;
        } else {
          const n = size * stage.size;
          const mask = take(n);
          const y = take(n);
          fillDropoutMask(simd, mask, n, stage.layer.rate, stage.layer.seed!);
          multiply(heap, x, mask, y, n);
          kept.push({ input: x, output: y, mask });
          x = y;
        }
      }

      // The loss and its gradient with respect to the logits (the last stage's output).
      const logits = heap.subarray(x / 4, x / 4 + size * classes);
      const batchTargets = targets.subarray(0, size * classes);
      const { loss, probabilities } = softmaxCrossEntropy(logits, batchTargets, size, classes);
      const maxWidth = Math.max(inputWidth, ...widths);
      let gradient = take(size * maxWidth);
      let spare = take(size * maxWidth);
      heap.set(logitGradient(probabilities, batchTargets, 1 / size), gradient / 4);

      // Backward, last stage first; the first layer's input (the images) needs no gradient.
      let output = outputs.length;
      const firstDense = stages.findIndex((s) => s.kind === "dense");
      for (let i = stages.length - 1; i >= firstDense; i--) {
        const stage = stages[i];
        const { input: stageInput, output: stageOutput, mask } = kept[i];
        if (stage.kind === "dropout") {
          multiply(heap, gradient, mask!, gradient, size * stage.size);
          continue;
        }
        const { inputs, units, kernel, bias, relu } = stage;
        if (relu) simd.reluGrad(gradient, stageOutput, gradient, size * units);
        if (bias) columnSums(heap, gradient, size, units, offset(outputs[--output]));
        const kernelGradient = offset(outputs[--output]);
        blas.sgemm(
          true,
          false,
          inputs,
          units,
          size,
          1,
          base + stageInput,
          inputs,
          base + gradient,
          units,
          0,
          base + kernelGradient,
          units,
        );
        if (i > firstDense) {
          blas.sgemm(
            false,
            true,
            size,
            inputs,
            units,
            1,
            base + gradient,
            units,
            base + weightAt(kernel),
            units,
            0,
            base + spare,
            inputs,
          );
          [gradient, spare] = [spare, gradient];
        }
      }
      return loss;
    });
    return { loss, gradients: outputs.map((info) => tf.engine().makeTensorFromTensorInfo(info)) };
  } catch (error) {
    outputs.forEach((info) => backend.disposeData(info.dataId));
    throw error;
  }
}

// out = a * b over n floats at byte offsets (out may be a): float32 products, as tf.js' Mul.
function multiply(heap: Float32Array, a: number, b: number, out: number, n: number): void {
  const [i, j, k] = [a / 4, b / 4, out / 4];
  for (let e = 0; e < n; e++) heap[k + e] = heap[i + e] * heap[j + e];
}

// out[c] = the sum over `rows` of column c of a rows x columns matrix (in double, then float).
function columnSums(heap: Float32Array, at: number, rows: number, columns: number, out: number) {
  const sums = new Float64Array(columns);
  for (let r = 0; r < rows; r++) {
    const row = at / 4 + r * columns;
    for (let c = 0; c < columns; c++) sums[c] += heap[row + c];
  }
  heap.set(sums, out / 4);
}
