/**
 * Chooses a model for a device: reads stored results, measures (once) latency per image and
 * accuracy at lower precision, and ranks what fits the budget. Trains nothing.
 * Run `deno task choose -- --help` for the options.
 */
import { parseArgs } from "node:util";
import {
  clearProgressLine,
  parseNumberOption,
  resultsDirOption,
  runMain,
  scriptArgs,
  showProgressLine,
} from "./common/cli.ts";
import { initBackend } from "../lib/backend/backend.ts";
import {
  checkBudget,
  chooseForDevice,
  deploymentCandidates,
  formatChoice,
} from "../lib/studies/chooser.ts";
import { makeConfig, PRESET_NAMES } from "../lib/training/config.ts";
import { checkPrecision, type DeploymentRow, measureDeployment } from "../lib/measure/deploy.ts";
import type { ExperimentOutcome } from "../lib/measure/experiment_costs.ts";
import { findStoredResult } from "../lib/studies/experiment.ts";
import { loadMnist, type MnistSplit } from "../lib/data/mnist.ts";
import { checkModelName, MODEL_NAMES } from "../lib/models/registry.ts";
import { REPRODUCTION_DIR, REPRODUCTION_PRESET } from "../lib/studies/reproduction.ts";

const HELP = `Choose a model for your device: rank the trained models that fit a budget.

Usage: deno task choose -- [--max-mb X] [--max-latency-ms X] [--min-accuracy X] [options]

  --max-mb X            largest weight size in MB (2^20 bytes)
  --max-latency-ms X    longest time for one image in ms (95th percentile, this machine)
  --min-accuracy X      lowest test accuracy as a fraction, e.g. 0.95
  --preset NAME         whose stored results to read: ${PRESET_NAMES.join(", ")} (default:
                        ${REPRODUCTION_PRESET}, the full reproduction in data/reproduction, then
                        the results dir: a device deserves fully trained models)
  --models LIST         comma-separated, from: ${MODEL_NAMES.join(", ")} (default: all)
  --precisions LIST     weight formats to consider: float32, float16, int8, uint8
                        (default: float32,float16,uint8, the ones a TensorFlow.js app loads)
  --remeasure           measure latency and quantized accuracy again instead of reading them
  --results-dir DIR     where results live (default data/results, or SIZEWISE_RESULTS)
  --help                show this text

Nothing is trained: models without a stored result are listed, with the command to train them.
Latency and quantized accuracy are measured once per result and stored in the results dir.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: scriptArgs(),
    options: {
      "max-mb": { type: "string" },
      "max-latency-ms": { type: "string" },
      "min-accuracy": { type: "string" },
      // Fully trained models: the reproduction's, not the quick default of the other tasks.
      preset: { type: "string", default: REPRODUCTION_PRESET },
      models: { type: "string", default: MODEL_NAMES.join(",") },
      precisions: { type: "string", default: "float32,float16,uint8" },
      remeasure: { type: "boolean", default: false },
      "results-dir": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return console.log(HELP);
  // Everything is checked before any work starts.
  const budget = checkBudget(withoutUndefined({
    maxWeightMB: parseNumberOption("max-mb", values["max-mb"]),
    maxLatencyMs: parseNumberOption("max-latency-ms", values["max-latency-ms"]),
    minAccuracy: parseNumberOption("min-accuracy", values["min-accuracy"]),
  }));
  const models = values.models.split(",").map(checkModelName);
  const precisions = values.precisions.split(",").map(checkPrecision);
  const configs = models.map((model) => makeConfig(model, { preset: values.preset }));
  const resultsDir = await resultsDirOption(values["results-dir"]);
  const backend = await initBackend();

  // The reproduction's preset is read from the committed reproduction first.
  const reproduced = values.preset === REPRODUCTION_PRESET;
  const found: { result: ExperimentOutcome["result"]; dir: string }[] = [];
  const missing: string[] = [];
  for (const config of configs) {
    // The article's results are the committed reproduction first, then anything trained here.
    const dirs = reproduced ? [REPRODUCTION_DIR, resultsDir] : [resultsDir];
    let hit: (typeof found)[number] | undefined;
    for (const dir of dirs) {
      const result = await findStoredResult(config, { resultsDir: dir });
      if (result) {
        hit = { result, dir };
        break;
      }
    }
    if (hit) found.push(hit);
    else missing.push(config.model);
  }
  const trainCommand = (names: string[]) =>
    `deno task ${reproduced ? "reproduce" : "compare"} -- ` +
    `${reproduced ? "" : `--preset ${values.preset} `}--models ${names.join(",")}`;
  if (found.length === 0) {
    throw new Error(
      `No stored results for preset "${values.preset}" on ${backend} in ${resultsDir}` +
        `${reproduced ? ` or ${REPRODUCTION_DIR}` : ""}; ` +
        `train them first: ${trainCommand(models)}`,
    );
  }

  const testSets = new Map<string, MnistSplit>();
  const rows: DeploymentRow[] = [];
  for (const { result, dir } of found) {
    const { testSize, seed } = result.config;
    const dataKey = `${testSize}/${seed}`;
    if (!testSets.has(dataKey)) {
      testSets.set(dataKey, (await loadMnist({ trainSize: 1, testSize, seed })).test);
    }
    showProgressLine(`${result.config.model}: measuring latency and quantized accuracy…`);
    rows.push(
      await measureDeployment(result, testSets.get(dataKey)!, {
        resultsDir: dir,
        measurementsDir: resultsDir,
        remeasure: values.remeasure,
      }),
    );
    clearProgressLine();
  }
  const choice = chooseForDevice(deploymentCandidates(rows, { precisions }), budget);
  console.log(
    `Preset "${values.preset}" on ${backend}; accuracy on each result's own test images, ` +
      `latency measured here (one image at a time).\n`,
  );
  console.log(formatChoice(choice));
  if (missing.length > 0) {
    console.log(
      `\nNot considered (no stored result for preset "${values.preset}"): ` +
        `${missing.join(", ")}. Train them with: ${trainCommand(missing)}`,
    );
  }
}

function withoutUndefined<T extends object>(values: T): T {
  return Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== undefined),
  ) as T;
}

if (import.meta.main) await runMain(main);
