import { makeConfig } from "../training/config.ts";
import type { ExperimentOutcome } from "../measure/experiment_costs.ts";
import { findStoredResult } from "./experiment.ts";
import { MODEL_NAMES } from "../models/registry.ts";

/** Where the article's full reproduction is stored (committed to the repository). */
export const REPRODUCTION_DIR = new URL("../../data/reproduction/", import.meta.url).pathname;

/** The full-schedule results stored so far, by model (models not yet run are absent). */
export async function loadReproduction(
  options: { resultsDir?: string } = {},
): Promise<Record<string, ExperimentOutcome["result"]>> {
  const found: Record<string, ExperimentOutcome["result"]> = {};
  for (const model of MODEL_NAMES) {
    const config = makeConfig(model, { preset: "article" });
    const result = await findStoredResult(config, {
      resultsDir: options.resultsDir ?? REPRODUCTION_DIR,
    });
    if (result) found[model] = result;
  }
  return found;
}
