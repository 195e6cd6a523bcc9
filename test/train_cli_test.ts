import { assert, assertEquals, assertMatch } from "./assert.ts";
import { runScript, scriptCommand } from "./cli_run.ts";

Deno.test("train --help lists the models and presets, also after deno task's '--'", async () => {
  const { code, stdout } = await runScript("train.ts", ["--", "--help"]);
  assertEquals(code, 0);
  assertMatch(stdout, /keras-mlp, keras-cnn, pytorch, pytorch-gap, small-net/);
  assertMatch(stdout, /article, quick, smoke/);
});

Deno.test("train rejects an unknown model, listing the known ones", async () => {
  const { code, stderr } = await runScript("train.ts", ["--model", "vgg"]);
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
    const { code, stderr } = await runScript("train.ts", ["--model", "small-net", ...args]);
    assertEquals(code, 1, stderr);
    assertMatch(stderr, message);
    assert(!stderr.includes("    at "), "a clear message, not a stack trace");
  }
});

Deno.test("train runs a smoke preset end to end and then reuses the stored result", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const args = ["--model", "pytorch-gap", "--preset", "smoke", "--results-dir", resultsDir];
    const first = await runScript("train.ts", args);
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stdout, /\*\*7,090\*\*/); // the summary's total
    assertMatch(first.stdout, /epoch 1\/1: train loss [\d.]+, test loss [\d.]+, test accuracy/);
    assertMatch(first.stdout, /memory, batch 16 +[\d.]+ MB/);
    const second = await runScript("train.ts", args);
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

Deno.test("train --workers 2 for a model with batch norm is refused before the summary", async () => {
  const { code, stdout, stderr } = await runScript("train.ts", [
    "--model",
    "small-net",
    "--workers",
    "2",
  ]);
  assertEquals(code, 1, stderr);
  assertMatch(
    stderr,
    /^Error: --workers 2 cannot train small-net: its batch norm needs whole batches/,
  );
  assertEquals(stdout, "", "nothing printed before the refusal (no summary)");
});

Deno.test("train names the results folder and where it came from when it cannot be used", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/a-file`;
    await Deno.writeTextFile(file, "");
    const flag = await runScript("train.ts", [
      "--model",
      "small-net",
      "--preset",
      "smoke",
      "--results-dir",
      file,
    ]);
    assertEquals(flag.code, 1);
    assertEquals(
      flag.stderr.trim(),
      `Error: The results folder ${file} (from --results-dir) cannot be used: it is a file, ` +
        `not a folder; give another folder with --results-dir`,
    );
    const env = await runScript("train.ts", ["--model", "small-net", "--preset", "smoke"], {
      SIZEWISE_RESULTS: `${file}/inside`,
    });
    assertEquals(env.code, 1);
    assertMatch(
      env.stderr,
      new RegExp(
        `^Error: The results folder ${file}/inside \\(from SIZEWISE_RESULTS\\) cannot be used: ` +
          `its path cannot be reached \\(Not a directory.*\\); set SIZEWISE_RESULTS to a ` +
          `folder, or unset it`,
      ),
    );
    assertEquals(env.stdout, "", "refused before any work");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train stopped by SIGINT or SIGTERM says which epochs are saved where, exits non-zero, and resumes", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const args = [
      "--model",
      "pytorch-gap",
      "--preset",
      "smoke",
      "--epochs",
      "3",
      "--train-size",
      "4000",
      "--memory-batch",
      "16",
      "--results-dir",
      resultsDir,
    ];
    for (const [signal, exitCode] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      const child = scriptCommand("train.ts", args).spawn();
      // Send the signal once epoch 1 is done (its line printed), during epoch 2.
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let stdout = "";
      while (!/epoch [12]\/3: train loss/.test(stdout)) {
        const { value, done } = await reader.read();
        if (done) break;
        stdout += value;
      }
      child.kill(signal);
      reader.releaseLock();
      const [status, stderr] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
      ]);
      await child.stdout.cancel().catch(() => {});
      assertEquals(status.code, exitCode, stderr);
      const saved = stdout.includes("epoch 2/3: train loss")
        ? "epochs 1..2 are saved"
        : "epoch 1 is saved";
      const during = saved === "epoch 1 is saved" ? 2 : 3;
      assertMatch(
        stderr,
        new RegExp(
          `${signal}: stopped during epoch ${during}; ${saved} in ${resultsDir}/checkpoints/` +
            `pytorch-gap_wasm_[0-9a-f]{12}\\.ckpt; run the same command to resume`,
        ),
      );
      assert(!stderr.includes("    at "), "no stack trace");
    }
    const resumed = await runScript("train.ts", args);
    assertEquals(resumed.code, 0, resumed.stderr);
    assertMatch(resumed.stdout, /Resuming after epoch [12] \(checkpoint found\)/);
    assertMatch(resumed.stdout, /epoch 3\/3: train loss/);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});
