/**
 * The size-accuracy frontier: trains every candidate of a frontier space in worker processes,
 * chooses the best per size band on validation accuracy, trains those with more seeds, and
 * prints the frontier table; stopped and started again, it resumes. `--sweep` runs the recipe
 * sweep instead. Run `deno task frontier -- --help` for the options.
 */
import { parseArgs } from "node:util";
import {
  clearProgressLine,
  runMain,
  scriptArgs,
  showProgressLine,
  takeOverStops,
} from "./common/cli.ts";
import { checkBackendName, initBackend } from "../lib/backend/backend.ts";
import { PRESET_NAMES, studySettings } from "../lib/training/presets.ts";
import { FRONTIER_DIR, frontierBudget, frontierSpaceFor } from "../lib/studies/frontier.ts";
import { FRONTIER_SPACE_NAMES } from "../lib/studies/frontier_spaces.ts";
import {
  defaultWorkers,
  formatPoolProgress,
  type JobState,
  type PoolProgress,
} from "../lib/studies/frontier_pool.ts";
import { formatFrontierTable } from "../lib/studies/frontier_report.ts";
import { RECIPE_FILE, runFrontier, runRecipeSweep } from "../lib/studies/frontier_run.ts";
import { formatCount } from "../lib/common/format.ts";
import { SETTINGS } from "../lib/common/settings.ts";

const HELP = `Train the size-accuracy frontier of MNIST conv nets (issue 13).

Usage: deno task frontier -- [options]
       deno task search -- --space frontier [options]   (the same)

Every candidate trains on one budget (the preset's frontier budget: on article, 55,000
training images, 5,000 held out for validation, all 10,000 test images, one recipe); the best
candidate of each size band is chosen on validation accuracy and trained with more seeds;
test accuracy is reported, never used to choose. The Small Net readings also train on the
article's schedule.

  --preset NAME       ${PRESET_NAMES.join(", ")} (default: article, the full budget; smoke
                      trains a few hundred images in seconds)
  --space NAME        ${FRONTIER_SPACE_NAMES.join(", ")} (default: the preset's)
  --workers N         worker processes at once (default: one per core, ${defaultWorkers()} here)
  --sweep             run the recipe sweep instead: the preset's sweep recipes on its sweep
                      candidates, chosen on validation, recorded in ${RECIPE_FILE}
  --results-dir DIR   where runs are stored (default data/frontier, committed)
  --backend NAME      wasm (default) or cpu; or set SIZEWISE_BACKEND
  --help              show this text

Stop it at any time (Ctrl-C) and run the same command again: finished runs are read back and
unfinished ones resume from their last completed epoch. Two runs may share a results folder:
each run is locked while one process trains it.`;

async function main(): Promise<void | number> {
  const { values } = parseArgs({
    args: scriptArgs(),
    options: {
      preset: { type: "string", default: "article" },
      space: { type: "string" },
      workers: { type: "string" },
      sweep: { type: "boolean", default: false },
      "results-dir": { type: "string" },
      backend: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return console.log(HELP);
  // Everything is checked before any work starts.
  const space = frontierSpaceFor(values.preset, values.space);
  const budget = frontierBudget(values.preset);
  const workers = values.workers === undefined ? defaultWorkers() : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    throw new Error(`--workers takes a positive integer, got "${values.workers}"`);
  }
  const resultsDir = values["results-dir"] ?? FRONTIER_DIR;
  const backend = await initBackend(
    values.backend ? checkBackendName(values.backend) : undefined,
  );
  if (values.backend) Deno.env.set(SETTINGS.backend, backend); // the workers read it
  const settings = studySettings(values.preset).frontier;
  console.log(
    `${values.sweep ? "Recipe sweep" : "Frontier"} of "${space.name}" (${
      values.sweep ? settings.sweep.candidates.length : space.candidates.length
    } candidates) on ${backend} in ${workers} worker processes, stored in ${resultsDir}: each ` +
      `trains on ${formatCount(budget.trainSize)} images (validation ${
        formatCount(budget.validationSize ?? 0)
      }, test ${formatCount(budget.testSize)}) for ${budget.numEpochs} epochs at batch ` +
      `${budget.batchSize}, learning rate ${budget.learningRate}.`,
  );
  // The stop is handled here, not by runMain's exit: the pool must kill its workers and free
  // their locks first, or they train on, orphaned (pkill, a CI timeout: signals to this
  // process alone).
  const controller = new AbortController();
  let stoppedBy: Deno.Signal | undefined;
  takeOverStops();
  const stops = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const stop = () => {
      clearProgressLine();
      console.log(`${signal}: stopping the workers; their last completed epochs are kept.`);
      stoppedBy = signal;
      controller.abort();
    };
    Deno.addSignalListener(signal, stop);
    return [signal, stop] as const;
  });
  const reported = new Set<JobState>();
  const onProgress = (progress: PoolProgress, phase: string) => {
    for (const state of progress.jobs) {
      if (state.status !== "done" || reported.has(state)) continue;
      reported.add(state);
      if (state.cached && progress.elapsedSeconds < 5) continue; // read back: quiet
      clearProgressLine();
      console.log(
        `${state.job.candidate} (${state.job.stage}, seed ${state.job.config.seed}): ` +
          `validation ${percent(state.validationAccuracy)}, test ${percent(state.testAccuracy)}` +
          `${state.cached ? " (stored)" : ""}; ${phase}: ${formatPoolProgress(progress)}`,
      );
    }
    showProgressLine(`${phase}: ${formatPoolProgress(progress)}`);
  };
  try {
    const options = {
      preset: values.preset,
      space: space.name,
      resultsDir,
      workers,
      signal: controller.signal,
      onProgress,
    };
    if (values.sweep) {
      const sweep = await runRecipeSweep(options);
      clearProgressLine();
      console.log("\n| recipe | mean validation accuracy | per candidate |\n|---|--:|---|");
      for (const r of sweep.recipes) {
        console.log(
          `| batch ${r.recipe.batchSize}, lr ${r.recipe.learningRate}, ${r.recipe.numEpochs} ` +
            `epochs | ${percent(r.meanValidationAccuracy)} | ${
              r.runs.map((run) =>
                `${run.candidate} ${
                  percent(run.validationAccuracy)
                } (settled at epoch ${run.settledEpoch})`
              ).join(", ")
            } |`,
        );
      }
      console.log(
        `\nChosen on validation: batch ${sweep.chosen.batchSize}, learning rate ` +
          `${sweep.chosen.learningRate}; recorded in ${resultsDir}/${RECIPE_FILE}. ` +
          (sweep.presetUsesChosen
            ? "The preset's frontier budget already uses it."
            : "The preset's frontier budget does not: put it in lib/training/presets.ts " +
              "(FRONTIER_BUDGET) before running the frontier."),
      );
      return;
    }
    const report = await runFrontier(options);
    clearProgressLine();
    console.log(`\nThe frontier (chosen on validation, test reported):\n`);
    console.log(formatFrontierTable(report.bands));
    if (report.readings.length > 0) {
      console.log("\nThe Small Net readings (test accuracy):");
      for (const r of report.readings) {
        console.log(
          `- ${r.name} (${formatCount(r.params)} params): frontier budget ` +
            `${percent(r.frontier?.testAccuracy)}, article's schedule ` +
            `${percent(r.articleScheduleTestAccuracy)}`,
        );
      }
    }
  } catch (error) {
    if (stoppedBy === undefined) throw error;
    console.error(`${stoppedBy}: stopped; run the same command to resume.`);
    return stoppedBy === "SIGINT" ? 130 : 143;
  } finally {
    for (const [signal, stop] of stops) Deno.removeSignalListener(signal, stop);
  }
}

function percent(value: number | undefined): string {
  return value === undefined ? "-" : `${(value * 100).toFixed(2)}%`;
}

if (import.meta.main) await runMain(main);

export { main as frontierMain };
