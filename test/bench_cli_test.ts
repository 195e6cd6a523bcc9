import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { runScript } from "./cli_run.ts";

// The PyTorch peer, where bench looks for it by default; its test runs only where it and torch are.
const PEER = fileURLToPath(new URL("../../shared/peer/torch_mnist_bench.py", import.meta.url));
const PYTHON = "/usr/bin/python3";
const HAS_PEER = await hasPeer();
// The cheapest real run: one small model, one batch size, one core, 32 timed images.
const TINY = ["--models", "pytorch-gap", "--batch", "16", "--workers", "1", "--samples", "32"];
const ROW = /^\| pytorch-gap \| wasm \| 1 \| 16 \| [\d.]+ \|/m;

async function hasPeer(): Promise<boolean> {
  try {
    await Deno.stat(PEER);
    const probe = await new Deno.Command(PYTHON, { args: ["-c", "import torch"] }).output();
    return probe.success;
  } catch {
    return false;
  }
}

Deno.test("bench --help lists its options", async () => {
  const { code, stdout } = await runScript("bench.ts", ["--", "--help"]);
  assertEquals(code, 0);
  for (
    const option of ["--models", "--backends", "--batch", "--workers", "--samples", "--no-peer"]
  ) {
    assert(stdout.includes(option), option);
  }
});

Deno.test("bench rejects nonsense in one line, before any work", async () => {
  for (
    const [args, message] of [
      [["--models", "vgg"], /Unknown model "vgg"/],
      [["--backends", "gpu"], /Unknown backend "gpu"/],
      [["--batch", "0"], /--batch takes positive integers, got "0"/],
      [["--samples", "many"], /--samples takes positive integers, got "many"/],
      [["--bogus"], /Unknown option '--bogus'/],
    ] as const
  ) {
    const { code, stdout, stderr } = await runScript("bench.ts", [...args]);
    assertEquals(code, 1, stderr);
    assertMatch(stderr, message);
    assert(!stderr.includes("    at "), `a clear message, not a stack trace: ${stderr}`);
    assertEquals(stdout, "");
  }
});

Deno.test("bench times one model on a few images and prints its row, without the peer", async () => {
  const { code, stdout, stderr } = await runScript("bench.ts", [...TINY, "--no-peer"]);
  assertEquals(code, 0, stderr);
  assertMatch(stderr, /^pytorch-gap wasm x1 batch 16: [\d.]+ s\/epoch, inference [\d.]+ s$/m);
  assertMatch(stdout, ROW);
  assertMatch(stdout, /\| pytorch-gap \| wasm \| 1 \| 16 \| [\d.]+ \| - \| - \|/); // no peer
});

Deno.test("bench says when the peer is missing and still prints our figures", async () => {
  const { code, stdout, stderr } = await runScript("bench.ts", [...TINY, "--peer", "/none.py"]);
  assertEquals(code, 0, stderr);
  assertMatch(stderr, /PyTorch peer not found at \/none\.py; ratios are left out\./);
  assertMatch(stdout, ROW);
});

Deno.test({
  name: "bench runs the PyTorch peer in the same session and gives our time as a ratio to it",
  ignore: !HAS_PEER,
  async fn() {
    const args = [...TINY, "--peer", PEER, "--python", PYTHON, "--peer-threads", "1"];
    const { code, stdout, stderr } = await runScript("bench.ts", args);
    assertEquals(code, 0, stderr);
    assertMatch(stdout, /^\| pytorch-gap \| wasm \| 1 \| 16 \| [\d.]+ \| [\d.]+ \| [\d.]+x \|/m);
  },
});
