import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { blasCandidates, loadBlas } from "../lib/backend/blas.ts";
import {
  fastestOfRounds,
  formatSpeedTable,
  measureSpeed,
  parsePeerOutput,
  peerThreadEnvironment,
} from "../lib/measure/bench.ts";
import { loadMnist, type Mnist } from "../lib/data/mnist.ts";
import { buildModel } from "../lib/models/registry.ts";
import { makeConfig } from "../lib/training/config.ts";
import { trainModel } from "../lib/training/train.ts";

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
  const samples = 512;
  // A small test set keeps inference short, so the timed training dominates the call.
  const data = await loadMnist({ trainSize: samples, testSize: 16 });
  const started = performance.now();
  const figures = await measureSpeed("pytorch-gap", data, {
    batchSize: 16,
    samples,
    warmupSamples: 16,
  });
  const wallSeconds = (performance.now() - started) / 1000;
  assertEquals(figures.backend, "wasm");
  assertEquals(figures.workers, 1);
  assertEquals(figures.kernels, loadBlas().blas === undefined ? "wasm" : "native");
  // One step's peak holds at least the weights, their gradients and momentum: 3 x 4 bytes each.
  assert(figures.trainingPeakBytes! > 3 * 4 * 7_090, `${figures.trainingPeakBytes} bytes`);
  assert(figures.epochSeconds > 0 && Number.isFinite(figures.epochSeconds));
  assert(figures.inferenceSeconds > 0);
  // Scaled back to the images it timed, the estimate fits inside the call that measured it...
  const timedSeconds = figures.epochSeconds * samples / 60_000;
  assert(
    timedSeconds <= wallSeconds,
    `${figures.epochSeconds} s per epoch means ${timedSeconds} s for ${samples} images, ` +
      `more than the ${wallSeconds} s the whole measurement took`,
  );
  // ...and is not far below the same training timed here (the best of two runs; a factor of 3
  // leaves room for a busy machine, not for a 10x scaling error).
  const direct = Math.min(await timeTraining(data, samples), await timeTraining(data, samples));
  assert(
    timedSeconds >= direct / 3,
    `${figures.epochSeconds} s per epoch means ${timedSeconds} s for ${samples} images, ` +
      `but training them takes ${direct} s`,
  );
  // The inference estimate likewise: 16 images scaled to 10,000 fit in the call.
  assert(figures.inferenceSeconds * 16 / 10_000 <= wallSeconds, `${figures.inferenceSeconds} s`);
});

/** Seconds for one epoch of `pytorch-gap` on the first `samples` training images, at batch 16. */
async function timeTraining(data: Mnist, samples: number): Promise<number> {
  const model = buildModel("pytorch-gap");
  try {
    const config = makeConfig("pytorch-gap", {
      overrides: { trainSize: samples, testSize: data.test.count, numEpochs: 1, batchSize: 16 },
    });
    const started = performance.now();
    await trainModel(model, data, { config });
    return (performance.now() - started) / 1000;
  } finally {
    model.dispose();
  }
}

// The threads OpenBLAS starts with in a fresh process under `env`: what the peer's products get
// (torch does not set them), read through the same library.
async function openBlasStartThreads(env: Record<string, string>): Promise<number> {
  const script = `const lib = Deno.dlopen(${JSON.stringify(blasCandidates()[0])}, ` +
    `{ openblas_get_num_threads: { parameters: [], result: "i32" } });` +
    `console.log(lib.symbols.openblas_get_num_threads());`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(output.success, new TextDecoder().decode(output.stderr));
  return Number(new TextDecoder().decode(output.stdout).trim());
}

Deno.test("peerThreadEnvironment() holds OpenBLAS, which torch's products use, to the peer's threads", async () => {
  assertEquals(peerThreadEnvironment(2), {
    OPENBLAS_NUM_THREADS: "2",
    OMP_NUM_THREADS: "2",
    MKL_NUM_THREADS: "2",
  });
  assertEquals(await openBlasStartThreads(peerThreadEnvironment(1)), 1);
  // Without it OpenBLAS takes every core (the peer's "1 thread" used both here).
  const cores = navigator.hardwareConcurrency;
  if (cores > 1) assertEquals(await openBlasStartThreads({ OPENBLAS_NUM_THREADS: "" }), cores);
});

Deno.test("fastestOfRounds() keeps each row's fastest epoch and inference, and needs equal rounds", () => {
  const [first, second] = [parsePeerOutput(PEER_OUTPUT), parsePeerOutput(PEER_OUTPUT)];
  second[0] = { ...second[0], epochSeconds: 18.0, inferenceSeconds: 0.9 };
  second[1] = { ...second[1], epochSeconds: 16.2, inferenceSeconds: 0.5 };
  const fastest = fastestOfRounds([first, second]);
  assertEquals(fastest.map((row) => [row.model, row.epochSeconds, row.inferenceSeconds]), [
    ["keras-mlp", 18.0, 0.61],
    ["small-net", 15.9, 0.5],
  ]);
  assertEquals(fastestOfRounds([]), []);
  assertThrows(() => fastestOfRounds([first, second.slice(1)]), Error, "rounds of 2, 1 rows");
});
