/**
 * What `deno task setup` does, step by step, with the commands it runs behind one runner so a
 * test can stub the installs that need root: the system packages the notebooks and tests need
 * (apt-get as root on Debian/Ubuntu, otherwise the one command to run), the Deno kernel
 * registration, and MNIST.
 */
import { defaultMnistDir, ensureMnistFiles } from "../../lib/data/mnist_files.ts";
import { captureCommand, type CommandOutput } from "./command.ts";
import { denoKernelProgram, SETUP_COMMAND } from "./notebooks.ts";

export type { CommandOutput };

/** Runs the programs setup needs; tests replace the ones that need root. */
export interface CommandRunner {
  /** Runs `program` with its output captured; undefined when there is no such program. */
  capture(program: string, args: string[]): Promise<CommandOutput | undefined>;
  /** Runs `program` on the terminal (installs show their progress); returns the exit code. */
  inherit(program: string, args: string[], env?: Record<string, string>): Promise<number>;
}

/** A system package setup installs, and how to tell that it is there. */
export interface SystemPackage {
  /** The Debian/Ubuntu package. */
  name: string;
  /** What needs it, for the messages. */
  neededBy: string;
  /** Without it the notebooks cannot run at all: setup fails. The others are for the tests. */
  required: boolean;
  /** Commands of which one succeeding means the package is there. */
  probes: readonly (readonly string[])[];
}

const DPKG_INSTALLED = "install ok installed";

/** The system packages, in the order they are installed. */
export const SYSTEM_PACKAGES: readonly SystemPackage[] = [
  {
    name: "jupyter-notebook",
    neededBy: "the notebooks (jupyter notebook)",
    required: true,
    probes: [["jupyter", "notebook", "--version"]],
  },
  {
    name: "jupyter-nbconvert",
    neededBy: "running notebooks headless (jupyter nbconvert)",
    required: true,
    probes: [["jupyter", "nbconvert", "--version"]],
  },
  {
    name: "jupyter-client",
    neededBy: "the kernel registration (jupyter kernelspec)",
    required: true,
    probes: [["jupyter", "kernelspec", "--version"]],
  },
  {
    name: "python3-nbclient",
    neededBy: "running notebooks headless (nbclient)",
    required: true,
    // nbclient installs "jupyter execute"; a python3 on PATH may not be Jupyter's.
    probes: [["jupyter", "execute", "--version"]],
  },
  {
    name: "chromium",
    neededBy: "the test that renders a report page (test/report_render_test.ts)",
    required: false,
    probes: ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"].map(
      (browser) => [browser, "--version"],
    ),
  },
  {
    name: "libopenblas0-pthread",
    neededBy: "the native BLAS path (OpenBLAS)",
    required: false,
    // Debian's package; where there is no dpkg the check is left out (see missingPackages).
    probes: [["dpkg-query", "-W", "-f=${Status}", "libopenblas0-pthread"]],
  },
  {
    name: "libdnnl2",
    neededBy: "oneDNN's sgemm for the native path's larger products",
    required: false,
    probes: [["dpkg-query", "-W", "-f=${Status}", "libdnnl2"]],
  },
];

/** How setup runs; every field has the real default. */
export interface SetupOptions {
  /** Runs the commands (default: the system's). */
  runner?: CommandRunner;
  /** Whether this process may install system packages (default: uid 0). */
  isRoot?: boolean;
  /** Print only what changed and what is wrong, not each check that passed. */
  quiet?: boolean;
  /** Where lines go (default console.log). */
  log?: (line: string) => void;
  /** The deno binary to register as Jupyter's "deno" kernel (default: this one). */
  denoPath?: string;
  /** Where MNIST goes (default `defaultMnistDir()`, data/mnist). */
  mnistDir?: string;
  /** The packages to check (default SYSTEM_PACKAGES). */
  packages?: readonly SystemPackage[];
}

/** Runs every step of `deno task setup`: system packages, the Deno kernel, MNIST. */
export async function runSetup(options: SetupOptions = {}): Promise<void> {
  await ensureSystemPackages(options);
  await ensureDenoKernel(options);
  await ensureMnist(options);
}

/** The one apt-get command line that installs `names` (with `sudo` when not root). */
export function aptCommand(names: readonly string[], options: { sudo?: boolean } = {}): string {
  const sudo = options.sudo ? "sudo " : "";
  return `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ` +
    names.join(" ");
}

/** The packages of `packages` that are not there. */
export async function missingPackages(
  runner: CommandRunner,
  packages: readonly SystemPackage[] = SYSTEM_PACKAGES,
): Promise<SystemPackage[]> {
  const missing: SystemPackage[] = [];
  for (const pkg of packages) {
    let present = false;
    for (const [program, ...args] of pkg.probes) {
      const output = await runner.capture(program, args);
      if (program === "dpkg-query" && output === undefined) present = true; // not Debian
      else if (program === "dpkg-query") present = output!.stdout.includes(DPKG_INSTALLED);
      else present = output?.success ?? false;
      if (present) break;
    }
    if (!present) missing.push(pkg);
  }
  return missing;
}

/**
 * Installs the missing system packages as root with one `apt-get update` and one
 * `apt-get install`; otherwise prints the one command to run. Fails when a required one
 * is still missing.
 */
export async function ensureSystemPackages(options: SetupOptions = {}): Promise<void> {
  const runner = options.runner ?? systemRunner();
  const log = options.log ?? console.log;
  const packages = options.packages ?? SYSTEM_PACKAGES;
  let missing = await missingPackages(runner, packages);
  if (missing.length === 0) {
    if (!options.quiet) {
      log(`System packages: installed (${packages.map((p) => p.name).join(", ")})`);
    }
    return;
  }
  const names = missing.map((pkg) => pkg.name);
  const isRoot = options.isRoot ?? Deno.uid() === 0;
  const hasApt = (await runner.capture("apt-get", ["--version"]))?.success ?? false;
  if (isRoot && hasApt) {
    log(`System packages: installing ${names.join(", ")} with apt-get`);
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    for (const args of [["update"], ["install", "-y", "--no-install-recommends", ...names]]) {
      const code = await runner.inherit("apt-get", args, env);
      if (code !== 0) {
        throw new Error(
          `"apt-get ${args.join(" ")}" failed with exit code ${code}; fix what it printed, then ` +
            `run "${SETUP_COMMAND}" again`,
        );
      }
    }
    missing = await missingPackages(runner, missing);
    if (missing.length === 0) return;
  }
  const install = hasApt
    ? `  ${aptCommand(missing.map((pkg) => pkg.name), { sudo: !isRoot })}`
    : `  ${missing.map((pkg) => pkg.name).join(", ")} (Debian's names); for Jupyter: ` +
      "pip install notebook nbconvert nbclient";
  const why = missing.map((pkg) => `  ${pkg.name}: for ${pkg.neededBy}`).join("\n");
  const required = missing.filter((pkg) => pkg.required);
  if (required.length > 0) {
    throw new Error(
      `Missing system packages:\n${why}\nInstall them, then run "${SETUP_COMMAND}" again:\n` +
        install,
    );
  }
  log(
    `System packages: missing (the notebooks run without them; some tests need them):\n${why}\n` +
      `Install them with:\n${install}`,
  );
}

/** Registers this deno binary as the "deno" kernel unless the registered one is already it. */
export async function ensureDenoKernel(options: SetupOptions = {}): Promise<void> {
  const runner = options.runner ?? systemRunner();
  const log = options.log ?? console.log;
  const deno = options.denoPath ?? Deno.execPath();
  const registered = await registeredDenoKernel(runner);
  if (registered !== undefined && await samePath(registered, deno)) {
    if (!options.quiet) log(`Deno kernel: registered (${registered})`);
    return;
  }
  log(
    registered === undefined
      ? `Deno kernel: registering ${deno}`
      : `Deno kernel: registered to ${registered}; registering ${deno} instead`,
  );
  const install = await runner.capture(deno, ["jupyter", "--install", "--force"]);
  if (!install?.success) {
    throw new Error(
      `"${deno} jupyter --install --force" failed: ${install?.stderr.trim() ?? "no such program"}`,
    );
  }
  const now = await registeredDenoKernel(runner);
  if (now === undefined || !(await samePath(now, deno))) {
    throw new Error(
      `Cannot register the Deno kernel: after "deno jupyter --install" Jupyter's "deno" kernel ` +
        `starts ${now ?? "nothing"}, not ${deno}; check "jupyter kernelspec list" for another ` +
        `"deno" kernel that takes precedence and remove it with "jupyter kernelspec remove deno"`,
    );
  }
}

/** Fetches and verifies MNIST (from MNIST_MIRROR when set) into `mnistDir`. */
export async function ensureMnist(options: SetupOptions = {}): Promise<void> {
  const log = options.log ?? console.log;
  const dir = options.mnistDir ?? defaultMnistDir();
  const reports = await ensureMnistFiles({ dir });
  for (const report of reports) {
    for (const failure of report.failedAttempts) log(`  ${report.name}: skipped ${failure}`);
    if (report.status === "fetched") log(`  ${report.name}: fetched from ${report.source}`);
  }
  if (!options.quiet || reports.some((report) => report.status === "fetched")) {
    log(`MNIST: ${reports.length} files verified in ${dir}`);
  }
}

/** The commands as the system runs them, with `env` added to each. */
export function systemRunner(env: Record<string, string> = {}): CommandRunner {
  return {
    capture: (program, args) => captureCommand(program, args, env),
    async inherit(program, args, extra = {}) {
      const child = new Deno.Command(program, { args, env: { ...env, ...extra }, stdin: "null" });
      return (await child.spawn().status).code;
    },
  };
}

async function registeredDenoKernel(runner: CommandRunner): Promise<string | undefined> {
  const output = await runner.capture("jupyter", ["kernelspec", "list", "--json"]);
  if (!output?.success) {
    throw new Error(
      `"jupyter kernelspec list" failed: ${output?.stderr.trim() ?? "no jupyter on PATH"}`,
    );
  }
  return denoKernelProgram(output.stdout);
}

async function samePath(a: string, b: string): Promise<boolean> {
  try {
    return await Deno.realPath(a) === await Deno.realPath(b);
  } catch {
    return false; // a registered program that no longer exists is never the same
  }
}
