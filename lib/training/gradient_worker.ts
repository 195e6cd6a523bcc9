/// <reference lib="deno.worker" />
/**
 * The worker half of data-parallel training (see lib/data_parallel.ts): holds a copy of the
 * model, and on each "step" loads the shared weights, computes the gradient of its share of
 * the batch, writes it to shared memory and answers with the loss.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend/backend.ts";
import { type PartnerReply, type PartnerRequest, valuesOf } from "./data_parallel.ts";
import { batchGradients, setDropoutSeeds } from "./train.ts";

let model: tf.LayersModel | undefined;
let shared: Extract<PartnerRequest, { type: "init" }> | undefined;

self.onmessage = async (event: MessageEvent<PartnerRequest>) => {
  try {
    self.postMessage(await handle(event.data));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    self.postMessage({ type: "error", message } satisfies PartnerReply);
  }
};

async function handle(request: PartnerRequest): Promise<PartnerReply> {
  if (request.type === "init") {
    await initBackend(request.backend);
    model = await tf.models.modelFromJSON(
      request.topology as Parameters<typeof tf.models.modelFromJSON>[0],
    );
    shared = request;
    return { type: "ready" };
  }
  if (!model || !shared) throw new Error("step before init");
  loadWeights(model, new Float32Array(shared.weights));
  setDropoutSeeds(model, request.dropoutSeeds);
  const { loss, gradients } = batchGradients(
    model,
    new Float32Array(shared.images),
    new Float32Array(shared.targets),
    request.size,
  );
  const out = new Float32Array(shared.gradients);
  let offset = 0;
  for (const gradient of gradients) {
    const values = valuesOf(gradient);
    out.set(values, offset);
    offset += values.length;
  }
  const value = loss.dataSync()[0];
  tf.dispose([loss, ...gradients]);
  return { type: "done", loss: value };
}

function loadWeights(target: tf.LayersModel, flat: Float32Array): void {
  let offset = 0;
  for (const weight of target.trainableWeights) {
    const size = tf.util.sizeFromShape(weight.shape as number[]);
    const shape = weight.shape as number[];
    const value = tf.tensor(flat.subarray(offset, offset + size), shape, "float32");
    weight.write(value);
    value.dispose();
    offset += size;
  }
}
