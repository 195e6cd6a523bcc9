/** Training with a checkpoint after every epoch, resumed from the last one after a stop. */
import * as tf from "@tensorflow/tfjs";
import type { Mnist } from "../data/mnist.ts";
import type { TrainConfig } from "./config.ts";
import { checkpointPath, loadCheckpoint, saveCheckpoint } from "./checkpoint_file.ts";
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

/** A run being trained now, and what of it is safe on disk: what a stop must tell the user. */
export interface RunInProgress {
  key: string;
  /** The checkpoint file that holds the saved epochs. */
  checkpoint: string;
  /** Epochs saved in the checkpoint (0: none yet). */
  savedEpochs: number;
  numEpochs: number;
}

let inProgress: RunInProgress | undefined;

/** The run `trainWithCheckpoints` is training at this moment, if any. */
export function runInProgress(): RunInProgress | undefined {
  return inProgress && { ...inProgress };
}

/**
 * What a stop (Ctrl-C, SIGTERM) during `run` keeps, in words: "stopped during epoch N; epochs
 * 1..N-1 are saved in <file>; run the same command to resume".
 */
export function describeStop(run: RunInProgress): string {
  const { savedEpochs: saved, numEpochs, checkpoint } = run;
  if (saved === 0) {
    return `stopped during epoch 1 of ${run.key}; no epoch was complete, so nothing is saved; ` +
      `run the same command to start again`;
  }
  if (saved >= numEpochs) {
    return `stopped after the last epoch of ${run.key}, before its result was stored; ` +
      `epochs 1..${saved} are saved in ${checkpoint}; run the same command to resume ` +
      `(only the measurements are redone)`;
  }
  const kept = saved === 1 ? "epoch 1 is saved" : `epochs 1..${saved} are saved`;
  return `stopped during epoch ${saved + 1}; ${kept} in ${checkpoint}; ` +
    `run the same command to resume`;
}

/**
 * Trains `model` (built fresh by the caller) with `config`, saving a checkpoint after every
 * epoch and resuming from the checkpoint stored under `key` if there is one. The training
 * half of every stored run (`storedOrTrained`). While it runs, `runInProgress()` says what
 * is saved.
 */
export async function trainWithCheckpoints(
  model: tf.LayersModel,
  data: Mnist,
  options: CheckpointedTrainingOptions,
): Promise<EpochMetrics[]> {
  const { resultsDir: dir, key } = options;
  const resumeFrom = await loadCheckpoint(dir, key);
  const state: RunInProgress = {
    key,
    checkpoint: checkpointPath(dir, key),
    savedEpochs: resumeFrom?.history.length ?? 0,
    numEpochs: options.config.numEpochs,
  };
  inProgress = state;
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
          state.savedEpochs = snapshot.history.length;
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

/** Marks the run as finished (its result is stored): a stop now loses nothing. */
export function finishRunInProgress(key: string): void {
  if (inProgress?.key === key) inProgress = undefined;
}
