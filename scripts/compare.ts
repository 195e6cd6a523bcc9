/**
 * Trains (or reuses) every model on one preset and prints accuracy against cost.
 * Run `deno task compare -- --help` for the options.
 */
import { parseArgs } from "node:util";
import {
  clearProgressLine,
  parsePositiveIntegers,
  resultsDirOption,
  runMain,
  scriptArgs,
  showProgressLine,
} from "./common/cli.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { makeConfig, PRESET_NAMES } from "../lib/training/config.ts";
import { runExperiment } from "../lib/studies/experiment.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { checkModelName, MODEL_NAMES } from "../lib/models/registry.ts";
import { formatProgress } from "./common/progress.ts";
import { comparisonRows, formatComparison } from "../lib/measure/report.ts";
import { DEFAULT_PRESET, defaultPreset, SETTINGS } from "../lib/common/settings.ts";

const HELP = `Train every model on one preset and compare accuracy with cost.

Usage: deno task compare -- [--preset NAME] [--models a,b] [--memory-batch 16,8192] [--retrain]

  --preset NAME         one of: ${PRESET_NAMES.join(", ")} (default: ${SETTINGS.preset},
                        else ${DEFAULT_PRESET})
  --models LIST         comma-separated, from: ${MODEL_NAMES.join(", ")} (default: all)
  --memory-batch LIST   batch sizes at which to measure training memory (default: 16)
  --retrain             train again even where a result is stored
  --help                show this text`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: scriptArgs(),
    options: {
      preset: { type: "string", default: defaultPreset() },
      models: { type: "string", default: MODEL_NAMES.join(",") },
      "memory-batch": { type: "string", default: "16" },
      retrain: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return console.log(HELP);
  const models = values.models.split(",").map(checkModelName);
  const configs = models.map((model) => makeConfig(model, { preset: values.preset }));
  const memoryBatchSizes = parsePositiveIntegers("memory-batch", values["memory-batch"]);
  const resultsDir = await resultsDirOption(undefined);
  const backend = await initBackend();
  const { trainSize, testSize, seed } = configs[0];
  const data = await loadMnist({ trainSize, testSize, seed });
  console.log(
    `Preset "${values.preset}" on ${backend}: ${trainSize} training images, ${testSize} test images`,
  );

  const results = [];
  for (const config of configs) {
    const started = performance.now();
    const { result, cached } = await runExperiment(config, {
      data,
      resultsDir,
      retrain: values.retrain,
      memoryBatchSizes,
      onBatch: ({ epoch, batch, numBatches }) => {
        if (batch % 25 !== 0) return;
        const done = (epoch - 1) * numBatches + batch;
        const line = formatProgress(done, config.numEpochs * numBatches, {
          elapsedSeconds: (performance.now() - started) / 1000,
          label: config.model.padEnd(12),
        });
        showProgressLine(line);
      },
    });
    clearProgressLine();
    const last = result.history.at(-1)!;
    console.log(
      `${config.model.padEnd(12)} ${(last.testAccuracy * 100).toFixed(2)}% ` +
        (cached
          ? "(stored result)"
          : `(trained in ${((performance.now() - started) / 1000).toFixed(0)} s)`),
    );
    results.push(result);
  }
  console.log(`\n${formatComparison(comparisonRows(results))}`);
}

if (import.meta.main) await runMain(main);
