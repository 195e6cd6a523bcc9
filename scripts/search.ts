/**
 * Grid search for the smallest small conv net that reaches a target accuracy, with progress;
 * stopped and started again, it resumes where it stopped.
 * Run `deno task search -- --help` for the options.
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
import { checkBackendName, initBackend } from "../lib/backend/backend.ts";
import { formatProgress } from "./common/progress.ts";
import {
  expandSearchSpace,
  SEARCH_SPACE_NAMES,
  searchBudget,
  type SearchCandidate,
  searchMinimalModel,
  searchSpaceFor,
  searchSpaceNamed,
} from "../lib/studies/search.ts";
import { formatCount, formatDuration } from "../lib/common/format.ts";
import { FRONTIER_SPACE_NAMES, isFrontierSpace } from "../lib/studies/frontier_spaces.ts";
import { frontierMain } from "./frontier.ts";
import { PRESET_NAMES, studySettings } from "../lib/training/presets.ts";
import { DEFAULT_PRESET, defaultPreset, SETTINGS } from "../lib/common/settings.ts";

const HELP = `Search for the smallest conv net that reaches a target test accuracy on MNIST.

Usage: deno task search -- [options]

Every candidate (conv + optional BatchNorm + activation, conv 3x3 + activation, global average
pooling, dense 10) trains with the same budget and seed; results are stored per candidate.

  --preset NAME         the training budget: ${PRESET_NAMES.join(", ")} (default:
                        ${SETTINGS.preset}, else ${DEFAULT_PRESET}; quick: 30,000 images x 3
                        epochs per candidate, about 5 minutes for the default space on
                        2 cores; article: hours per candidate)
  --space NAME          the candidates: ${SEARCH_SPACE_NAMES.join(", ")} (default: the
                        preset's: ${spacesByPreset()});
                        wide has 144 candidates: hours; a frontier space
                        (${FRONTIER_SPACE_NAMES.join(", ")}) runs the frontier
                        instead: see deno task frontier -- --help
  --target X            test accuracy to reach, as a fraction (default 0.95)
  --epochs N            override the budget's number of epochs
  --train-size N        override the budget's training images
  --learning-rate X     override the budget's starting learning rate
  --seed N              the one seed for weights, shuffles and data (default 0)
  --backend NAME        wasm (default) or cpu; or set SIZEWISE_BACKEND
  --retrain             train every candidate again instead of reading stored results
  --results-dir DIR     where results live (default data/results, or SIZEWISE_RESULTS);
                        candidates go to its search/ folder
  --help                show this text

Stop it at any time (Ctrl-C) and run the same command again: finished candidates are read
back and an unfinished one resumes from its last completed epoch.`;

async function main(): Promise<void | number> {
  // A frontier space is the frontier's task, with its own options (--workers, --sweep).
  const frontierSpace = spaceArgument(scriptArgs());
  if (frontierSpace !== undefined && isFrontierSpace(frontierSpace)) return await frontierMain();
  const { values } = parseArgs({
    args: scriptArgs(),
    options: {
      preset: { type: "string", default: defaultPreset() },
      space: { type: "string" },
      target: { type: "string" },
      epochs: { type: "string" },
      "train-size": { type: "string" },
      "learning-rate": { type: "string" },
      seed: { type: "string" },
      backend: { type: "string" },
      retrain: { type: "boolean", default: false },
      "results-dir": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return console.log(HELP);
  // Everything is checked before any work starts.
  const space = values.space === undefined
    ? searchSpaceFor(values.preset)
    : searchSpaceNamedOrFrontier(values.space);
  const specs = expandSearchSpace(space);
  const budget = searchBudget(values.preset, {
    overrides: {
      numEpochs: parseNumberOption("epochs", values.epochs),
      trainSize: parseNumberOption("train-size", values["train-size"]),
      learningRate: parseNumberOption("learning-rate", values["learning-rate"]),
      seed: parseNumberOption("seed", values.seed),
    },
  });
  const targetAccuracy = parseNumberOption("target", values.target) ?? 0.95;
  if (!(targetAccuracy > 0 && targetAccuracy <= 1)) {
    throw new Error(`--target is a fraction in (0, 1], e.g. 0.95; got ${targetAccuracy}`);
  }
  const resultsDir = await resultsDirOption(values["results-dir"]);
  const backend = await initBackend(
    values.backend ? checkBackendName(values.backend) : undefined,
  );
  console.log(
    `Searching ${specs.length} candidates for ${(targetAccuracy * 100).toFixed(1)}% test ` +
      `accuracy on ${backend}: each trains on ${formatCount(budget.trainSize)} images for ` +
      `${budget.numEpochs} epochs (batch ${budget.batchSize}, learning rate ` +
      `${budget.learningRate}), tested on ${formatCount(budget.testSize)}.`,
  );

  let candidateStarted = performance.now();
  let epochStarted = performance.now();
  let label = "";
  const result = await searchMinimalModel(space, budget, {
    targetAccuracy,
    retrain: values.retrain,
    resultsDir,
    onCandidateStart: (start) => {
      candidateStarted = performance.now();
      label = `[${start.index}/${start.total}] ${start.name} (${formatCount(start.params)} params)`;
    },
    onResume: (history) => {
      console.log(`${label}: resuming after epoch ${history.length}`);
    },
    onBatch: ({ epoch, batch, numBatches }) => {
      if (batch === 1) epochStarted = performance.now();
      if (batch % 50 !== 0 && batch !== numBatches) return;
      showProgressLine(
        formatProgress(batch, numBatches, {
          elapsedSeconds: (performance.now() - epochStarted) / 1000,
          label: `${label} epoch ${epoch}/${budget.numEpochs}`,
        }),
      );
    },
    onCandidateDone: (candidate: SearchCandidate) => {
      clearProgressLine();
      const how = candidate.cached
        ? "stored"
        : `trained in ${formatDuration((performance.now() - candidateStarted) / 1000)}`;
      console.log(
        `${label}: ${(candidate.accuracy * 100).toFixed(2)}% ` +
          `${candidate.passes ? "PASS" : "    "} (${how})`,
      );
    },
  });

  console.log(`\nPareto front (no candidate is both smaller and more accurate):`);
  console.log("| candidate | params | test accuracy | passes |");
  console.log("|---|--:|--:|:-:|");
  for (const candidate of result.front) {
    console.log(
      `| ${candidate.name} | ${formatCount(candidate.params)} | ` +
        `${(candidate.accuracy * 100).toFixed(2)}% | ${candidate.passes ? "yes" : "no"} |`,
    );
  }
  console.log(
    `\n${result.trained} trained, ${result.candidates.length - result.trained} read from the ` +
      `store, in ${formatDuration(result.seconds)}.`,
  );
  if (result.best) {
    console.log(
      `Smallest model reaching ${(targetAccuracy * 100).toFixed(1)}%: ${result.best.name}, ` +
        `${formatCount(result.best.params)} parameters, ` +
        `${(result.best.accuracy * 100).toFixed(2)}% test accuracy.`,
    );
  } else {
    const top = result.front[result.front.length - 1];
    console.log(
      `No candidate reached ${(targetAccuracy * 100).toFixed(1)}% on this budget (best: ` +
        `${top.name}, ${(top.accuracy * 100).toFixed(2)}%); try more epochs, more images ` +
        `or a wider space.`,
    );
  }
}

// The value of --space (or --space=NAME), read before the search's own options are parsed.
function spaceArgument(args: string[]): string | undefined {
  const at = args.indexOf("--space");
  if (at >= 0) return args[at + 1];
  return args.find((arg) => arg.startsWith("--space="))?.slice("--space=".length);
}

function searchSpaceNamedOrFrontier(name: string) {
  try {
    return searchSpaceNamed(name);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}, or a frontier space: ${FRONTIER_SPACE_NAMES.join(", ")}`,
    );
  }
}

function spacesByPreset(): string {
  return PRESET_NAMES.map((name) => `${studySettings(name).searchSpace} on ${name}`).join(", ");
}

if (import.meta.main) await runMain(main);
