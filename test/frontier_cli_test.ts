import { assert, assertEquals, assertMatch } from "./assert.ts";
import { runScript, scriptCommand } from "./cli_run.ts";

Deno.test("search --space frontier-smoke runs the frontier in 2 workers, the sweep, then reads both back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "frontier-cli-" });
  try {
    const common = ["--", "--space", "frontier-smoke", "--preset", "smoke", "--results-dir", dir];
    const first = await runScript("search.ts", [...common, "--workers", "2"]);
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stdout, /Frontier of "frontier-smoke" \(4 candidates\) on wasm in 2 worker/);
    assertMatch(first.stdout, /chosen on validation, test reported/);
    assertMatch(first.stdout, /\| ≤ 20,000 \| [a-z0-9.-]+ \|/);
    const again = await runScript("search.ts", [...common, "--workers", "2"]);
    assertEquals(again.code, 0, again.stderr);
    assert(!again.stdout.includes("(candidates, seed"), "nothing trained again: " + again.stdout);
    const sweep = await runScript("search.ts", [...common, "--sweep", "--workers", "2"]);
    assertEquals(sweep.code, 0, sweep.stderr);
    assertMatch(sweep.stdout, /Chosen on validation: batch 32, learning rate 0\.(05|2)/);
    const recorded = JSON.parse(await Deno.readTextFile(`${dir}/recipe.json`));
    assertEquals(recorded.recipes.length, 2);
    assertEquals(recorded.recipes[0].runs.length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("frontier options are checked before any work starts", async () => {
  for (
    const [args, message] of [
      [["--space", "frontier-smoke", "--workers", "0"], /--workers takes a positive integer/],
      [["--space", "frontier", "--preset", "fast"], /Unknown preset "fast"/],
      [["--space", "huge"], /or a frontier space: frontier, frontier-tour, frontier-smoke/],
    ] as const
  ) {
    const { code, stderr } = await runScript("search.ts", [...args]);
    assertEquals(code, 1, stderr);
    assertMatch(stderr, message);
  }
});

Deno.test("a stop of the frontier process alone (SIGTERM, SIGINT) kills its workers, frees their locks and exits non-zero", async () => {
  for (const [signal, exitCode] of [["SIGTERM", 143], ["SIGINT", 130]] as const) {
    const dir = await Deno.makeTempDir({ prefix: "frontier-stop-" });
    try {
      const args = ["--", "--space", "frontier-smoke", "--preset", "smoke", "--results-dir", dir];
      const child = scriptCommand("frontier.ts", [...args, "--workers", "2"]).spawn();
      // Wait until both workers are training (each holds a lock), then stop the parent only.
      const locks = `${dir}/candidates/locks`;
      while ((await listNames(locks)).length < 2) await delay(50);
      child.kill(signal);
      const [status, stderr] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
        child.stdout.cancel(),
      ]);
      assertEquals(status.code, exitCode, stderr);
      assertMatch(stderr, new RegExp(`${signal}: stopped; run the same command to resume`));
      assertEquals(await listNames(locks), [], "the workers' locks are freed");
      const workers = await new Deno.Command("pgrep", { args: ["-f", dir] }).output();
      assertEquals(new TextDecoder().decode(workers.stdout), "", "no worker trains on");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

async function listNames(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
