import { assert, assertEquals, assertMatch } from "./assert.ts";
import { runScript } from "./cli_run.ts";

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
