/**
 * Data-parallel training on two cores. tf.js' wasm backend runs on one thread here (its
 * threaded build cannot start in Deno), so a second core is used by splitting every batch:
 * the main thread computes the gradient of one half, a worker (lib/gradient_worker.ts) the
 * other at the same time, and the main thread applies their weighted mean (inside the fused
 * momentum update, lib/momentum.ts). That is the gradient of the whole batch up to float
 * rounding, because the loss is a mean over images.
 * Batch norm is the exception: its statistics would come from half batches, so models with
 * it are refused. Weights and data cross through shared memory; messages only say "go".
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendName } from "../backend/backend.ts";
import { IMAGE_SIZE as PIXELS, NUM_CLASSES } from "../data/mnist.ts";
import { batchNormLayer } from "../models/registry.ts";

/** What the shared buffers are sized for. */
interface PartnerShape {
  /** The most images one step sends the worker. */
  maxImages: number;
  /** Element counts of the model's trainable weights, in order. */
  sizes: number[];
}

/** What the main thread sends to the worker. */
export type PartnerRequest =
  | {
    type: "init";
    backend: BackendName;
    topology: object;
    images: SharedArrayBuffer;
    targets: SharedArrayBuffer;
    weights: SharedArrayBuffer;
    gradients: SharedArrayBuffer;
  }
  | { type: "step"; size: number; dropoutSeeds: number[] };

/** What the worker answers. */
export type PartnerReply =
  | { type: "ready" }
  | { type: "done"; loss: number }
  | { type: "error"; message: string };

/** Refuses a model whose gradient cannot be split across workers; says why and what to do. */
export function checkDataParallel(model: tf.LayersModel): void {
  const batchNorm = batchNormLayer(model);
  if (batchNorm) {
    throw new Error(
      `${model.name} has batch norm (layer "${batchNorm.name}"), whose statistics would come ` +
        `from half batches on two workers and change the results; train it with one worker ` +
        `(workers: 1, or drop --workers)`,
    );
  }
}

/** The second half of the data-parallel pair: a worker that computes gradients on demand. */
export class GradientPartner {
  readonly #worker: Worker;
  readonly #images: Float32Array;
  readonly #targets: Float32Array;
  readonly #weights: Float32Array;
  /** The worker's last gradient: all trainable weights, flat, in the model's order. */
  readonly gradients: Float32Array;
  #pending?: { resolve: (reply: PartnerReply) => void };

  private constructor(worker: Worker, shape: PartnerShape) {
    this.#worker = worker;
    const total = shape.sizes.reduce((sum, size) => sum + size, 0);
    const floats = (count: number) => new Float32Array(new SharedArrayBuffer(count * 4));
    this.#images = floats(shape.maxImages * PIXELS);
    this.#targets = floats(shape.maxImages * NUM_CLASSES);
    this.#weights = floats(total);
    this.gradients = floats(total);
    worker.onmessage = (event: MessageEvent<PartnerReply>) => this.#settle(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#settle({ type: "error", message: event.message });
    };
  }

  /** Starts a worker holding a copy of `model` (same topology; weights come with each step). */
  static async start(
    model: tf.LayersModel,
    backend: BackendName,
    maxImages: number,
  ): Promise<GradientPartner> {
    checkDataParallel(model);
    const worker = new Worker(new URL("./gradient_worker.ts", import.meta.url), {
      type: "module",
    });
    const sizes = model.trainableWeights.map((weight) =>
      tf.util.sizeFromShape(weight.shape as number[])
    );
    const partner = new GradientPartner(worker, { maxImages, sizes });
    try {
      await partner.#request({
        type: "init",
        backend,
        topology: model.toJSON(undefined, false) as object,
        images: partner.#images.buffer as SharedArrayBuffer,
        targets: partner.#targets.buffer as SharedArrayBuffer,
        weights: partner.#weights.buffer as SharedArrayBuffer,
        gradients: partner.gradients.buffer as SharedArrayBuffer,
      });
    } catch (error) {
      worker.terminate();
      throw error;
    }
    return partner;
  }

  /** Copies `model`'s current trainable weights to the worker (call between steps). */
  shareWeights(model: tf.LayersModel): void {
    let offset = 0;
    for (const weight of model.trainableWeights) {
      const values = valuesOf(weight.read());
      this.#weights.set(values, offset);
      offset += values.length;
    }
  }

  /**
   * Starts the worker on `size` images (flat, as in a batch) and resolves with its mean loss
   * once `gradients` holds its gradient.
   */
  computeGradients(
    images: Float32Array,
    targets: Float32Array,
    size: number,
    dropoutSeeds: number[],
  ): Promise<number> {
    this.#images.set(images.subarray(0, size * PIXELS));
    this.#targets.set(targets.subarray(0, size * NUM_CLASSES));
    return this.#request({ type: "step", size, dropoutSeeds }).then((reply) =>
      (reply as { loss: number }).loss
    );
  }

  /** Stops the worker. */
  close(): void {
    this.#worker.terminate();
    this.#settle({ type: "error", message: "the gradient worker was closed" });
  }

  #request(message: PartnerRequest): Promise<PartnerReply> {
    if (this.#pending) throw new Error("The gradient worker is still busy with a step");
    return new Promise<PartnerReply>((resolve, reject) => {
      this.#pending = {
        resolve: (reply) =>
          reply.type === "error"
            ? reject(new Error(`Gradient worker failed: ${reply.message}`))
            : resolve(reply),
      };
      this.#worker.postMessage(message);
    });
  }

  #settle(reply: PartnerReply): void {
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve(reply);
  }
}

/**
 * The worker's last gradient, one flat view of shared memory per variable, sized like `like`
 * (the main thread's gradients of the same variables, in order).
 */
export function partnerGradients(partner: GradientPartner, like: tf.Tensor[]): Float32Array[] {
  let offset = 0;
  return like.map((gradient) => {
    offset += gradient.size;
    return partner.gradients.subarray(offset - gradient.size, offset);
  });
}

/** A tensor's values: on wasm a view of its heap, no copy (valid until the next allocation). */
export function valuesOf(tensor: tf.Tensor): Float32Array {
  const backend = tf.backend() as tf.KernelBackend & {
    typedArrayFromHeap?: (info: tf.TensorInfo) => Float32Array;
  };
  return tf.getBackend() === "wasm" && backend.typedArrayFromHeap
    ? backend.typedArrayFromHeap(tensor)
    : tensor.dataSync() as Float32Array;
}
