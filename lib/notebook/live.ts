/**
 * Training inside a notebook: one output that redraws the loss and accuracy curves while a
 * model trains (or shows the stored curves at once when the result is cached).
 */
import type { TrainConfig } from "../training/config.ts";
import { createLiveDisplay, type JupyterDisplay } from "./display.ts";
import type { ExperimentOutcome } from "../measure/experiment_costs.ts";
import { type ExperimentOptions, runExperiment } from "../studies/experiment.ts";
import { plotLiveCurves } from "../plots/mod.ts";
import type { EpochMetrics } from "../training/train.ts";

/** Options of `trainLive`: those of `runExperiment`, plus where to display (for tests). */
export interface TrainLiveOptions extends Omit<ExperimentOptions, "onBatch" | "onEpoch"> {
  jupyter?: JupyterDisplay;
  /** Draw the curves of a stored result too (default true); false shows only live training. */
  showStored?: boolean;
}

/** Runs `runExperiment(config)` with live curves in one notebook output. */
export async function trainLive(
  config: TrainConfig,
  options: TrainLiveOptions = {},
): Promise<ExperimentOutcome & { redraws: number }> {
  const live = createLiveDisplay({ jupyter: options.jupyter });
  const history: EpochMetrics[] = [];
  const batchLosses: number[] = [];
  let numBatches = 1;
  const draw = () =>
    plotLiveCurves(history, {
      model: config.model,
      numEpochs: config.numEpochs,
      batchLosses,
      numBatches,
    });
  const outcome = await runExperiment(config, {
    ...options,
    onResume: (earlier) => {
      history.push(...earlier);
      return options.onResume?.(earlier);
    },
    onBatch: async (progress) => {
      numBatches = progress.numBatches;
      batchLosses.push(progress.loss);
      await live.update(draw);
    },
    onEpoch: async (metrics) => {
      history.push(metrics);
      await live.update(draw);
    },
  });
  if (outcome.cached) {
    if (options.showStored === false) return { ...outcome, redraws: 0 };
    history.push(...outcome.result.history);
  }
  await live.done(draw);
  return { ...outcome, redraws: live.updates };
}
