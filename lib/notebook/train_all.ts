/**
 * Several models on one preset in a notebook: each trained with live curves (or read back
 * from the store), the data loaded once for all the models that share its sizes and seed.
 */
import { loadMnist, type Mnist } from "../data/mnist.ts";
import type { ExperimentOutcome } from "../measure/experiment_costs.ts";
import { findStoredResult } from "../studies/experiment.ts";
import { makeConfig, type TrainConfig } from "../training/config.ts";
import { trainLive, type TrainLiveOptions } from "./live.ts";

/** Options of `trainAll`: those of `trainLive` for every model, and overrides of the preset. */
export interface TrainAllOptions extends Omit<TrainLiveOptions, "onResume"> {
  /** Settings that replace the preset's for every model, e.g. a smaller `trainSize`. */
  overrides?: Partial<TrainConfig>;
}

/** What `trainAll` returns for one model: `trainLive`'s outcome. */
export type TrainAllOutcome = ExperimentOutcome & { redraws: number };

/**
 * Trains each of `models` on `preset` with live curves, or reads its stored result; returns
 * the outcomes by model name, in the order given. Every config is checked before any work;
 * MNIST is loaded only for models that need training, once per distinct size and seed.
 */
export async function trainAll(
  models: readonly string[],
  preset: string,
  options: TrainAllOptions = {},
): Promise<Record<string, TrainAllOutcome>> {
  const twice = models.find((name, i) => models.indexOf(name) !== i);
  if (twice !== undefined) {
    throw new Error(`Model "${twice}" is listed twice; list each model once`);
  }
  const configs = models.map((name) => makeConfig(name, { preset, overrides: options.overrides }));
  const loaded = new Map<string, Promise<Mnist>>();
  const dataFor = async (config: TrainConfig): Promise<Mnist | undefined> => {
    if (options.data) return options.data;
    if (!options.retrain && await findStoredResult(config, options)) return undefined;
    const { trainSize, testSize, seed } = config;
    const key = `${trainSize}/${testSize}/${seed}`;
    if (!loaded.has(key)) loaded.set(key, loadMnist({ trainSize, testSize, seed }));
    return await loaded.get(key)!;
  };
  const outcomes: Record<string, TrainAllOutcome> = {};
  for (const config of configs) {
    outcomes[config.model] = await trainLive(config, {
      ...options,
      data: await dataFor(config),
    });
  }
  return outcomes;
}
