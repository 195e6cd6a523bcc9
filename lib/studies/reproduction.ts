/** The article's reproduction: every registered model on the article's full schedule. */
import { makeConfig } from "../training/config.ts";
import type { ExperimentOutcome } from "../measure/experiment_costs.ts";
import { findStoredResult } from "./experiment.ts";
import { buildModel, MODEL_NAMES } from "../models/registry.ts";
import { summarizeModel } from "../models/summary.ts";

/** Where the article's full reproduction is stored (committed to the repository). */
export const REPRODUCTION_DIR = new URL("../../data/reproduction/", import.meta.url).pathname;

/** The preset of the reproduction: the article's schedule is what it reproduces. */
export const REPRODUCTION_PRESET = "article";

/**
 * The models the reproduction trains when none are named: every registered model, smallest
 * first by trainable parameters (each is built once to count them), so the cheap ones finish
 * before the hours-long ones start.
 */
export function reproductionModels(): string[] {
  const sizes = new Map(MODEL_NAMES.map((name) => {
    const model = buildModel(name);
    try {
      return [name, summarizeModel(model).trainableParams];
    } finally {
      model.dispose();
    }
  }));
  return [...MODEL_NAMES].sort((a, b) => sizes.get(a)! - sizes.get(b)!);
}

/** The full-schedule results stored so far, by model (models not yet run are absent). */
export async function loadReproduction(
  options: { resultsDir?: string } = {},
): Promise<Record<string, ExperimentOutcome["result"]>> {
  const found: Record<string, ExperimentOutcome["result"]> = {};
  for (const model of MODEL_NAMES) {
    const config = makeConfig(model, { preset: REPRODUCTION_PRESET });
    const result = await findStoredResult(config, {
      resultsDir: options.resultsDir ?? REPRODUCTION_DIR,
    });
    if (result) found[model] = result;
  }
  return found;
}
