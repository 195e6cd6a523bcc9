/**
 * `deno task setup` / `start` (scripts/jupyter.ts, scripts/common/setup.ts): the installs that
 * need root run against a stubbed apt-get; the kernel registration, MNIST and the command
 * line run for real, with Jupyter's data folder in a temporary HOME. The real parts need
 * Jupyter; SIZEWISE_SKIP_NOTEBOOKS=1 skips them.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  aptCommand,
  type CommandOutput,
  type CommandRunner,
  ensureDenoKernel,
  ensureMnist,
  ensureSystemPackages,
  SYSTEM_PACKAGES,
  systemRunner,
} from "../scripts/common/setup.ts";
import { MNIST_FILE_NAMES } from "../lib/data/mnist_files.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./assert.ts";
import { runScript } from "./cli_run.ts";

const SKIP_REAL = Deno.env.get("SIZEWISE_SKIP_NOTEBOOKS") === "1";
const SOURCE_DIR = Deno.env.get("MNIST_MIRROR") ||
  fileURLToPath(new URL("../../shared/data/mnist/", import.meta.url));
const ALL = SYSTEM_PACKAGES.map((pkg) => pkg.name);

/** A machine with some packages installed, where apt-get installs the others and records it. */
function fakeMachine(installed: string[], options: { apt?: boolean; dpkg?: boolean } = {}) {
  const present = new Set(installed);
  const aptCalls: { args: string[]; env?: Record<string, string> }[] = [];
  const captured: string[] = [];
  let failInstall = 0;
  let installDoesNothing = false;
  const ok = (success: boolean, stdout = ""): CommandOutput => ({
    success,
    code: success ? 0 : 1,
    stdout,
    stderr: success ? "" : "not installed",
  });
  const runner: CommandRunner = {
    capture(program, args) {
      captured.push([program, ...args].join(" "));
      const has = (name: string) => Promise.resolve(ok(present.has(name)));
      if (program === "jupyter") {
        const name = {
          notebook: "jupyter-notebook",
          nbconvert: "jupyter-nbconvert",
          execute: "python3-nbclient",
        }[args[0]] ?? "jupyter-client";
        return has(name);
      }
      if (program === "chromium") return has("chromium");
      if (program === "dpkg-query") {
        if (options.dpkg === false) return Promise.resolve(undefined);
        const name = args.at(-1)!;
        const status = present.has(name) ? "install ok installed" : "unknown ok not-installed";
        return Promise.resolve(ok(present.has(name), status));
      }
      if (program === "apt-get") {
        return Promise.resolve(options.apt === false ? undefined : ok(true, "apt 2.6.1"));
      }
      return Promise.resolve(undefined); // chromium-browser, google-chrome: not here
    },
    inherit(program, args, env) {
      assertEquals(program, "apt-get");
      aptCalls.push({ args, env });
      if (args[0] === "install" && failInstall !== 0) return Promise.resolve(failInstall);
      if (args[0] === "install" && !installDoesNothing) {
        for (const name of args.slice(3)) present.add(name);
      }
      return Promise.resolve(0);
    },
  };
  return {
    runner,
    aptCalls,
    captured,
    present,
    failInstallWith(code: number) {
      failInstall = code;
    },
    installDoesNothing() {
      installDoesNothing = true;
    },
  };
}

function logger() {
  const lines: string[] = [];
  return { lines, log: (line: string) => void lines.push(line) };
}

Deno.test("setup as root installs only what is missing, with one apt-get update first", async () => {
  const machine = fakeMachine(["jupyter-notebook", "jupyter-client", "python3-nbclient"]);
  const { lines, log } = logger();
  await ensureSystemPackages({ runner: machine.runner, isRoot: true, log });
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  assertEquals(machine.aptCalls, [
    { args: ["update"], env },
    {
      args: ["install", "-y", "--no-install-recommends", "jupyter-nbconvert", "chromium"]
        .concat("libopenblas0-pthread", "libdnnl2"),
      env,
    },
  ]);
  assertEquals(lines, [
    "System packages: installing jupyter-nbconvert, chromium, libopenblas0-pthread, libdnnl2 " +
    "with apt-get",
  ]);
  assertEquals([...machine.present].sort(), [...ALL].sort());
});

Deno.test("setup installs nothing when everything is there, and --quiet prints nothing", async () => {
  const machine = fakeMachine(ALL);
  const { lines, log } = logger();
  await ensureSystemPackages({ runner: machine.runner, isRoot: true, log });
  assertEquals(machine.aptCalls, []);
  assertMatch(lines.join("\n"), /^System packages: installed \(jupyter-notebook, .*chromium/);
  const quiet = logger();
  await ensureSystemPackages({ runner: machine.runner, isRoot: true, log: quiet.log, quiet: true });
  assertEquals(quiet.lines, []);
});

Deno.test("setup without root installs nothing and names the one apt command to run", async () => {
  // Jupyter missing: the notebooks cannot run, so setup fails, with the command.
  const bare = fakeMachine([
    "jupyter-client",
    "python3-nbclient",
    "libopenblas0-pthread",
    "libdnnl2",
  ]);
  await assertRejects(
    () => ensureSystemPackages({ runner: bare.runner, isRoot: false, log: () => {} }),
    Error,
    `Install them, then run "deno task setup" again:\n  ` +
      "sudo apt-get update && sudo apt-get install -y --no-install-recommends " +
      "jupyter-notebook jupyter-nbconvert chromium",
  );
  assertEquals(bare.aptCalls, []);
  // Only Chromium missing: the notebooks run, so setup goes on and prints the command.
  const noBrowser = fakeMachine(ALL.filter((name) => name !== "chromium"));
  const { lines, log } = logger();
  await ensureSystemPackages({ runner: noBrowser.runner, isRoot: false, log });
  assertEquals(noBrowser.aptCalls, []);
  assertMatch(lines.join("\n"), /chromium: for the test that renders a report page/);
  assertMatch(
    lines.join("\n"),
    /\n {2}sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium$/,
  );
});

Deno.test("setup without apt-get says what to install; without dpkg it does not ask for OpenBLAS", async () => {
  const machine = fakeMachine([], { apt: false, dpkg: false });
  const error = await assertRejects(
    () => ensureSystemPackages({ runner: machine.runner, isRoot: true, log: () => {} }),
    Error,
    "pip install notebook nbconvert nbclient",
  );
  assertMatch(error.message, /jupyter-notebook: for the notebooks/);
  assert(!error.message.includes("libopenblas0-pthread"), error.message);
  assertEquals(machine.aptCalls, []);
});

Deno.test("setup fails clearly when apt-get fails or installs nothing", async () => {
  const failing = fakeMachine([]);
  failing.failInstallWith(100);
  await assertRejects(
    () => ensureSystemPackages({ runner: failing.runner, isRoot: true, log: () => {} }),
    Error,
    `"apt-get install -y --no-install-recommends jupyter-notebook jupyter-nbconvert ` +
      `jupyter-client python3-nbclient chromium libopenblas0-pthread libdnnl2" failed with exit ` +
      `code 100`,
  );
  const hollow = fakeMachine(ALL.filter((name) => name !== "jupyter-notebook"));
  hollow.installDoesNothing();
  await assertRejects(
    () => ensureSystemPackages({ runner: hollow.runner, isRoot: true, log: () => {} }),
    Error,
    "Missing system packages:\n  jupyter-notebook: for the notebooks",
  );
  assertEquals(hollow.aptCalls.length, 2); // tried once, then gave up
});

Deno.test("aptCommand() is one line: update, then install", () => {
  assertEquals(
    aptCommand(["chromium"]),
    "apt-get update && apt-get install -y --no-install-recommends chromium",
  );
  assertEquals(
    aptCommand(["a", "b"], { sudo: true }),
    "sudo apt-get update && sudo apt-get install -y --no-install-recommends a b",
  );
});

/** A fresh HOME whose Jupyter data folder has no kernels: registration writes there. */
async function withJupyterHome(fn: (env: Record<string, string>) => Promise<void>) {
  const home = await Deno.makeTempDir({ prefix: "sizewise-home-" });
  try {
    await fn({ HOME: home, XDG_DATA_HOME: join(home, "share") });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

async function registeredKernel(env: Record<string, string>): Promise<string | undefined> {
  const output = await systemRunner(env).capture("jupyter", ["kernelspec", "list", "--json"]);
  assert(output?.success, `jupyter kernelspec list failed: ${output?.stderr}`);
  const spec = JSON.parse(output.stdout).kernelspecs.deno?.spec;
  return spec?.argv[0];
}

Deno.test({
  name:
    "setup registers this deno as the kernel, keeps it, and replaces a stale one (real Jupyter)",
  ignore: SKIP_REAL,
  async fn() {
    await withJupyterHome(async (env) => {
      const runner = systemRunner(env);
      assertEquals(await registeredKernel(env), undefined, "the HOME must start without one");
      const first = logger();
      await ensureDenoKernel({ runner, log: first.log, quiet: true });
      assertEquals(first.lines, [`Deno kernel: registering ${Deno.execPath()}`]);
      assertEquals(await Deno.realPath((await registeredKernel(env))!), Deno.execPath());

      const again = logger();
      await ensureDenoKernel({ runner, log: again.log, quiet: true });
      assertEquals(again.lines, []);

      // A kernel left by another deno (deleted since) is replaced.
      const kernelJson = join(env.XDG_DATA_HOME, "jupyter", "kernels", "deno", "kernel.json");
      const spec = JSON.parse(await Deno.readTextFile(kernelJson));
      spec.argv[0] = "/gone/deno";
      await Deno.writeTextFile(kernelJson, JSON.stringify(spec));
      const stale = logger();
      await ensureDenoKernel({ runner, log: stale.log });
      assertEquals(stale.lines, [
        `Deno kernel: registered to /gone/deno; registering ${Deno.execPath()} instead`,
      ]);
      assertEquals(await Deno.realPath((await registeredKernel(env))!), Deno.execPath());
    });
  },
});

Deno.test("setup's MNIST step fetches from MNIST_MIRROR and verifies; a second run is silent", async () => {
  const saved = Deno.env.get("MNIST_MIRROR");
  Deno.env.set("MNIST_MIRROR", SOURCE_DIR);
  const dir = await Deno.makeTempDir({ prefix: "sizewise-setup-mnist-" });
  try {
    const first = logger();
    await ensureMnist({ mnistDir: dir, log: first.log, quiet: true });
    assertEquals(first.lines, [
      ...MNIST_FILE_NAMES.map((name) => `  ${name}: fetched from ${join(SOURCE_DIR, name)}`),
      `MNIST: 4 files verified in ${dir}`,
    ]);
    const again = logger();
    await ensureMnist({ mnistDir: dir, log: again.log, quiet: true });
    assertEquals(again.lines, []);
    const loud = logger();
    await ensureMnist({ mnistDir: dir, log: loud.log });
    assertEquals(loud.lines, [`MNIST: 4 files verified in ${dir}`]);
  } finally {
    if (saved === undefined) Deno.env.delete("MNIST_MIRROR");
    else Deno.env.set("MNIST_MIRROR", saved);
    await Deno.remove(dir, { recursive: true });
  }
});

function jupyterCli(args: string[], env: Record<string, string> = {}) {
  return runScript("jupyter.ts", args, { MNIST_MIRROR: SOURCE_DIR, ...env });
}

Deno.test("jupyter.ts: --help lists the packages; a wrong command or option is refused", async () => {
  const help = await jupyterCli(["--help"]);
  assertEquals(help.code, 0, help.stderr);
  assertMatch(help.stdout, /jupyter-notebook jupyter-nbconvert jupyter-client python3-nbclient/);
  assertMatch(help.stdout, /chromium libopenblas0-pthread libdnnl2/);
  assertMatch(help.stdout, /--quiet/);
  for (
    const [args, code, message] of [
      [[], 2, /^Missing command: use "setup" or "start"/],
      [["install"], 2, /^Unknown command "install": use "setup" or "start"/],
      [["setup", "--preset", "smoke"], 2, /"setup" takes no options but --quiet/],
      [["setup", "notebook"], 2, /"setup" takes no options but --quiet/],
      [["setup", "--bogus"], 1, /Unknown option '--bogus'/],
    ] as const
  ) {
    const run = await jupyterCli([...args]);
    assertEquals(run.code, code, `${args.join(" ")}: ${run.stderr}`);
    assertMatch(run.stderr, message);
    assert(!run.stderr.includes("    at "), "a clear message, not a stack trace");
  }
});

Deno.test({
  name: "jupyter.ts setup --quiet and start run for real: kernel registered, Jupyter started",
  ignore: SKIP_REAL,
  async fn() {
    await withJupyterHome(async (env) => {
      const setup = await jupyterCli(["setup", "--quiet"], env);
      assertEquals(setup.code, 0, setup.stderr);
      // Quiet: only what changed (the kernel in this fresh HOME), no "installed" lines.
      assertMatch(setup.stdout, new RegExp(`^Deno kernel: registering ${Deno.execPath()}\n`));
      assert(!setup.stdout.includes("System packages: installed"), setup.stdout);
      assert(!setup.stdout.includes("Ready:"), setup.stdout);
      const loud = await jupyterCli(["setup"], env);
      assertEquals(loud.code, 0, loud.stderr);
      assertMatch(loud.stdout, /Deno kernel: registered \(/);
      assertMatch(loud.stdout, /MNIST: 4 files verified in /);
      assertMatch(loud.stdout, /Ready: run "deno task start"/);
      // start passes what follows "--" to Jupyter: --version makes it print and exit.
      const start = await jupyterCli(["start", "--preset", "smoke", "--", "--version"], env);
      assertEquals(start.code, 0, start.stderr);
      assertMatch(start.stdout, /Starting Jupyter Notebook on .*notebooks \(preset smoke\)/);
      assertMatch(start.stdout, /^\d+\.\d+\.\d+$/m); // Jupyter Notebook's version
    });
  },
});
