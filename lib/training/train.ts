/**
 * The training loop: the article's schedule (SGD with Nesterov momentum, stepped learning
 * rate, cross-entropy) with seeded shuffles and dropout, per-batch and per-epoch callbacks,
 * a stop on a NaN loss, and checkpoints to resume from. A step runs as plain tf.js would
 * (model.apply, tf.losses.softmaxCrossEntropy, tf.train.momentum) up to float rounding, with
 * fewer kernels: a fused optimizer update, loss and batch norm, and no gradient for the images.
 */
import * as tf from "@tensorflow/tfjs";
import { applyBatchNormForTraining } from "../backend/batch_norm.ts";
import { applyDropoutForTraining } from "../backend/dropout.ts";
import { applyFusedBiasForTraining } from "../backend/fused_bias.ts";
import { learningRateAt, type TrainConfig } from "./config.ts";
import { meanSoftmaxCrossEntropy } from "../backend/loss.ts";
import { leanDenseGradients } from "../backend/lean_dense.ts";
import { FusedMomentumOptimizer } from "../backend/momentum.ts";
import { deriveSeed, shuffledIndices } from "../data/random.ts";
import { IMAGE_SIZE as PIXELS, type MnistSplit, NUM_CLASSES } from "../data/mnist.ts";
import { withoutInputGradient } from "../backend/wasm_kernels.ts";
import type { BackendName } from "../backend/backend.ts";
import { GradientPartner, partnerGradients } from "./data_parallel.ts";
import { predictInBatches } from "./predict.ts";

/** What one epoch produced. */
export interface EpochMetrics {
  /** 1-based. */
  epoch: number;
  learningRate: number;
  /** Mean loss over the epoch's batches, with dropout on (as Keras and PyTorch report it). */
  trainLoss: number;
  testLoss: number;
  testAccuracy: number;
  /** On the validation split, when the run holds one out (`config.validationSize`). */
  validationLoss?: number;
  validationAccuracy?: number;
  /** Wall time of the epoch's training steps, evaluation excluded. */
  trainSeconds: number;
  evalSeconds: number;
}

/** Reported after every batch. */
export interface BatchProgress {
  epoch: number;
  /** 1-based index of the batch within the epoch. */
  batch: number;
  numBatches: number;
  loss: number;
}

/** Everything needed to continue a run after its last completed epoch. */
export interface Checkpoint {
  history: EpochMetrics[];
  modelWeights: tf.NamedTensorMap;
  optimizerWeights: tf.NamedTensorMap;
}

/** Options of `trainModel`. */
export interface TrainOptions {
  config: TrainConfig;
  onBatch?: (progress: BatchProgress) => void | Promise<void>;
  /** Called after each epoch; `checkpoint()` snapshots the state (caller disposes it). */
  onEpoch?: (
    metrics: EpochMetrics,
    checkpoint: () => Checkpoint,
  ) => void | Promise<void>;
  /** Continue from this state instead of starting at epoch 1. */
  resumeFrom?: Checkpoint;
}

/**
 * Trains `model` in place on `data.train`, evaluating on `data.test` (and on
 * `data.validation`, when given) after every epoch.
 */
export async function trainModel(
  model: tf.LayersModel,
  data: { train: MnistSplit; test: MnistSplit; validation?: MnistSplit },
  options: TrainOptions,
): Promise<EpochMetrics[]> {
  const { config } = options;
  const optimizer = new FusedMomentumOptimizer(
    config.learningRate,
    config.momentum,
    config.nesterov,
  );
  const history: EpochMetrics[] = [];
  if (options.resumeFrom) {
    restoreCheckpoint(model, optimizer, options.resumeFrom);
    history.push(...options.resumeFrom.history);
  }
  const numDropout = dropoutLayers(model).length;
  let partner: GradientPartner | undefined;
  const numBatches = Math.ceil(data.train.count / config.batchSize);
  const batchImages = new Float32Array(config.batchSize * PIXELS);
  const batchTargets = new Float32Array(config.batchSize * NUM_CLASSES);

  try {
    if ((config.workers ?? 1) > 1) {
      partner = await GradientPartner.start(
        model,
        tf.getBackend() as BackendName,
        config.batchSize,
      );
    }
    for (let epoch = history.length + 1; epoch <= config.numEpochs; epoch++) {
      const learningRate = learningRateAt(config, epoch);
      optimizer.setLearningRate(learningRate);
      const order = shuffledIndices(data.train.count, deriveSeed(config.seed, SHUFFLE, epoch));
      const started = performance.now();
      let lastYield = started;
      let lossSum = 0;
      for (let batch = 0; batch < numBatches; batch++) {
        const from = batch * config.batchSize;
        const size = Math.min(config.batchSize, data.train.count - from);
        fillBatch(data.train, order.subarray(from, from + size), batchImages, batchTargets);
        const seeds = (from: number) =>
          Array.from(
            { length: numDropout },
            (_, i) => deriveSeed(config.seed, epoch, batch, from + i),
          );
        setDropoutSeeds(model, seeds(0));
        const loss = partner
          ? await dataParallelStep(model, optimizer, partner, {
            images: batchImages,
            targets: batchTargets,
            size,
            dropoutSeeds: seeds(numDropout),
          })
          : trainStep(model, optimizer, batchImages, batchTargets, size);
        if (!Number.isFinite(loss)) {
          throw new Error(
            `Training diverged: the loss became ${loss} at epoch ${epoch}, batch ${batch + 1} ` +
              `(learning rate ${learningRate}). Lower the learning rate or check the inputs; ` +
              `epochs completed before this one are kept in the checkpoint.`,
          );
        }
        lossSum += loss;
        await options.onBatch?.({ epoch, batch: batch + 1, numBatches, loss });
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      const trainSeconds = (performance.now() - started) / 1000;
      const evalStarted = performance.now();
      const test = evaluateModel(model, data.test, { batchSize: config.evalBatchSize });
      const validation = data.validation &&
        evaluateModel(model, data.validation, { batchSize: config.evalBatchSize });
      const metrics: EpochMetrics = {
        epoch,
        learningRate,
        trainLoss: lossSum / numBatches,
        testLoss: test.loss,
        testAccuracy: test.accuracy,
        ...(validation && {
          validationLoss: validation.loss,
          validationAccuracy: validation.accuracy,
        }),
        trainSeconds,
        evalSeconds: (performance.now() - evalStarted) / 1000,
      };
      history.push(metrics);
      await options.onEpoch?.(
        metrics,
        () => snapshotCheckpoint(model, optimizer, history),
      );
    }
  } finally {
    partner?.close();
    disposeOptimizer(optimizer);
  }
  return history;
}

/** Mean cross-entropy and accuracy of `model` on `examples`, without dropout. */
export function evaluateModel(
  model: tf.LayersModel,
  examples: MnistSplit,
  options: { batchSize?: number } = {},
): { loss: number; accuracy: number } {
  const batchSize = options.batchSize ?? 1000;
  let lossSum = 0;
  let correct = 0;
  predictInBatches(model, examples, batchSize, (logits, from, to) => {
    const labels = tf.tensor1d(examples.labels.subarray(from, to), "int32");
    const losses = tf.losses.softmaxCrossEntropy(
      tf.oneHot(labels, NUM_CLASSES),
      logits,
      undefined,
      undefined,
      tf.Reduction.NONE,
    );
    const hits = tf.equal(tf.argMax(logits, 1), labels);
    lossSum += tf.sum(losses).dataSync()[0];
    correct += tf.sum(tf.cast(hits, "int32")).dataSync()[0];
  });
  return { loss: lossSum / examples.count, accuracy: correct / examples.count };
}

/**
 * Disposes a momentum optimizer completely: tf.js 4.22's MomentumOptimizer.dispose() frees its
 * accumulators but not the learning-rate scalar its SGD parent keeps, which leaks otherwise.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  if (optimizer instanceof tf.MomentumOptimizer) tf.SGDOptimizer.prototype.dispose.call(optimizer);
}

const SHUFFLE = 1; // seed path of the per-epoch shuffle

// A batch runs synchronously, and awaiting a callback yields only to microtasks: without a
// real turn of the event loop now and then, a Ctrl-C (SIGINT) handler would wait for the end
// of the epoch. One turn (~0.1 ms) every 100 ms costs nothing measurable.
const YIELD_EVERY_MS = 100;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** One training step on `size` images (flat, as `fillBatch` writes them): gradients, update; returns the loss. */
export function trainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  images: Float32Array,
  targets: Float32Array,
  size: number,
): number {
  const lean = leanDenseGradients(model, images, targets, size);
  if (lean !== undefined) {
    try {
      applyGradients(model, optimizer, lean.gradients);
    } finally {
      tf.dispose(lean.gradients);
    }
    return lean.loss;
  }
  const { loss, gradients } = batchGradients(model, images, targets, size);
  applyGradients(model, optimizer, gradients);
  return readLoss(loss, gradients);
}

// The worker's share of a batch: less than half, because it also loads the weights and copies
// its gradient out. keras-cnn, batch 16: 7 of 16 took 46 ms a step, 8 of 16 49 ms, 6 of 16 50.
const WORKER_SHARE = 7 / 16;

// One batch split between this thread and the gradient worker (see lib/data_parallel.ts).
async function dataParallelStep(
  model: tf.LayersModel,
  optimizer: FusedMomentumOptimizer,
  partner: GradientPartner,
  batch: { images: Float32Array; targets: Float32Array; size: number; dropoutSeeds: number[] },
): Promise<number> {
  const { images, targets, size } = batch;
  const theirs = Math.floor(size * WORKER_SHARE);
  if (theirs === 0) return trainStep(model, optimizer, images, targets, size);
  const mine = size - theirs;
  partner.shareWeights(model);
  const theirLoss = partner.computeGradients(
    images.subarray(mine * PIXELS),
    targets.subarray(mine * NUM_CLASSES),
    theirs,
    batch.dropoutSeeds,
  );
  let mineResult: { loss: tf.Scalar; gradients: tf.Tensor[] };
  try {
    mineResult = batchGradients(model, images, targets, mine);
  } catch (error) {
    await theirLoss.catch(() => {}); // the worker's failure, if any, is not the news here
    throw error;
  }
  try {
    const myLoss = mineResult.loss.dataSync()[0];
    const workerLoss = await theirLoss;
    optimizer.applyMixedGradients(
      model.trainableWeights.map((weight) => (weight.read() as tf.Variable).name),
      mineResult.gradients,
      partnerGradients(partner, mineResult.gradients),
      [mine / size, theirs / size],
    );
    return (myLoss * mine + workerLoss * theirs) / size;
  } finally {
    tf.dispose([mineResult.loss, ...mineResult.gradients]);
  }
}

/**
 * The mean loss of `size` images (flat, as `fillBatch` writes them) and its gradient for each
 * of the model's trainable weights, in their order; the caller disposes both.
 */
export function batchGradients(
  model: tf.LayersModel,
  images: Float32Array,
  targets: Float32Array,
  size: number,
): { loss: tf.Scalar; gradients: tf.Tensor[] } {
  // Only this model's weights, in a fixed order that checkpoints rely on.
  const variables = model.trainableWeights.map((weight) => weight.read() as tf.Variable);
  const compute = () =>
    tf.tidy(() => {
      const xs = tf.tensor4d(images.subarray(0, size * PIXELS), [size, 28, 28, 1]);
      const ys = tf.tensor2d(targets.subarray(0, size * NUM_CLASSES), [size, NUM_CLASSES]);
      const { value, grads } = tf.variableGrads(
        () => meanSoftmaxCrossEntropy(ys, applyForTraining(model, xs)),
        variables,
      );
      return { loss: value, gradients: variables.map((variable) => grads[variable.name]) };
    });
  // The images need no gradient: skip a first conv's input gradient, which tf.js computes.
  const first = model.layers[0];
  return first.getClassName() === "Conv2D"
    ? withoutInputGradient(first.trainableWeights[0].read(), compute)
    : compute();
}

/** Gives each dropout layer of `model` its own seed for the next step, in layer order. */
export function setDropoutSeeds(model: tf.LayersModel, seeds: number[]): void {
  dropoutLayers(model).forEach((layer, i) => {
    // Keras' Dropout reuses one mask for a fixed seed; a fresh seed per step keeps masks
    // random yet repeatable.
    (layer as unknown as { seed: number }).seed = seeds[i];
  });
}

/** The dropout layers of `model`, in layer order: the ones `setDropoutSeeds` seeds. */
export function dropoutLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((layer) => layer.getClassName() === "Dropout");
}

function applyGradients(model: tf.LayersModel, optimizer: tf.Optimizer, gradients: tf.Tensor[]) {
  optimizer.applyGradients(
    model.trainableWeights.map((weight, i) => ({
      name: (weight.read() as tf.Variable).name,
      tensor: gradients[i],
    })),
  );
}

function readLoss(loss: tf.Scalar, gradients: tf.Tensor[]): number {
  const value = loss.dataSync()[0];
  tf.dispose([loss, ...gradients]);
  return value;
}

// A Sequential model's layers one after the other, which computes what model.apply does
// without its graph bookkeeping (~0.2 ms a step for Small Net), batch norm as one op,
// dropout as one product with its mask, and a conv's or dense layer's bias in its kernel.
function applyForTraining(model: tf.LayersModel, xs: tf.Tensor): tf.Tensor2D {
  if (!(model instanceof tf.Sequential)) return model.apply(xs, { training: true }) as tf.Tensor2D;
  let x = xs;
  let inputNeedsGradient = false; // until a layer with weights has run, x is the images
  for (const layer of model.layers) {
    x = applyBatchNormForTraining(layer, x) ?? applyDropoutForTraining(layer, x) ??
      applyFusedBiasForTraining(layer, x, { inputNeedsGradient }) ??
      layer.apply(x, { training: true }) as tf.Tensor;
    inputNeedsGradient ||= layer.trainableWeights.length > 0;
  }
  return x as tf.Tensor2D;
}

function fillBatch(
  examples: MnistSplit,
  indices: Int32Array,
  images: Float32Array,
  targets: Float32Array,
): void {
  targets.fill(0, 0, indices.length * NUM_CLASSES);
  indices.forEach((index, row) => {
    images.set(examples.images.subarray(index * PIXELS, (index + 1) * PIXELS), row * PIXELS);
    targets[row * NUM_CLASSES + examples.labels[index]] = 1;
  });
}

function snapshotCheckpoint(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  history: EpochMetrics[],
): Checkpoint {
  const modelWeights: tf.NamedTensorMap = {};
  for (const weight of model.weights) modelWeights[weight.originalName] = weight.read().clone();
  const optimizerWeights: tf.NamedTensorMap = {};
  const accumulations = momentumAccumulations(optimizer);
  model.trainableWeights.forEach((weight, i) => {
    if (accumulations[i]) optimizerWeights[weight.originalName] = accumulations[i].variable.clone();
  });
  return { history: history.map((metrics) => ({ ...metrics })), modelWeights, optimizerWeights };
}

function restoreCheckpoint(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  checkpoint: Checkpoint,
): void {
  for (const weight of model.weights) {
    const saved = checkpoint.modelWeights[weight.originalName];
    if (!saved || !tf.util.arraysEqual(saved.shape, weight.shape as number[])) {
      throw new Error(
        `The checkpoint does not fit this model (weight "${weight.originalName}" is missing or ` +
          `has another shape); delete the checkpoint or train with --retrain`,
      );
    }
    weight.write(saved); // shares the buffer; the caller may dispose the checkpoint after
  }
  const accumulations = momentumAccumulations(optimizer);
  model.trainableWeights.forEach((weight, i) => {
    const saved = checkpoint.optimizerWeights[weight.originalName];
    if (!saved) {
      throw new Error(`The checkpoint has no optimizer state for "${weight.originalName}"`);
    }
    accumulations[i] = {
      originalName: `${weight.name}/momentum`,
      variable: tf.variable(saved, false),
    };
  });
}

// The momentum optimizer keeps one accumulator per variable, in the order of the `varList`
// given to minimize (here: the model's trainable weights). tf.js exposes them only through
// an async getWeights(); reading the field keeps snapshots synchronous and exact.
function momentumAccumulations(
  optimizer: tf.Optimizer,
): { originalName: string; variable: tf.Variable }[] {
  return (optimizer as unknown as {
    accumulations: { originalName: string; variable: tf.Variable }[];
  }).accumulations;
}
