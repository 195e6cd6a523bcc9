/**
 * Child process of `measureTrainingMemory`: prints one JSON line with the peak memory of one
 * training step. Usage: deno run --allow-read --allow-env lib/measure/memory_child.ts MODEL BATCH
 */
import { initBackend } from "../backend/backend.ts";
import { measureStepMemory } from "./cost.ts";
import { buildModel } from "../models/registry.ts";

const [modelName, batchText] = Deno.args;
const batchSize = Number(batchText);
if (!modelName || !Number.isInteger(batchSize) || batchSize <= 0) {
  console.error("Usage: memory_child.ts MODEL BATCH_SIZE (a positive integer)");
  Deno.exit(2);
}
const backend = await initBackend();
const model = buildModel(modelName);
const peakBytes = await measureStepMemory(model, { batchSize });
console.log(JSON.stringify({ batchSize, fits: true, peakBytes, note: `tf.profile on ${backend}` }));
