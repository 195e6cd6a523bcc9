/** Training with a checkpoint after every epoch, resumed from the last one after a stop. */
import * as tf from "@tensorflow/tfjs";
import type { Mnist } from "../data/mnist.ts";
import type { TrainConfig } from "./config.ts";
import { loadCheckpoint, saveCheckpoint } from "./results.ts";
import { type BatchProgress, type EpochMetrics, trainModel } from "./train.ts";

/** Options of `trainWithCheckpoints`. */
export interface CheckpointedTrainingOptions {
  config: TrainConfig;
  onBatch?: (progress: BatchProgress) => void | Promise<void>;
  onEpoch?: (metrics: EpochMetrics) => void | Promise<void>;
  /** Called once with the epochs a resumed run already has. */
  onResume?: (history: EpochMetrics[]) => void | Promise<void>;
  /** The results folder; the checkpoint lives in its `checkpoints/` folder. */
  resultsDir: string;
  /** The run's key in the store (`resultKey`), which names its checkpoint. */
  key: string;
}

/**
 * Trains `model` (built fresh by the caller) with `config`, saving a checkpoint after every
 * epoch and resuming from the checkpoint stored under `key` if there is one. The training
 * half of every stored run (`storedOrTrained`).
 */
export async function trainWithCheckpoints(
  model: tf.LayersModel,
  data: Mnist,
  options: CheckpointedTrainingOptions,
): Promise<EpochMetrics[]> {
  const { resultsDir: dir, key } = options;
  const resumeFrom = await loadCheckpoint(dir, key);
  try {
    if (resumeFrom) await options.onResume?.(resumeFrom.history);
    return await trainModel(model, data, {
      config: options.config,
      resumeFrom,
      onBatch: options.onBatch,
      onEpoch: async (metrics, checkpoint) => {
        const snapshot = checkpoint();
        try {
          await saveCheckpoint(dir, key, snapshot);
        } finally {
          tf.dispose([
            ...Object.values(snapshot.modelWeights),
            ...Object.values(snapshot.optimizerWeights),
          ]);
        }
        await options.onEpoch?.(metrics);
      },
    });
  } finally {
    if (resumeFrom) {
      tf.dispose([
        ...Object.values(resumeFrom.modelWeights),
        ...Object.values(resumeFrom.optimizerWeights),
      ]);
    }
  }
}
