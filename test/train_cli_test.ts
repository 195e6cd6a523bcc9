import { assert, assertEquals, assertMatch } from "./assert.ts";

const script = new URL("../scripts/train.ts", import.meta.url).pathname;

async function runCli(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-net",
      "--allow-run",
      script,
      ...args,
    ],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("train --help lists the models and presets, also after deno task's '--'", async () => {
  const { code, stdout } = await runCli(["--", "--help"]);
  assertEquals(code, 0);
  assertMatch(stdout, /keras-mlp, keras-cnn, pytorch, pytorch-gap, small-net/);
  assertMatch(stdout, /article, quick, smoke/);
});

Deno.test("train rejects an unknown model, listing the known ones", async () => {
  const { code, stderr } = await runCli(["--model", "vgg"]);
  assertEquals(code, 1);
  assertMatch(stderr, /Unknown model "vgg"; choose one of: keras-mlp/);
});

Deno.test("train rejects nonsense settings before any work starts", async () => {
  for (
    const [args, message] of [
      [["--batch-size", "0"], /batchSize must be a positive integer, got 0/],
      [["--epochs=-2"], /numEpochs must be a positive integer/],
      [["--train-size", "70000"], /trainSize 70000 is larger than the 60000/],
      [["--preset", "huge"], /Unknown preset "huge"/],
      [["--epochs", "many"], /--epochs must be a number, got "many"/],
      [["--backend", "gpu"], /Unknown backend "gpu"/],
    ] as const
  ) {
    const { code, stderr } = await runCli(["--model", "small-net", ...args]);
    assertEquals(code, 1, stderr);
    assertMatch(stderr, message);
    assert(!stderr.includes("    at "), "a clear message, not a stack trace");
  }
});

Deno.test("train runs a smoke preset end to end and then reuses the stored result", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const args = ["--model", "pytorch-gap", "--preset", "smoke", "--results-dir", resultsDir];
    const first = await runCli(args);
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stdout, /\*\*7,090\*\*/); // the summary's total
    assertMatch(first.stdout, /epoch 1\/1: train loss [\d.]+, test loss [\d.]+, test accuracy/);
    assertMatch(first.stdout, /memory, batch 16 +[\d.]+ MB/);
    const second = await runCli(args);
    assertEquals(second.code, 0, second.stderr);
    assertMatch(second.stdout, /Stored result pytorch-gap_wasm_\w+ reused/);
    assert(!second.stdout.includes("epoch 1/1:"), "the second run must not train again");
    // It prints the stored run's figures, the same as the first run printed.
    const accuracy = (stdout: string) => stdout.match(/^ {2}test accuracy .*$/m)?.[0];
    assert(accuracy(first.stdout) !== undefined, first.stdout);
    assertEquals(accuracy(second.stdout), accuracy(first.stdout));
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});
