import { assert, assertEquals, assertMatch } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { loadBlas } from "../lib/backend/blas.ts";
import { formatSpeedTable, measureSpeed, parsePeerOutput } from "../lib/measure/bench.ts";
import { loadMnist } from "../lib/data/mnist.ts";

const PEER_OUTPUT = `torch 1.13.0, threads=1
keras-mlp    params=  669,706 batch=16 epoch_s=    21.3 infer10k_s=  0.61
small-net    params=      518 batch=16 epoch_s=    15.9 infer10k_s=  0.70
`;

Deno.test("parsePeerOutput() reads the PyTorch peer's lines and skips the rest", () => {
  assertEquals(parsePeerOutput(PEER_OUTPUT), [
    {
      model: "keras-mlp",
      params: 669_706,
      threads: 1,
      batchSize: 16,
      epochSeconds: 21.3,
      inferenceSeconds: 0.61,
    },
    {
      model: "small-net",
      params: 518,
      threads: 1,
      batchSize: 16,
      epochSeconds: 15.9,
      inferenceSeconds: 0.7,
    },
  ]);
  assertEquals(parsePeerOutput(PEER_OUTPUT.replace("threads=1", "threads=2"))[0].threads, 2);
});

Deno.test("formatSpeedTable() gives our time as a ratio to the peer's of the same model and batch", () => {
  const twoThreads = parsePeerOutput(
    PEER_OUTPUT.replace("threads=1", "threads=2").replace("21.3", "12.0"),
  );
  const ours = (model: string, workers: number, epochSeconds: number) => ({
    model,
    backend: "wasm",
    workers,
    batchSize: 16,
    epochSeconds,
    inferenceSeconds: 1.4,
    trainingPeakBytes: workers === 1 ? 6 * 2 ** 20 : undefined,
  });
  const table = formatSpeedTable(
    [ours("small-net", 1, 31.8), ours("keras-mlp", 2, 30), ours("pytorch", 1, 20)],
    [...parsePeerOutput(PEER_OUTPUT), ...twoThreads],
  );
  assertMatch(
    table,
    /\| small-net \| wasm \| 1 \| 16 \| 31\.8 \| 15\.9 \| 2\.00x \| - \| - \| 1\.40 \| 0\.70 \| 2\.00x \| 6\.0 \|/,
  );
  // Two cores: against one PyTorch thread, and against two.
  assertMatch(
    table,
    /\| keras-mlp \| wasm \| 2 \| 16 \| 30\.0 \| 21\.3 \| 1\.41x \| 12\.0 \| 2\.50x \| 1\.40 \| 0\.61 \| 2\.30x \| - \|$/m,
  );
  assertMatch(table, /\| pytorch \| wasm \| 1 \| 16 \| 20\.0 \| - \| - \|/); // no peer line for it
  // Native kernels on two BLAS threads (one worker) compare with PyTorch on two threads too.
  const native = {
    ...ours("keras-mlp", 1, 6),
    kernels: "native" as const,
    blasThreads: 2,
  };
  assertMatch(
    formatSpeedTable([native], [...parsePeerOutput(PEER_OUTPUT), ...twoThreads]),
    /\| keras-mlp \| native, 2 threads \| 1 \| 16 \| 6\.0 \| 21\.3 \| 0\.28x \| 12\.0 \| 0\.50x \|/,
  );
});

Deno.test("measureSpeed() times the real training loop and scales it to a 60,000-image epoch", async () => {
  await initBackend("wasm");
  const data = await loadMnist({ trainSize: 128, testSize: 1000 });
  const figures = await measureSpeed("pytorch-gap", data, {
    batchSize: 16,
    samples: 64,
    warmupSamples: 16,
  });
  assertEquals(figures.backend, "wasm");
  assertEquals(figures.workers, 1);
  assertEquals(figures.kernels, loadBlas().blas === undefined ? "wasm" : "native");
  // One step's peak holds at least the weights, their gradients and momentum: 3 x 4 bytes each.
  assert(figures.trainingPeakBytes! > 3 * 4 * 7_090, `${figures.trainingPeakBytes} bytes`);
  assert(figures.epochSeconds > 0 && Number.isFinite(figures.epochSeconds));
  // 64 timed images stand for 60,000: the estimate is far more than the few seconds spent.
  assert(figures.epochSeconds > 1, `${figures.epochSeconds} s per epoch`);
  assert(figures.inferenceSeconds > 0);
});
