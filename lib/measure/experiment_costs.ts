/** What every experiment measures besides accuracy, on its trained model. */
import type * as tf from "@tensorflow/tfjs";
import { type Mnist, MNIST_TEST_SIZE, MNIST_TRAIN_SIZE } from "../data/mnist.ts";
import { summarizeModel } from "../models/summary.ts";
import type { TrainConfig } from "../training/config.ts";
import type { RunResult } from "../training/results.ts";
import type { EpochMetrics } from "../training/train.ts";
import {
  measureInference,
  measureSavedSize,
  measureTrainingMemory,
  median,
  type MemoryMeasurement,
} from "./cost.ts";

/** What an experiment measures besides accuracy. */
export interface ExperimentCosts {
  trainableParams: number;
  nonTrainableParams: number;
  macsPerImage: number;
  /** Median training time of one epoch of this run. */
  trainSecondsPerEpoch: number;
  /** The same scaled to MNIST's 60,000 training images. */
  trainSecondsPerFullEpoch: number;
  /** Median time to predict this run's test images, and scaled to MNIST's 10,000. */
  inferenceSeconds: number;
  inferenceSecondsFullTestSet: number;
  /** Size of the saved weights (tf.js weights.bin) and of the model.json beside them. */
  weightFileBytes: number;
  modelJsonBytes: number;
  trainingMemory: MemoryMeasurement[];
}

/** A stored or fresh result, and whether it came from the store. */
export interface ExperimentOutcome {
  result: RunResult & { costs: ExperimentCosts };
  cached: boolean;
}

/** Measures the costs stored with an experiment's result. */
export async function measureCosts(
  model: tf.LayersModel,
  data: Mnist,
  config: TrainConfig,
  history: EpochMetrics[],
  memoryBatchSizes = [config.batchSize],
): Promise<ExperimentCosts> {
  const summary = summarizeModel(model);
  const trainSecondsPerEpoch = median(history.map((epoch) => epoch.trainSeconds));
  const inference = measureInference(model, data.test, { batchSize: config.evalBatchSize });
  const saved = await measureSavedSize(model);
  const trainingMemory: MemoryMeasurement[] = [];
  for (const batchSize of memoryBatchSizes) {
    trainingMemory.push(await measureTrainingMemory(config.model, { batchSize }));
  }
  return {
    trainableParams: summary.trainableParams,
    nonTrainableParams: summary.nonTrainableParams,
    macsPerImage: summary.macs,
    trainSecondsPerEpoch,
    trainSecondsPerFullEpoch: trainSecondsPerEpoch * MNIST_TRAIN_SIZE / config.trainSize,
    inferenceSeconds: inference.medianSeconds,
    inferenceSecondsFullTestSet: inference.medianSeconds * MNIST_TEST_SIZE / config.testSize,
    weightFileBytes: saved.weightBytes,
    modelJsonBytes: saved.modelJsonBytes,
    trainingMemory,
  };
}
