/**
 * `deno task setup` and `deno task start`: gets Jupyter and the Deno kernel ready, fetches
 * MNIST, and (start) opens Jupyter Notebook on notebooks/.
 * Usage: deno run … scripts/jupyter.ts <setup|start> [--preset NAME] [-- JUPYTER OPTIONS]
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { checkPresetOption, runMain, scriptArgs } from "./common/cli.ts";
import { defaultMnistDir } from "../lib/data/mnist_files.ts";
import { runSetup, SYSTEM_PACKAGES } from "./common/setup.ts";
import { defaultPreset, SETTINGS } from "../lib/common/settings.ts";

const PROJECT_ROOT = resolve(fileURLToPath(new URL("../", import.meta.url)));
const NOTEBOOK_DIR = join(PROJECT_ROOT, "notebooks");
const HELP = `Usage: deno task setup
       deno task start [--preset NAME] [-- OPTIONS FOR JUPYTER]

setup  makes the notebooks and the tests runnable, then exits:
         1. installs what is missing of Debian's packages
              ${SYSTEM_PACKAGES.map((p) => p.name).join(" ")}
            (Jupyter for the notebooks; Chromium and OpenBLAS for some tests) with one
            "apt-get update" and one "apt-get install" when run as root; otherwise prints
            the one command to run (and fails only when Jupyter is missing),
         2. registers this Deno (${Deno.execPath()}) as Jupyter's "deno" kernel,
            again whenever the registered kernel is another deno binary,
         3. fetches and verifies MNIST into ${defaultMnistDir()} (like "deno task data").
start  does the same, then starts Jupyter Notebook on ${NOTEBOOK_DIR}, listening on
       127.0.0.1 only, with token authentication: open the URL with "?token=" it prints.
       Ctrl-C twice stops it.

Options:
  --preset NAME   training preset the notebooks use (SIZEWISE_PRESET): article, quick
                  (the notebooks' default) or smoke
  --quiet         print only what changes or is wrong ("deno task test" runs "setup --quiet")
  -h, --help      this text
Anything after "--" goes to "jupyter notebook" (e.g. -- --port=8899).`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: scriptArgs(Deno.args, { subcommand: true }),
    options: {
      preset: { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [command, ...jupyterArgs] = positionals;
  if (command !== "setup" && command !== "start") {
    console.error(
      command === undefined
        ? `Missing command: use "setup" or "start"\n\n${HELP}`
        : `Unknown command "${command}": use "setup" or "start"\n\n${HELP}`,
    );
    return 2;
  }
  if (command === "setup" && (jupyterArgs.length > 0 || values.preset !== undefined)) {
    console.error(`"setup" takes no options but --quiet; did you mean "start"?`);
    return 2;
  }
  checkPresetOption(values.preset);
  await runSetup({ quiet: values.quiet });
  if (command === "setup") {
    if (!values.quiet) console.log(`Ready: run "deno task start" to open the notebooks.`);
    return 0;
  }
  return await startNotebook({ preset: values.preset, jupyterArgs });
}

interface StartOptions {
  preset?: string;
  jupyterArgs: string[];
}

/** Runs Jupyter Notebook in the foreground; it prints its URL (with the token) itself. */
async function startNotebook(options: StartOptions): Promise<number> {
  try {
    await Deno.stat(NOTEBOOK_DIR);
  } catch {
    throw new Error(
      `Cannot start: ${NOTEBOOK_DIR} is missing; restore it with "git checkout notebooks"`,
    );
  }
  // Token authentication stays on: anyone who can reach the port could run code otherwise.
  const args = ["notebook", "--ip=127.0.0.1", "--no-browser", `--notebook-dir=${NOTEBOOK_DIR}`];
  if (isRoot()) args.push("--allow-root"); // Notebook refuses to run as root without it
  args.push(...options.jupyterArgs);
  const env: Record<string, string> = {};
  if (options.preset !== undefined) env[SETTINGS.preset] = options.preset;
  const preset = options.preset ?? defaultPreset();
  console.log(
    `Starting Jupyter Notebook on ${NOTEBOOK_DIR} (preset ${preset}); open the URL with ` +
      `"?token=" that it prints below. Ctrl-C twice stops it.`,
  );
  // Jupyter handles Ctrl-C itself (it asks to confirm); this process waits for it to finish.
  const ignore = () => {};
  Deno.addSignalListener("SIGINT", ignore);
  try {
    const child = new Deno.Command("jupyter", { args, env, stdin: "inherit" }).spawn();
    return (await child.status).code;
  } finally {
    Deno.removeSignalListener("SIGINT", ignore);
  }
}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

// Ctrl-C goes to Jupyter, which asks before it stops: no stop handler of our own.
if (import.meta.main) await runMain(main, { handleStops: false });
