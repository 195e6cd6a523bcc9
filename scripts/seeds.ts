/**
 * `deno task seeds`: the seed study on the fixed data (same training images, all 10,000 test
 * images), by default the converged one: keras-cnn and pytorch, seeds 0-2, the article's full
 * schedule (hours per run on a CPU). Stop it at any time: started again, finished runs are read
 * back and the current one resumes from its last completed epoch.
 */
import { parseArgs } from "node:util";
import { runMain, scriptArgs } from "./common/cli.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { checkModelName, MODEL_NAMES } from "../lib/models/registry.ts";
import { PRESET_NAMES } from "../lib/training/presets.ts";
import { REPRODUCTION_DIR } from "../lib/studies/reproduction.ts";
import { CONVERGED_SEED_STUDY, formatSeedIntervals, runSeedStudy } from "../lib/studies/seeds.ts";

const HELP = `The seed study on fixed data: only the model's seed changes between runs.

Usage: deno task seeds -- [options]

  --models LIST       comma-separated, from: ${MODEL_NAMES.join(", ")}
                      (default: ${CONVERGED_SEED_STUDY.models.join(",")})
  --seeds LIST        comma-separated (default: ${CONVERGED_SEED_STUDY.seeds.join(",")})
  --preset NAME       ${PRESET_NAMES.join(", ")} (default: ${CONVERGED_SEED_STUDY.preset}, the full
                      schedule: hours per run; smoke runs the same path in seconds)
  --results-dir DIR   default data/reproduction, where seed 0 is the reproduction's own run
  --help

Stop it at any time (Ctrl-C) and run the same command again: finished runs are read back and
an unfinished one resumes from its last completed epoch. Notebook 9 reads what is stored.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: scriptArgs(),
    options: {
      models: { type: "string" },
      seeds: { type: "string" },
      preset: { type: "string", default: CONVERGED_SEED_STUDY.preset },
      "results-dir": { type: "string", default: REPRODUCTION_DIR },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return console.log(HELP);
  const models = values.models?.split(",").map(checkModelName) ?? [...CONVERGED_SEED_STUDY.models];
  const seeds = values.seeds === undefined
    ? [...CONVERGED_SEED_STUDY.seeds]
    : parseSeeds(values.seeds);
  const backend = await initBackend();
  console.log(`Seed study on ${backend}, preset ${values.preset}, fixed data.`);
  const study = await runSeedStudy(models, seeds, {
    preset: values.preset,
    resultsDir: values["results-dir"],
    onRunStart: ({ model, seed, index, total }) => {
      console.log(`${index}/${total} ${model} seed ${seed}`);
    },
    onEpoch: (metrics) => {
      console.log(
        `  epoch ${metrics.epoch}: test accuracy ${(metrics.testAccuracy * 100).toFixed(2)}%`,
      );
    },
    onRunDone: (run) => {
      console.log(
        `  ${run.cached ? "stored" : "done"}: ${(run.accuracy * 100).toFixed(2)}%`,
      );
    },
  });
  console.log(`\n${formatSeedIntervals(study.spreads)}`);
}

// "0,1,2" as seeds: whole numbers from 0.
function parseSeeds(text: string): number[] {
  return text.split(",").map((part) => {
    const value = Number(part);
    if (part.trim() === "" || !Number.isInteger(value) || value < 0) {
      throw new Error(`--seeds takes whole numbers from 0, e.g. 0,1,2; got "${part}"`);
    }
    return value;
  });
}

await runMain(main);
