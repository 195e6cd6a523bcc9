import { assert, assertEquals, assertMatch } from "./assert.ts";
import { runScript } from "./cli_run.ts";

Deno.test("search --help lists the presets and spaces, also after deno task's '--'", async () => {
  const { code, stdout } = await runScript("search.ts", ["--", "--help"]);
  assertEquals(code, 0);
  assertMatch(stdout, /article, quick, smoke/);
  assertMatch(stdout, /smoke, tour, default, wide/);
});

Deno.test("search rejects a bad space, preset or target before any work starts", async () => {
  for (
    const [args, message] of [
      [["--space", "huge"], /Unknown search space "huge"; choose one of: smoke, tour/],
      [["--preset", "fast"], /Unknown preset "fast"/],
      [["--target", "95"], /--target is a fraction in \(0, 1\], e\.g\. 0\.95; got 95/],
      [["--epochs", "0"], /numEpochs must be a positive integer, got 0/],
    ] as const
  ) {
    const { code, stderr } = await runScript("search.ts", [...args]);
    assertEquals(code, 1, stderr);
    assertMatch(stderr, message);
    assert(!stderr.includes("    at "), "a clear message, not a stack trace");
  }
});

Deno.test("search runs the smoke space end to end, then reads every candidate back", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const args = ["--preset", "smoke", "--results-dir", resultsDir];
    const first = await runScript("search.ts", args);
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stdout, /Searching 3 candidates/);
    assertMatch(first.stdout, /\[3\/3\] conv4x3-bn-conv4-leakyRelu \(246 params\): [\d.]+%/);
    assertMatch(first.stdout, /Pareto front/);
    assertMatch(first.stdout, /3 trained, 0 read from the store/);
    const again = await runScript("search.ts", args);
    assertEquals(again.code, 0, again.stderr);
    assertMatch(again.stdout, /0 trained, 3 read from the store/);
    assertEquals((again.stdout.match(/\(stored\)/g) ?? []).length, 3);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});
