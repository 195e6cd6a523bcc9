/**
 * `deno task bench`: training and inference speed of every model on every backend, with the
 * PyTorch peer (../shared/peer/torch_mnist_bench.py) run in the same session when python3 has
 * torch, and our time as a ratio to its. On wasm it times both its own kernels and the
 * native (BLAS) ones on 1 and 2 threads, and says which path ran. A benchmark, not a test: it
 * prints one table.
 */
import { parseArgs } from "node:util";
import { parsePositiveIntegers, runMain, scriptArgs } from "./common/cli.ts";
import {
  BACKEND_NAMES,
  type BackendName,
  checkBackendName,
  initBackend,
} from "../lib/backend/backend.ts";
import { loadBlas } from "../lib/backend/blas.ts";
import { computePath } from "../lib/backend/native_kernels.ts";
import {
  fastestOfRounds,
  formatSpeedTable,
  type KernelChoice,
  measureSpeed,
  parsePeerOutput,
  type PeerFigures,
  peerThreadEnvironment,
} from "../lib/measure/bench.ts";
import type { SpeedFigures } from "../lib/measure/bench.ts";
import { loadMnist, type Mnist } from "../lib/data/mnist.ts";
import { checkModelName, hasBatchNorm, MODEL_NAMES } from "../lib/models/registry.ts";

const HELP = `Time training and inference of every model, against PyTorch on this CPU.

Usage: deno task bench -- [options]

  --models LIST      comma-separated, from: ${MODEL_NAMES.join(", ")}
                     (default: all of them)
  --backends LIST    from: ${BACKEND_NAMES.join(", ")} (default: wasm; cpu is ~100x slower)
  --batch LIST       batch sizes (default: 16,256)
  --workers LIST     cores sharing each batch, 1 or 2 (default: 1,2; models with batch norm
                     only run on 1)
  --peer-threads LIST  threads of the PyTorch peer (default: 1,2; the target compares to 1)
  --native-threads LIST  BLAS threads of the native rows on wasm (default: 1,2); each runs
                     beside the wasm kernels' rows, on one worker
  --no-native        time the wasm kernels only
  --samples N        training images timed per model and batch (default: 4096; the peer
                     uses the same); an epoch is scaled from them
  --rounds N         time everything N times, ours then the peer's each round, and keep each
                     row's fastest (default: 1; on a shared machine, 3 steadies the ratios)
  --cpu-samples N    the same for the cpu backend (default: 64)
  --peer PATH        the PyTorch peer script (default: ../shared/peer/torch_mnist_bench.py)
  --python PATH      the Python that has torch (default: /usr/bin/python3, Debian's, where
                     python3-torch installs; else python3 on PATH)
  --no-peer          do not run the peer
  --help`;

// Parsed inside main (through runMain), so that an unknown option is one clear line.
function parseCommandLine() {
  return parseArgs({
    args: scriptArgs(),
    options: {
      models: { type: "string", default: MODEL_NAMES.join(",") },
      backends: { type: "string", default: "wasm" },
      batch: { type: "string", default: "16,256" },
      workers: { type: "string", default: "1,2" },
      "peer-threads": { type: "string", default: "1,2" },
      "native-threads": { type: "string", default: "1,2" },
      "no-native": { type: "boolean", default: false },
      samples: { type: "string", default: "4096" },
      rounds: { type: "string", default: "1" },
      "cpu-samples": { type: "string", default: "64" },
      peer: {
        type: "string",
        default: new URL("../../shared/peer/torch_mnist_bench.py", import.meta.url).pathname,
      },
      python: { type: "string", default: defaultPython() },
      "no-peer": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  }).values;
}

let values: ReturnType<typeof parseCommandLine>;

function defaultPython(): string {
  try {
    Deno.statSync("/usr/bin/python3");
    return "/usr/bin/python3";
  } catch {
    return "python3";
  }
}

async function runPeer(
  models: string[],
  batchSizes: number[],
  samples: number,
  threadCounts: number[],
): Promise<PeerFigures[]> {
  if (values["no-peer"]) return [];
  try {
    await Deno.stat(values.peer);
  } catch {
    console.error(`PyTorch peer not found at ${values.peer}; ratios are left out.`);
    return [];
  }
  const figures: PeerFigures[] = [];
  for (const [batch, threads] of batchSizes.flatMap((b) => threadCounts.map((t) => [b, t]))) {
    const output = await new Deno.Command(values.python, {
      args: [
        values.peer,
        "--models",
        models.join(","),
        "--batch",
        String(batch),
        "--samples",
        String(samples),
        "--threads",
        String(threads),
      ],
      env: peerThreadEnvironment(threads),
      stdout: "piped",
      stderr: "piped",
    }).output().catch((error) => ({
      success: false,
      stdout: new Uint8Array(),
      stderr: new TextEncoder().encode(String(error)),
    }));
    if (!output.success) {
      console.error(
        `The PyTorch peer did not run (install it with: apt-get install -y python3-torch ` +
          `libopenblas0-pthread): ${
            new TextDecoder().decode(output.stderr).trim().split("\n").at(-1)
          }`,
      );
      return [];
    }
    const parsed = parsePeerOutput(new TextDecoder().decode(output.stdout));
    for (const peer of parsed) {
      console.error(
        `${peer.model} PyTorch ${threads} thread${threads === 1 ? "" : "s"} batch ${batch}: ` +
          `${peer.epochSeconds.toFixed(1)} s/epoch, inference ${
            peer.inferenceSeconds.toFixed(2)
          } s`,
      );
    }
    figures.push(...parsed);
  }
  return figures;
}

async function main(): Promise<void> {
  values = parseCommandLine();
  if (values.help) return console.log(HELP);
  const models = values.models.split(",").map(checkModelName);
  const backends = values.backends.split(",").map(checkBackendName);
  const batchSizes = parsePositiveIntegers("batch", values.batch);
  const [samples] = parsePositiveIntegers("samples", values.samples);
  const [rounds] = parsePositiveIntegers("rounds", values.rounds);
  const peerThreads = parsePositiveIntegers("peer-threads", values["peer-threads"]);
  const plan: OurRuns = {
    models,
    backends,
    batchSizes,
    samples,
    cpuSamples: parsePositiveIntegers("cpu-samples", values["cpu-samples"])[0],
    workerCounts: parsePositiveIntegers("workers", values.workers),
    nativeThreads: parsePositiveIntegers("native-threads", values["native-threads"]),
  };
  const data = await loadMnist({ trainSize: Math.max(samples, ...batchSizes), seed: 0 });

  const ours: SpeedFigures[][] = [];
  const peer: PeerFigures[][] = [];
  for (let round = 1; round <= rounds; round++) {
    if (rounds > 1) console.error(`round ${round} of ${rounds}`);
    ours.push(await timeOurs(plan, data));
    // The peer runs after ours, in the same session, on the same machine.
    const figures = await runPeer(models, batchSizes, samples, peerThreads);
    if (figures.length > 0) peer.push(figures);
  }
  if (rounds > 1) console.log(`\nThe fastest of ${rounds} rounds, each ours then the peer's:`);
  console.log(`\n${formatSpeedTable(fastestOfRounds(ours), fastestOfRounds(peer))}`);
}

interface OurRuns {
  models: string[];
  backends: BackendName[];
  batchSizes: number[];
  samples: number;
  cpuSamples: number;
  workerCounts: number[];
  nativeThreads: number[];
}

// One round of our rows: every model, batch size and setting, in a fixed order.
async function timeOurs(plan: OurRuns, data: Mnist): Promise<SpeedFigures[]> {
  const { models, backends, batchSizes, samples, cpuSamples, workerCounts, nativeThreads } = plan;
  const ours: SpeedFigures[] = [];
  for (const backend of backends) {
    await initBackend(backend);
    // On wasm: its own kernels (on 1 or 2 workers), then the native ones on each BLAS thread
    // count (one worker), where the BLAS loaded; the line printed at start-up says why not.
    const native = backend === "wasm" && !values["no-native"] && loadBlas().blas !== undefined;
    console.error(`${backend}: ${native ? computePath() : "wasm kernels only"}`);
    const runs: { workers: number; kernels?: KernelChoice }[][] = models.map((model) => [
      ...(hasBatchNorm(model) ? [1] : workerCounts).map((workers) => ({
        workers,
        kernels: backend === "wasm" ? { native: false } as const : undefined,
      })),
      ...(native
        ? nativeThreads.map((threads) => ({
          workers: 1,
          kernels: { native: true, threads } as const,
        }))
        : []),
    ]);
    for (const [i, model] of models.entries()) {
      for (const batchSize of batchSizes) {
        for (const { workers, kernels } of runs[i]) {
          const count = Math.max(batchSize, backend === "cpu" ? cpuSamples : samples);
          const figures = await measureSpeed(model, data, {
            batchSize,
            samples: count,
            workers,
            kernels,
          });
          const label = kernels?.native ? `native x${kernels.threads} threads` : `x${workers}`;
          console.error(
            `${model} ${backend} ${label} batch ${batchSize}: ` +
              `${figures.epochSeconds.toFixed(1)} s/epoch, ` +
              `inference ${figures.inferenceSeconds.toFixed(2)} s`,
          );
          ours.push(figures);
        }
      }
    }
  }
  return ours;
}

await runMain(main);
