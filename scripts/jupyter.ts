/**
 * `deno task setup` and `deno task start`: gets Jupyter and the Deno kernel ready, fetches
 * MNIST, and (start) opens Jupyter Notebook on notebooks/.
 * Usage: deno run … scripts/jupyter.ts <setup|start> [--preset NAME] [-- JUPYTER OPTIONS]
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { checkPresetOption, runMain, scriptArgs } from "./common/cli.ts";
import { defaultMnistDir, ensureMnistFiles } from "../lib/data/mnist_files.ts";
import { denoKernelProgram, SETUP_COMMAND } from "./common/notebooks.ts";

const PROJECT_ROOT = resolve(fileURLToPath(new URL("../", import.meta.url)));
const NOTEBOOK_DIR = join(PROJECT_ROOT, "notebooks");
const APT_PACKAGES = [
  "jupyter-notebook",
  "jupyter-nbconvert",
  "jupyter-client",
  "python3-nbclient",
];
// Each Jupyter command the project uses, with the package that provides it on Debian.
const JUPYTER_COMMANDS = [
  ["notebook", "jupyter-notebook"],
  ["nbconvert", "jupyter-nbconvert"],
  ["kernelspec", "jupyter-client"],
] as const;

const HELP = `Usage: deno task setup
       deno task start [--preset NAME] [-- OPTIONS FOR JUPYTER]

setup  makes the notebooks runnable, then exits:
         1. installs Jupyter when it is missing (with apt-get when run as root on
            Debian/Ubuntu; otherwise says how to install it),
         2. registers this Deno (${Deno.execPath()}) as Jupyter's "deno" kernel,
            again whenever the registered kernel is another deno binary,
         3. fetches and verifies MNIST into ${defaultMnistDir()} (like "deno task data").
start  does the same, then starts Jupyter Notebook on ${NOTEBOOK_DIR}, listening on
       127.0.0.1 only, with token authentication: open the URL with "?token=" it prints.
       Ctrl-C twice stops it.

Options:
  --preset NAME   training preset the notebooks use (SIZEWISE_PRESET): article, quick
                  (the notebooks' default) or smoke
  -h, --help      this text
Anything after "--" goes to "jupyter notebook" (e.g. -- --port=8899).`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: scriptArgs(Deno.args, { subcommand: true }),
    options: {
      preset: { type: "string" },
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
    console.error(`"setup" takes no options; did you mean "start"?`);
    return 2;
  }
  checkPresetOption(values.preset);
  await ensureJupyter();
  await ensureDenoKernel();
  await ensureMnist();
  if (command === "setup") {
    console.log(`Ready: run "deno task start" to open the notebooks.`);
    return 0;
  }
  return await startNotebook({ preset: values.preset, jupyterArgs });
}

/** Makes sure `jupyter notebook`, `nbconvert` and `kernelspec` run; installs them as root with apt-get. */
async function ensureJupyter(): Promise<void> {
  let missing = await missingJupyterCommands();
  if (missing.length === 0) {
    console.log("Jupyter: installed");
    return;
  }
  const commands = missing.map((command) => `"jupyter ${command}"`).join(", ");
  if (isRoot() && await runs("apt-get", ["--version"])) {
    console.log(`Jupyter: ${commands} missing; installing with apt-get`);
    await runOrThrow("apt-get", ["update"]);
    await runOrThrow("apt-get", ["install", "-y", "--no-install-recommends", ...APT_PACKAGES]);
    missing = await missingJupyterCommands();
    if (missing.length === 0) return;
  }
  throw new Error(
    `Jupyter is not installed: ${commands} not found. Install it, then run "${SETUP_COMMAND}" ` +
      `again:\n` +
      `  Debian/Ubuntu: sudo apt-get install --no-install-recommends ${APT_PACKAGES.join(" ")}\n` +
      `  elsewhere:     pip install notebook   (or: pipx install notebook; conda install notebook)`,
  );
}

async function missingJupyterCommands(): Promise<string[]> {
  const missing: string[] = [];
  for (const [command] of JUPYTER_COMMANDS) {
    if (!(await runs("jupyter", [command, "--version"]))) missing.push(command);
  }
  return missing;
}

/** Registers this deno binary as the "deno" kernel unless the registered one is already it. */
async function ensureDenoKernel(): Promise<void> {
  const deno = Deno.execPath();
  const registered = await registeredDenoKernel();
  if (registered !== undefined && await samePath(registered, deno)) {
    console.log(`Deno kernel: registered (${registered})`);
    return;
  }
  console.log(
    registered === undefined
      ? `Deno kernel: registering ${deno}`
      : `Deno kernel: registered to ${registered}; registering ${deno} instead`,
  );
  await runOrThrow(deno, ["jupyter", "--install", "--force"]);
  const now = await registeredDenoKernel();
  if (now === undefined || !(await samePath(now, deno))) {
    throw new Error(
      `Cannot register the Deno kernel: after "deno jupyter --install" Jupyter's "deno" kernel ` +
        `starts ${now ?? "nothing"}, not ${deno}; check "jupyter kernelspec list" for another ` +
        `"deno" kernel that takes precedence and remove it with "jupyter kernelspec remove deno"`,
    );
  }
}

async function registeredDenoKernel(): Promise<string | undefined> {
  const output = await new Deno.Command("jupyter", {
    args: ["kernelspec", "list", "--json"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `"jupyter kernelspec list" failed: ${new TextDecoder().decode(output.stderr).trim()}`,
    );
  }
  return denoKernelProgram(new TextDecoder().decode(output.stdout));
}

async function ensureMnist(): Promise<void> {
  const reports = await ensureMnistFiles();
  for (const report of reports) {
    for (const failure of report.failedAttempts) {
      console.log(`  ${report.name}: skipped ${failure}`);
    }
    if (report.status === "fetched") console.log(`  ${report.name}: fetched from ${report.source}`);
  }
  console.log(`MNIST: ${reports.length} files verified in ${defaultMnistDir()}`);
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
  if (options.preset !== undefined) env.SIZEWISE_PRESET = options.preset;
  const preset = options.preset ?? Deno.env.get("SIZEWISE_PRESET") ?? "quick";
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

async function samePath(a: string, b: string): Promise<boolean> {
  try {
    return await Deno.realPath(a) === await Deno.realPath(b);
  } catch {
    return false; // a registered program that no longer exists is never the same
  }
}

async function runs(program: string, args: string[]): Promise<boolean> {
  try {
    const output = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return output.success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function runOrThrow(program: string, args: string[]): Promise<void> {
  const status = await new Deno.Command(program, { args, stdin: "null" }).spawn().status;
  if (!status.success) {
    throw new Error(`"${program} ${args.join(" ")}" failed with exit code ${status.code}`);
  }
}

// Ctrl-C goes to Jupyter, which asks before it stops: no stop handler of our own.
if (import.meta.main) await runMain(main, { handleStops: false });
