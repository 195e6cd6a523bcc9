/**
 * `deno task report`: runs every notebook top to bottom with the Deno kernel, headless, one
 * at a time, and writes each as HTML into report/. Fails on the first notebook that shows an
 * error (or fewer outputs than notebooks/expected_outputs.json asks for). With --inplace the
 * executed, cleaned notebooks replace the ones in notebooks/: how committed outputs are made.
 * Usage: deno task report [--preset NAME] [--notebooks 01,03_models] [--inplace]
 */
import { basename, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { checkPresetOption, runMain, scriptArgs } from "./common/cli.ts";
import {
  cleanNotebook,
  convertToHtml,
  executeNotebook,
  type ExpectedOutputs,
  jupyterProblem,
  listNotebooks,
  notebookProblems,
  partialOutputPath,
  readExpectedOutputs,
  readNotebook,
  writeNotebook,
} from "./common/notebooks.ts";
import { DEFAULT_PRESET, defaultPreset, SETTINGS } from "../lib/common/settings.ts";
import { PRESET_NAMES } from "../lib/training/presets.ts";

const PROJECT_ROOT = resolve(fileURLToPath(new URL("../", import.meta.url)));
const NOTEBOOK_DIR = join(PROJECT_ROOT, "notebooks");
const MANIFEST = join(NOTEBOOK_DIR, "expected_outputs.json");

const HELP = `Usage: deno task report [options]

Runs the notebooks in notebooks/ (NN_*.ipynb, in order, each in a fresh Deno kernel) and
writes them as HTML into report/. Stops with exit code 1 at the first notebook that shows an
error or fewer outputs than notebooks/expected_outputs.json asks for.

Options:
  --preset NAME          training preset for the notebooks (sets ${SETTINGS.preset}):
                         ${PRESET_NAMES.join(", ")}; default: ${SETTINGS.preset}, else
                         ${DEFAULT_PRESET}
  --notebooks LIST       only these, comma-separated: file names or their number
                         prefixes (e.g. 01,03_models.ipynb)
  --inplace              also write each executed notebook back into notebooks/, cleaned
                         (no volatile metadata): commit these outputs
  --output-dir DIR       where the HTML goes (default report/)
  --cell-timeout SECONDS longest a single cell may run (default 1800)
  -h, --help             this text`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: scriptArgs(),
    options: {
      preset: { type: "string" },
      notebooks: { type: "string" },
      inplace: { type: "boolean", default: false },
      "output-dir": { type: "string" },
      "cell-timeout": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const cellTimeoutSeconds = Number(values["cell-timeout"] ?? 1800);
  if (!Number.isInteger(cellTimeoutSeconds) || cellTimeoutSeconds <= 0) {
    throw new Error(
      `--cell-timeout must be a whole number of seconds above 0, not "${values["cell-timeout"]}"`,
    );
  }
  // Every option is checked before the first notebook runs.
  checkPresetOption(values.preset);
  const problem = await jupyterProblem();
  if (problem !== undefined) throw new Error(problem);
  const notebooks = chooseNotebooks(await listNotebooks(NOTEBOOK_DIR), values.notebooks);
  const expected = await readManifest();
  const outputDir = resolve(values["output-dir"] ?? join(PROJECT_ROOT, "report"));
  const env: Record<string, string> = {};
  if (values.preset !== undefined) env[SETTINGS.preset] = values.preset;
  const preset = values.preset ?? defaultPreset();

  console.log(`Running ${notebooks.length} notebook(s), preset ${preset}:`);
  const temp = await Deno.makeTempDir({ prefix: "sizewise-report-" });
  const started = performance.now();
  try {
    for (const path of notebooks) {
      const name = basename(path);
      console.log(`  ${name}: running`);
      const executed = await executeNotebook(path, {
        outputDir: temp,
        env,
        cellTimeoutSeconds,
      }).catch(async (error) => {
        throw await keepFailedCopy(error, partialOutputPath(temp, path), outputDir);
      });
      const notebook = cleanNotebook(await readNotebook(executed.outputPath));
      const problems = notebookProblems(notebook, expected[name]);
      if (problems.length > 0) {
        const error = new Error(
          `${name} shows ${problems.length} problem(s):\n${problems.join("\n")}`,
        );
        throw await keepFailedCopy(error, executed.outputPath, outputDir);
      }
      await writeNotebook(executed.outputPath, notebook);
      const html = await convertToHtml(executed.outputPath, { outputDir });
      let line = `  ${name}: ok in ${executed.seconds.toFixed(1)} s -> ${shown(html.outputPath)}`;
      if (values.inplace) {
        await writeNotebook(path, notebook);
        line += `, outputs saved in ${shown(path)}`;
      }
      console.log(line);
    }
  } finally {
    await Deno.remove(temp, { recursive: true });
  }
  const minutes = (performance.now() - started) / 60_000;
  console.log(
    `All ${notebooks.length} notebook(s) ran without errors in ${minutes.toFixed(1)} min.`,
  );
  return 0;
}

/**
 * Moves a failed notebook's executed copy (as far as it ran) out of the temporary folder into
 * `outputDir` as `<name>.failed.ipynb`, and says where in the error; the error as it is when
 * there is no copy.
 */
async function keepFailedCopy(error: Error, copy: string, outputDir: string): Promise<Error> {
  const name = basename(copy).replace(/(\.partial)?\.ipynb$/, "");
  const kept = join(outputDir, `${name}.failed.ipynb`);
  try {
    await Deno.mkdir(outputDir, { recursive: true });
    await Deno.copyFile(copy, kept);
  } catch {
    return error;
  }
  const message = error.message.replace(
    /\nThe executed copy, as far as it ran, is kept in .*$/,
    "",
  );
  return new Error(`${message}\nIts executed copy, as far as it ran, is kept in ${shown(kept)}`);
}

/** The notebooks to run: all of them, or those `list` names (file names or number prefixes). */
function chooseNotebooks(all: string[], list: string | undefined): string[] {
  if (all.length === 0) throw new Error(`No notebooks (NN_*.ipynb) in ${NOTEBOOK_DIR}`);
  if (list === undefined) return all;
  const chosen: string[] = [];
  for (const wanted of list.split(",").map((item) => item.trim()).filter((item) => item !== "")) {
    const matches = all.filter((path) => {
      const name = basename(path);
      return name === wanted || name === `${wanted}.ipynb` || name.startsWith(`${wanted}_`);
    });
    if (matches.length !== 1) {
      const names = all.map((path) => basename(path)).join(", ");
      const why = matches.length === 0 ? "matches no notebook" : "matches several notebooks";
      throw new Error(`--notebooks: "${wanted}" ${why}; choose from ${names}`);
    }
    if (!chosen.includes(matches[0])) chosen.push(matches[0]);
  }
  return chosen.sort();
}

async function readManifest(): Promise<ExpectedOutputs> {
  try {
    await Deno.stat(MANIFEST);
  } catch {
    return {}; // no expectations: only errors are checked
  }
  return await readExpectedOutputs(MANIFEST);
}

function shown(path: string): string {
  const fromRoot = relative(PROJECT_ROOT, path);
  return fromRoot.startsWith("..") ? path : fromRoot;
}

if (import.meta.main) await runMain(main);
