/** Rebuilds a trained model from the weights stored with its result. */
import * as tf from "@tensorflow/tfjs";
import { buildModel } from "../models/registry.ts";
import { defaultResultsDir, loadResultWeights, type RunResult } from "./results.ts";

/** Rebuilds the trained model of a stored result (the caller disposes it). */
export async function loadTrainedModel(
  result: RunResult,
  options: { resultsDir?: string } = {},
): Promise<tf.LayersModel> {
  const weights = await loadResultWeights(options.resultsDir ?? defaultResultsDir(), result);
  const model = buildModel(result.config.model, { seed: result.config.seed });
  try {
    for (const weight of model.weights) {
      const saved = weights[weight.originalName];
      if (!saved) {
        model.dispose();
        throw new Error(`The stored weights of ${result.key} lack "${weight.originalName}"`);
      }
      weight.write(saved); // copies the values: the decoded tensors are freed below
    }
  } finally {
    tf.dispose(Object.values(weights));
  }
  return model;
}
