import { assertEquals, assertMatch } from "./assert.ts";
import { runScript } from "./cli_run.ts";

Deno.test("reproduce runs the whole path on the smoke preset and skips finished models after", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const args = [
      "--preset",
      "smoke",
      "--models",
      "small-net,pytorch-gap",
      "--memory-batch",
      "16",
      "--results-dir",
      resultsDir,
    ];
    const first = await runScript("reproduce.ts", args);
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stdout, /small-net: training on wasm, 1 epochs/);
    assertMatch(first.stdout, /\| pytorch-gap \| 7,090 \|/);
    assertMatch(first.stdout, /Ours \/ the article.s:\n\n\| model \| test accuracy/);
    const second = await runScript("reproduce.ts", args);
    assertMatch(second.stdout, /small-net: done \([\d.]+%\)\npytorch-gap: done/);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("reproduce rejects an unknown model before any work", async () => {
  const { code, stderr } = await runScript("reproduce.ts", ["--models", "small-net,lenet"]);
  assertEquals(code, 1);
  assertMatch(stderr, /Unknown model "lenet"/);
});

Deno.test("reproduce rejects an unknown option in one line, without a stack trace", async () => {
  const { code, stdout, stderr } = await runScript("reproduce.ts", ["--", "--bogus"]);
  assertEquals(code, 1);
  assertEquals(
    stderr.trim(),
    "Error: Unknown option '--bogus'; see --help for the options",
  );
  assertEquals(stdout, "");
});
