/**
 * `deno task reproduce`: the article's full experiment. Trains every registered model on the
 * full schedule (60,000 images, batch 16, 20 epochs), measures their costs, and stores the results
 * in data/reproduction/ (committed, so readers need not train for hours). Completed models
 * are not rerun; an interrupted one resumes from its last epoch's checkpoint.
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
import { initBackend } from "../lib/backend/backend.ts";
import { makeConfig } from "../lib/training/config.ts";
import { findStoredResult, runExperiment } from "../lib/studies/experiment.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { checkModelName, hasBatchNorm, MODEL_NAMES } from "../lib/models/registry.ts";
import { studySettings } from "../lib/training/presets.ts";
import { formatProgress } from "./common/progress.ts";
import {
  comparisonRows,
  formatArticleComparison,
  formatComparison,
} from "../lib/measure/report.ts";
import {
  REPRODUCTION_DIR,
  REPRODUCTION_PRESET,
  reproductionModels,
} from "../lib/studies/reproduction.ts";
import { formatDuration } from "../lib/common/format.ts";

const LARGE_BATCH = studySettings(REPRODUCTION_PRESET).largeMemoryBatch;

const HELP = `Reproduce the article: every model on the full schedule, then its costs.

Usage: deno task reproduce -- [--models a,b] [--preset ${REPRODUCTION_PRESET}] [--results-dir DIR]

  --models LIST       comma-separated, from: ${MODEL_NAMES.join(", ")}
                      (default: all of them, smallest first)
  --preset NAME       "${REPRODUCTION_PRESET}", what this reproduces; "smoke" runs the same path
                      on tiny data
  --results-dir DIR   default data/reproduction
  --memory-batch LIST batch sizes for training memory (default: 16 and the preset's large
                      batch: 16,${LARGE_BATCH} on ${REPRODUCTION_PRESET}, as the article)
  --workers N         1 (default, as the committed results) or 2: split every batch between
                      two cores; models with batch norm (small-net) always use one
  --help

Stop it at any time: started again, it skips finished models and resumes the current one
from its last completed epoch.`;

async function main(): Promise<void> {
  // Parsed inside main, so that an unknown option is one clear line, not a stack trace.
  const { values } = parseArgs({
    args: scriptArgs(),
    options: {
      models: { type: "string" },
      preset: { type: "string", default: REPRODUCTION_PRESET },
      "results-dir": { type: "string" },
      "memory-batch": { type: "string" },
      workers: { type: "string", default: "1" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return console.log(HELP);
  const models = values.models?.split(",").map(checkModelName);
  const { largeMemoryBatch } = studySettings(values.preset);
  const memoryBatchSizes = parsePositiveIntegers(
    "memory-batch",
    values["memory-batch"] ?? `16,${largeMemoryBatch}`,
  );
  const workers = parseNumberOption("workers", values.workers);
  const configs = (models ?? reproductionModels()).map((model) =>
    makeConfig(model, {
      preset: values.preset,
      // Batch norm needs whole batches: such models stay on one core (built only to check).
      overrides: { workers: workers === 1 || hasBatchNorm(model) ? undefined : workers },
    })
  );
  const resultsDir = await resultsDirOption(values["results-dir"], REPRODUCTION_DIR);
  const backend = await initBackend();
  const { trainSize, testSize, seed } = configs[0];
  const data = await loadMnist({ trainSize, testSize, seed });
  const started = performance.now();

  for (const config of configs) {
    const stored = await findStoredResult(config, { resultsDir });
    if (stored) {
      console.log(
        `${config.model}: done (${(stored.history.at(-1)!.testAccuracy * 100).toFixed(2)}%)`,
      );
      continue;
    }
    const totalSteps = config.numEpochs * Math.ceil(config.trainSize / config.batchSize);
    let firstStep = 0;
    let firstStepAt = performance.now();
    console.log(`${config.model}: training on ${backend}, ${config.numEpochs} epochs`);
    await runExperiment(config, {
      data,
      resultsDir,
      memoryBatchSizes,
      onResume: (history) => {
        console.log(`  resuming after epoch ${history.length}`);
      },
      onBatch: ({ epoch, batch, numBatches }) => {
        const done = (epoch - 1) * numBatches + batch;
        if (firstStep === 0) [firstStep, firstStepAt] = [done, performance.now()];
        if (batch % 50 !== 0) return;
        const line = formatProgress(done - firstStep, totalSteps - firstStep, {
          elapsedSeconds: (performance.now() - firstStepAt) / 1000,
          label: `  ${config.model} epoch ${epoch}/${config.numEpochs}`,
        });
        showProgressLine(line);
      },
      onEpoch: (metrics) => {
        clearProgressLine();
        console.log(
          `  epoch ${metrics.epoch}: test accuracy ${(metrics.testAccuracy * 100).toFixed(2)}%, ` +
            `test loss ${metrics.testLoss.toFixed(4)} (${formatDuration(metrics.trainSeconds)})`,
        );
      },
    });
  }
  const results = [];
  for (const config of configs) results.push((await findStoredResult(config, { resultsDir }))!);
  const rows = comparisonRows(results);
  console.log(`\n${formatComparison(rows)}`);
  console.log(`\nOurs / the article's:\n\n${formatArticleComparison(rows)}`);
  console.log(`\nThis sitting took ${formatDuration((performance.now() - started) / 1000)}.`);
}

await runMain(main);
