import { assert, assertEquals, assertMatch } from "./assert.ts";
import { runScript } from "./cli_run.ts";

Deno.test("seeds --help names the converged study: keras-cnn and pytorch, seeds 0-2, article", async () => {
  const { code, stdout } = await runScript("seeds.ts", ["--", "--help"]);
  assertEquals(code, 0);
  assertMatch(stdout, /default: keras-cnn,pytorch/);
  assertMatch(stdout, /default: 0,1,2/);
  assertMatch(stdout, /resumes from its last completed epoch/);
});

Deno.test("seeds rejects a bad seed or model before any work starts", async () => {
  for (
    const [args, message] of [
      [["--seeds", "0,-1"], /--seeds takes whole numbers from 0, e\.g\. 0,1,2; got "-1"/],
      [["--models", "tiny"], /Unknown model "tiny"/],
    ] as const
  ) {
    const { code, stderr } = await runScript("seeds.ts", [...args]);
    assertEquals(code, 1, stderr);
    assertMatch(stderr, message);
  }
});

Deno.test("seeds runs a smoke study on fixed data, then reads every run back", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const args = ["--preset", "smoke", "--models", "small-net", "--seeds", "0,1"];
    const first = await runScript("seeds.ts", [...args, "--results-dir", resultsDir]);
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stdout, /2\/2 small-net seed 1/);
    assertMatch(first.stdout, /\| small-net \| 2 \| .* \| 10,000 \|/);
    const again = await runScript("seeds.ts", [...args, "--results-dir", resultsDir]);
    assertEquals(again.code, 0, again.stderr);
    assert(!again.stdout.includes("epoch 1:"), "nothing trained the second time");
    assertEquals(again.stdout.match(/stored:/g)?.length, 2);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});
