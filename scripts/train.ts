/**
 * Trains one model from the command line and prints its summary, metrics and costs.
 * Run `deno task train -- --help` for the options.
 */
import { parseArgs } from "node:util";
import {
  clearProgressLine,
  parseNumberOption,
  parsePositiveIntegers,
  resultsDirOption,
  runMain,
  scriptArgs,
  showProgressLine,
} from "./common/cli.ts";
import type { BatchProgress, EpochMetrics } from "../lib/training/train.ts";
import { checkBackendName, initBackend } from "../lib/backend/backend.ts";
import { makeConfig, PRESET_NAMES, type TrainConfig } from "../lib/training/config.ts";
import { runExperiment } from "../lib/studies/experiment.ts";
import { buildModel, checkModelName, hasBatchNorm, MODEL_NAMES } from "../lib/models/registry.ts";
import { formatProgress } from "./common/progress.ts";
import { formatSummary, summarizeModel } from "../lib/models/summary.ts";
import { formatCount, formatDuration } from "../lib/common/format.ts";
import { DEFAULT_PRESET, defaultPreset, SETTINGS } from "../lib/common/settings.ts";

const HELP = `Train one MNIST model with the article's schedule (or a smaller preset).

Usage: deno task train -- --model NAME [options]

  --model NAME          one of: ${MODEL_NAMES.join(", ")}
  --preset NAME         one of: ${PRESET_NAMES.join(", ")} (default: ${SETTINGS.preset},
                        else ${DEFAULT_PRESET}; "article" is the full 60,000-image, 20-epoch
                        schedule)
  --epochs N            override the preset's number of epochs
  --batch-size N        override the batch size (article: 16)
  --train-size N        training images, a seeded subset of 60,000
  --test-size N         test images, a seeded subset of 10,000
  --learning-rate X     starting learning rate (article: 0.005)
  --seed N              the one seed for weights, shuffles and dropout (default 0)
  --memory-batch LIST   batch sizes at which to measure training memory, e.g. 16,8192
  --workers N           1 (default) or 2: split every batch between two cores (not for
                        models with batch norm; changes dropout masks, so a separate result)
  --backend NAME        wasm (default) or cpu; or set SIZEWISE_BACKEND
  --retrain             train again even if a result is stored
  --results-dir DIR     where results live (default data/results, or SIZEWISE_RESULTS)
  --help                show this text

An interrupted run resumes from its last completed epoch when started again.`;

function parseCommandLine(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string" },
      preset: { type: "string", default: defaultPreset() },
      epochs: { type: "string" },
      "batch-size": { type: "string" },
      "train-size": { type: "string" },
      "test-size": { type: "string" },
      "learning-rate": { type: "string" },
      seed: { type: "string" },
      "memory-batch": { type: "string" },
      workers: { type: "string" },
      backend: { type: "string" },
      retrain: { type: "boolean", default: false },
      "results-dir": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  return values;
}

async function main(): Promise<void> {
  const options = parseCommandLine(scriptArgs());
  if (options.help) {
    console.log(HELP);
    return;
  }
  if (!options.model) {
    throw new Error(`--model is required; choose one of: ${MODEL_NAMES.join(", ")}`);
  }
  checkModelName(options.model);
  const overrides: Partial<TrainConfig> = {
    numEpochs: parseNumberOption("epochs", options.epochs),
    batchSize: parseNumberOption("batch-size", options["batch-size"]),
    trainSize: parseNumberOption("train-size", options["train-size"]),
    testSize: parseNumberOption("test-size", options["test-size"]),
    learningRate: parseNumberOption("learning-rate", options["learning-rate"]),
    seed: parseNumberOption("seed", options.seed),
    workers: parseNumberOption("workers", options.workers),
  };
  const config = makeConfig(options.model, { preset: options.preset, overrides });
  const memoryBatchSizes = options["memory-batch"] === undefined
    ? undefined
    : parsePositiveIntegers("memory-batch", options["memory-batch"]);
  const resultsDir = await resultsDirOption(options["results-dir"]);
  const backend = await initBackend(
    options.backend ? checkBackendName(options.backend) : undefined,
  );
  // Needs the backend (it builds the model to look); still before any output or work.
  if ((config.workers ?? 1) > 1 && hasBatchNorm(config.model)) {
    throw new Error(
      `--workers 2 cannot train ${config.model}: its batch norm needs whole batches on one ` +
        `core; leave --workers out`,
    );
  }

  const model = buildModel(config.model, { seed: config.seed });
  console.log(formatSummary(summarizeModel(model)));
  model.dispose();
  console.log(
    `\nTraining ${config.model} on ${backend}: ${formatCount(config.trainSize)} images, ` +
      `${config.numEpochs} epochs, batch ${config.batchSize}, seed ${config.seed}`,
  );

  const progress = progressPrinter(config);
  const { result, cached } = await runExperiment(config, {
    retrain: options.retrain,
    resultsDir,
    memoryBatchSizes,
    onResume: (history) => console.log(`Resuming after epoch ${history.length} (checkpoint found)`),
    onBatch: progress.batch,
    onEpoch: progress.epoch,
  });
  if (cached) console.log(`Stored result ${result.key} reused (pass --retrain to train again).`);
  printResult(result);
}

function progressPrinter(config: TrainConfig) {
  let epochStarted = performance.now();
  return {
    batch({ epoch, batch, numBatches, loss }: BatchProgress) {
      if (batch === 1) epochStarted = performance.now();
      if (batch % 20 !== 0 && batch !== numBatches) return;
      const line = formatProgress(batch, numBatches, {
        elapsedSeconds: (performance.now() - epochStarted) / 1000,
        label: `epoch ${epoch}/${config.numEpochs}`,
      });
      showProgressLine(`${line} loss ${loss.toFixed(4)}`);
    },
    epoch(metrics: EpochMetrics) {
      clearProgressLine();
      console.log(
        `epoch ${metrics.epoch}/${config.numEpochs}: train loss ${metrics.trainLoss.toFixed(4)}, ` +
          `test loss ${metrics.testLoss.toFixed(4)}, test accuracy ` +
          `${(metrics.testAccuracy * 100).toFixed(2)}% (${formatDuration(metrics.trainSeconds)})`,
      );
    },
  };
}

function printResult(result: Awaited<ReturnType<typeof runExperiment>>["result"]): void {
  const last = result.history.at(-1)!;
  const costs = result.costs;
  console.log(`\nResult ${result.key} (${result.runtime.backend}, tfjs ${result.runtime.tfjs})`);
  console.log(
    `  test accuracy      ${(last.testAccuracy * 100).toFixed(2)}%  (loss ${
      last.testLoss.toFixed(4)
    })`,
  );
  console.log(
    `  parameters         ${formatCount(costs.trainableParams)} trainable, ${
      formatCount(costs.nonTrainableParams)
    } not`,
  );
  console.log(`  MACs per image     ${formatCount(costs.macsPerImage)}`);
  console.log(
    `  train time/epoch   ${costs.trainSecondsPerEpoch.toFixed(1)} s (${
      costs.trainSecondsPerFullEpoch.toFixed(1)
    } s for 60,000 images)`,
  );
  console.log(
    `  inference          ${costs.inferenceSeconds.toFixed(3)} s (${
      costs.inferenceSecondsFullTestSet.toFixed(3)
    } s for 10,000 images)`,
  );
  console.log(
    `  weights file       ${formatCount(costs.weightFileBytes)} bytes (${
      (costs.weightFileBytes / 2 ** 20).toFixed(2)
    } MB)`,
  );
  for (const memory of costs.trainingMemory) {
    const figure = memory.fits ? `${(memory.peakBytes! / 2 ** 20).toFixed(1)} MB` : "does not fit";
    console.log(
      `  memory, batch ${String(memory.batchSize).padEnd(5)}${figure}${
        memory.note ? ` (${memory.note})` : ""
      }`,
    );
  }
}

if (import.meta.main) await runMain(main);
