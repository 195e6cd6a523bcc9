import { assert, assertEquals, assertMatch } from "./assert.ts";
import { runScript } from "./cli_run.ts";

Deno.test("compare --help lists the presets and models", async () => {
  const { code, stdout } = await runScript("compare.ts", ["--", "--help"]);
  assertEquals(code, 0);
  assertMatch(stdout, /Usage: deno task compare/);
  assertMatch(stdout, /one of: article, quick, smoke/);
  assertMatch(stdout, /from: keras-mlp, keras-cnn, pytorch, pytorch-gap, small-net/);
});

Deno.test("compare rejects nonsense before any work, in one line", async () => {
  for (
    const [args, message] of [
      [["--models", "small-net,vgg"], /Unknown model "vgg"; choose one of: keras-mlp/],
      [["--preset", "huge"], /Unknown preset "huge"/],
      [["--memory-batch", "16,0"], /--memory-batch takes positive integers, got "0"/],
      [["--model", "small-net"], /Unknown option '--model'/],
    ] as const
  ) {
    const { code, stdout, stderr } = await runScript("compare.ts", [...args]);
    assertEquals(code, 1, stderr);
    assertMatch(stderr, message);
    assert(!stderr.includes("    at "), "a clear message, not a stack trace");
    assertEquals(stdout, "", "nothing ran");
  }
});

Deno.test("compare trains two models on the smoke preset, prints the table, then reuses them", async () => {
  const resultsDir = await Deno.makeTempDir({ prefix: "sizewise-compare-" });
  try {
    const args = ["--preset", "smoke", "--models", "pytorch-gap,small-net"];
    const env = { SIZEWISE_RESULTS: resultsDir };
    const first = await runScript("compare.ts", args, env);
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stdout, /^Preset "smoke" on wasm: 512 training images, \d+ test images$/m);
    assertMatch(first.stdout, /^pytorch-gap +[\d.]+% \(trained in \d+ s\)$/m);
    assertMatch(first.stdout, /^small-net +[\d.]+% \(trained in \d+ s\)$/m);
    assertMatch(first.stdout, /\| pytorch-gap \|.*\|\n\| small-net \|/); // one table row each
    assertMatch(first.stdout, /7,090/); // pytorch-gap's parameters
    const second = await runScript("compare.ts", args, env);
    assertEquals(second.code, 0, second.stderr);
    assertMatch(second.stdout, /^pytorch-gap +[\d.]+% \(stored result\)$/m);
    assertMatch(second.stdout, /^small-net +[\d.]+% \(stored result\)$/m);
    const table = (stdout: string) => stdout.slice(stdout.indexOf("\n|"));
    assertEquals(table(second.stdout), table(first.stdout));
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});
