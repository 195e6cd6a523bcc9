/**
 * Speed figures for `deno task bench`: seconds per epoch and inference time per model and
 * backend, set against the PyTorch peer measured in the same run.
 */
import * as tf from "@tensorflow/tfjs";
import { makeConfig, MNIST_TEST_SIZE, MNIST_TRAIN_SIZE } from "../training/config.ts";
import { measureInference, measureStepMemory } from "./cost.ts";
import type { Mnist } from "../data/mnist.ts";
import { buildModel } from "../models/registry.ts";
import { trainModel } from "../training/train.ts";
import { formatTable } from "../common/markdown.ts";
import { loadBlas } from "../backend/blas.ts";
import { nativeKernelsActive, useNativeKernels } from "../backend/native_kernels.ts";

/** Which kernels a wasm row ran: wasm's own, or the native (BLAS) ones on some threads. */
export type KernelChoice = { native: false } | { native: true; threads: number };

/** One model's speed on one backend. */
export interface SpeedFigures {
  model: string;
  backend: string;
  /** Cores sharing each batch (lib/data_parallel.ts). */
  workers: number;
  /** On wasm: "wasm" or "native" (BLAS kernels, native_kernels.ts); absent on other backends. */
  kernels?: "wasm" | "native";
  /** The BLAS threads of a native row. */
  blasThreads?: number;
  batchSize: number;
  /** Seconds per 60,000-image epoch, from timing `samples` images. */
  epochSeconds: number;
  /** Seconds to predict 10,000 images in batches of 1,000 (median after a warm-up). */
  inferenceSeconds: number;
  /** Peak memory of one training step on one core (tf.profile), in bytes; one-core rows only. */
  trainingPeakBytes?: number;
}

/** One line of `torch_mnist_bench.py`'s output. */
export interface PeerFigures {
  model: string;
  params: number;
  /** torch.get_num_threads() of the run, from its first line. */
  threads: number;
  batchSize: number;
  epochSeconds: number;
  inferenceSeconds: number;
}

/**
 * Times the real training loop on `samples` images at `batchSize`, scaled to 60,000, and
 * inference on the 10,000 test images. `data` must hold at least `samples` training images.
 */
export async function measureSpeed(
  modelName: string,
  data: Mnist,
  options: {
    batchSize: number;
    samples: number;
    warmupSamples?: number;
    workers?: number;
    /** On wasm: the kernels to time (default: native where the BLAS loaded, at its threads). */
    kernels?: KernelChoice;
  },
): Promise<SpeedFigures> {
  const blas = loadBlas().blas;
  const wasNative = nativeKernelsActive();
  const threadsBefore = blas?.threads;
  if (options.kernels !== undefined) {
    if (options.kernels.native && blas === undefined) {
      throw new Error("Cannot time the native kernels: the BLAS did not load (see the line above)");
    }
    useNativeKernels(options.kernels.native);
    if (options.kernels.native) blas!.setThreads(options.kernels.threads);
  }
  try {
    return await timeTraining(modelName, data, options);
  } finally {
    if (options.kernels !== undefined && blas !== undefined) {
      useNativeKernels(wasNative);
      if (threadsBefore !== undefined) blas.setThreads(threadsBefore);
    }
  }
}

async function timeTraining(
  modelName: string,
  data: Mnist,
  options: { batchSize: number; samples: number; warmupSamples?: number; workers?: number },
): Promise<SpeedFigures> {
  const { batchSize, samples } = options;
  const workers = options.workers ?? 1;
  const warmup = options.warmupSamples ?? Math.min(samples, 16 * batchSize);
  const slice = (count: number) => ({
    train: {
      images: data.train.images.subarray(0, count * 784),
      labels: data.train.labels.subarray(0, count),
      count,
    },
    test: {
      images: data.test.images.subarray(0, batchSize * 784),
      labels: data.test.labels.subarray(0, batchSize),
      count: batchSize,
    },
  });
  const model = buildModel(modelName);
  try {
    const run = async (count: number) => {
      const config = makeConfig(modelName, {
        overrides: { trainSize: count, testSize: batchSize, numEpochs: 1, batchSize, workers },
      });
      const [epoch] = await trainModel(model, slice(count), { config });
      return epoch.trainSeconds;
    };
    await run(warmup); // compiles and allocates what later steps reuse
    const seconds = await run(samples);
    const inference = measureInference(model, data.test, { batchSize: 1000, repeats: 3 });
    const trainingPeakBytes = workers === 1
      ? await measureStepMemory(model, { batchSize })
      : undefined;
    const native = tf.getBackend() === "wasm" ? nativeKernelsActive() : undefined;
    return {
      model: modelName,
      backend: tf.getBackend(),
      workers,
      kernels: native === undefined ? undefined : native ? "native" : "wasm",
      blasThreads: native ? loadBlas().blas?.threads : undefined,
      batchSize,
      epochSeconds: seconds * MNIST_TRAIN_SIZE / samples,
      inferenceSeconds: inference.medianSeconds * MNIST_TEST_SIZE / data.test.count,
      trainingPeakBytes,
    };
  } finally {
    model.dispose();
  }
}

/**
 * Each row's fastest epoch and inference over rounds of the same measurements (the same rows in
 * the same order each round). Other work on a shared machine can slow a round, never speed it
 * up, so the fastest reading is the least disturbed one; rounds alternate ours and the peer's.
 */
export function fastestOfRounds<T extends { epochSeconds: number; inferenceSeconds: number }>(
  rounds: T[][],
): T[] {
  const [first, ...rest] = rounds;
  if (first === undefined) return [];
  if (rest.some((round) => round.length !== first.length)) {
    throw new Error(
      `fastestOfRounds(): rounds of ${rounds.map((round) => round.length).join(", ")} rows; ` +
        `every round must time the same rows`,
    );
  }
  return first.map((row, i) => ({
    ...row,
    epochSeconds: Math.min(...rounds.map((round) => round[i].epochSeconds)),
    inferenceSeconds: Math.min(...rounds.map((round) => round[i].inferenceSeconds)),
  }));
}

/**
 * The environment that holds the PyTorch peer to `threads` threads. Its `--threads` sets
 * torch's own (OpenMP) threads, but Debian's torch runs its matrix products in the system BLAS
 * (libblas.so.3, OpenBLAS with libopenblas0-pthread), whose threads torch does not set: without
 * this, the "1 thread" peer's products ran on every core (CPU time twice its wall time on 2
 * cores, its MLP epoch 5.4-5.9 s against 6.7-7.0 s on one).
 */
export function peerThreadEnvironment(threads: number): Record<string, string> {
  const count = String(threads);
  return { OPENBLAS_NUM_THREADS: count, OMP_NUM_THREADS: count, MKL_NUM_THREADS: count };
}

/** Parses the PyTorch peer's output lines; other lines are ignored. */
export function parsePeerOutput(text: string): PeerFigures[] {
  const threads = Number(text.match(/threads=(\d+)/)?.[1] ?? 1);
  const pattern =
    /^(\S+)\s+params=\s*([\d,]+)\s+batch=(\d+)\s+epoch_s=\s*([\d.]+)\s+infer10k_s=\s*([\d.]+)/;
  return text.split("\n").flatMap((line) => {
    const match = line.trim().match(pattern);
    if (!match) return [];
    return [{
      model: match[1],
      params: Number(match[2].replaceAll(",", "")),
      threads,
      batchSize: Number(match[3]),
      epochSeconds: Number(match[4]),
      inferenceSeconds: Number(match[5]),
    }];
  });
}

/**
 * A Markdown table of our figures with their ratio to the peer's, of the same model and batch:
 * to PyTorch on one thread (the target's reference), and, for rows that use two cores (two
 * workers, or native kernels on two BLAS threads), to PyTorch on as many threads. Inference runs on one core on both sides; training memory is the
 * peak of one step on one core, tf.js tensors only (the peer does not report its own).
 */
export function formatSpeedTable(ours: SpeedFigures[], peer: PeerFigures[]): string {
  const peerFor = (figures: SpeedFigures, threads: number) =>
    peer.find((p) =>
      p.model === figures.model && p.batchSize === figures.batchSize && p.threads === threads
    );
  const seconds = (value: number | undefined, digits = 1) =>
    value === undefined ? "-" : value.toFixed(digits);
  const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}x` : "-");
  const header = [
    "model",
    "backend",
    "cores",
    "batch",
    "s/epoch",
    "PyTorch 1 thread",
    "ratio",
    "PyTorch, as many threads",
    "ratio",
    "inference 10k s",
    "PyTorch",
    "ratio",
    "training memory MB",
  ];
  const rows = ours.map((figures) => {
    const one = peerFor(figures, 1);
    const cores = Math.max(figures.workers, figures.blasThreads ?? 1);
    const same = cores > 1 ? peerFor(figures, cores) : undefined;
    return [
      figures.model,
      kernelsLabel(figures),
      figures.workers,
      figures.batchSize,
      seconds(figures.epochSeconds),
      seconds(one?.epochSeconds),
      ratio(figures.epochSeconds, one?.epochSeconds),
      seconds(same?.epochSeconds),
      ratio(figures.epochSeconds, same?.epochSeconds),
      seconds(figures.inferenceSeconds, 2),
      seconds(one?.inferenceSeconds, 2),
      ratio(figures.inferenceSeconds, one?.inferenceSeconds),
      figures.trainingPeakBytes === undefined
        ? "-"
        : (figures.trainingPeakBytes / 2 ** 20).toFixed(1),
    ];
  });
  return formatTable(header, rows, { align: header.map((_, i) => (i < 2 ? "l" : "r")) });
}

// "wasm", or "native, 2 threads" for a row that ran the BLAS kernels.
function kernelsLabel(figures: SpeedFigures): string {
  if (figures.kernels !== "native") return figures.backend;
  const threads = figures.blasThreads;
  return threads === undefined ? "native" : `native, ${threads} thread${threads === 1 ? "" : "s"}`;
}
