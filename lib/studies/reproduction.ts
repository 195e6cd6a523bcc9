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

/** One PyTorch cross-check of Small Net's stated layers (README: "Small Net's description"). */
export interface PeerCheck {
  /** What was trained: the stated layers, or a variant with the same 518 parameters. */
  variant: string;
  /** The seed, where the README gives it. */
  seed?: number;
  /** Final test accuracy on all 10,000 test images, as a fraction. */
  testAccuracy: number;
}

/**
 * Small Net in PyTorch on the article's schedule (lr 0.005 only), measured with
 * `/usr/bin/python3 scripts/peer_accuracy.py --models small-net --seed N` and recorded in the
 * README: the stated layers for seeds 0-2, and two 518-parameter variants.
 */
export const SMALL_NET_PEER_CHECKS: readonly PeerCheck[] = [
  { variant: "small-net", seed: 0, testAccuracy: 0.9132 },
  { variant: "small-net", seed: 1, testAccuracy: 0.9083 },
  { variant: "small-net", seed: 2, testAccuracy: 0.9119 },
  { variant: "small-net-pooled (2x2 max pool after block 1)", testAccuracy: 0.9400 },
  { variant: "small-net-strided (stride-2 first conv)", testAccuracy: 0.9376 },
];
