/**
 * Where a training step's time goes, for the small models at batch 16: ms per step on the
 * native path (with oneDNN's convolutions where they load), the native path on sgemm convs only
 * ("sgemm"), the native path without the lean dense step ("tape": every op under tf.js' gradient
 * tape) and the wasm path (alternating, medians of repeats), then one profiled run per model
 * and path with every wasm kernel wrapped: calls per step and self time (µs) by kernel name,
 * and what lies outside kernels (tf.js engine bookkeeping, gradient tape, JS in custom ops).
 * `deno run --allow-read --allow-env --allow-ffi bench/step_profile.ts [model...]`
 * (SIZEWISE_BLAS_THREADS=1 for one BLAS thread; STEPS, REPEATS to change the counts; PATHS, e.g.
 * "native,sgemm", to time only those).
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend/backend.ts";
import { nativeKernelsActive, useNativeKernels } from "../lib/backend/native_kernels.ts";
import { setNativeConvPolicy } from "../lib/backend/native_conv.ts";
import { createRandom } from "../lib/data/random.ts";
import { buildModel } from "../lib/models/registry.ts";
import { FusedMomentumOptimizer } from "../lib/backend/momentum.ts";
import { useLeanSteps } from "../lib/backend/lean_dense.ts";
import {
  disposeOptimizer,
  dropoutLayers,
  setDropoutSeeds,
  trainStep,
} from "../lib/training/train.ts";

const BATCH = 16;
const STEPS = Number(Deno.env.get("STEPS") ?? 40);
const REPEATS = Number(Deno.env.get("REPEATS") ?? 5);
const MODELS = Deno.args.length > 0 ? Deno.args : ["pytorch", "pytorch-gap", "small-net"];

await initBackend("wasm");
const wanted = Deno.env.get("PATHS")?.split(",") ?? ["native", "tape", "sgemm", "wasm"];
const paths = (nativeKernelsActive() ? ["native", "tape", "sgemm", "wasm"] : ["wasm"])
  .filter((path) => wanted.includes(path));
const usePath = (path: string) => {
  useNativeKernels(path !== "wasm");
  useLeanSteps(path === "native");
  setNativeConvPolicy(path === "sgemm" ? "sgemm" : "auto");
};
const next = createRandom(1);
const images = Float32Array.from({ length: BATCH * 784 }, () => next());
const targets = new Float32Array(BATCH * 10);
for (let i = 0; i < BATCH; i++) targets[i * 10 + (i % 10)] = 1;

interface Entry {
  calls: number;
  selfMs: number;
}
let profile: Map<string, Entry> | undefined;
const stack: number[] = []; // child time of each open kernel call
wrapKernels();

for (const name of MODELS) {
  const runs: Record<string, number[]> = Object.fromEntries(paths.map((p) => [p, []]));
  const model = buildModel(name, { seed: 0 });
  const optimizer = new FusedMomentumOptimizer(0.01, 0.9, true);
  // A fresh dropout seed per layer and step, as training sets them (lib/training/train.ts):
  // without one, tf.js' own, slower dropout would run and be profiled instead.
  let seed = 0;
  const dropouts = dropoutLayers(model).length;
  const step = () => {
    setDropoutSeeds(model, Array.from({ length: dropouts }, () => ++seed));
    return trainStep(model, optimizer, images, targets, BATCH);
  };
  for (let r = 0; r < REPEATS; r++) {
    for (const path of paths) {
      usePath(path);
      for (let i = 0; i < 5; i++) step();
      const start = performance.now();
      for (let i = 0; i < STEPS; i++) step();
      runs[path].push((performance.now() - start) / STEPS);
    }
  }
  for (const path of paths) {
    const sorted = runs[path].toSorted((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(
      `${name} ${path}: ${median.toFixed(3)} ms/step (median of ${REPEATS}, ` +
        `min ${sorted[0].toFixed(3)}, max ${sorted.at(-1)!.toFixed(3)})`,
    );
  }
  for (const path of paths) {
    usePath(path);
    profile = new Map();
    const start = performance.now();
    for (let i = 0; i < STEPS; i++) step();
    const stepMs = (performance.now() - start) / STEPS;
    const entries = [...profile].sort((a, b) => b[1].selfMs - a[1].selfMs);
    profile = undefined;
    const kernelMs = entries.reduce((sum, [, e]) => sum + e.selfMs, 0) / STEPS;
    const calls = entries.reduce((sum, [, e]) => sum + e.calls, 0) / STEPS;
    console.log(
      `\n${name} ${path}, profiled: ${stepMs.toFixed(3)} ms/step, ${calls} kernel calls, ` +
        `${kernelMs.toFixed(3)} ms in kernels, ${(stepMs - kernelMs).toFixed(3)} ms outside`,
    );
    console.log("| kernel | calls/step | µs/call | µs/step |\n|---|--:|--:|--:|");
    for (const [kernel, { calls, selfMs }] of entries) {
      const perStep = (selfMs / STEPS) * 1000;
      console.log(
        `| ${kernel} | ${calls / STEPS} | ${(perStep / (calls / STEPS)).toFixed(1)} | ` +
          `${perStep.toFixed(1)} |`,
      );
    }
  }
  disposeOptimizer(optimizer);
  model.dispose();
}

// Wraps every kernel registered on wasm so that, while `profile` is set, it records calls and
// self time (its time less that of kernels it runs inside).
function wrapKernels(): void {
  for (const config of tf.getKernelsForBackend("wasm")) {
    const inner = config.kernelFunc;
    const wrapped = ((args: Parameters<tf.KernelFunc>[0]) => {
      if (profile === undefined) return inner(args);
      stack.push(0);
      const start = performance.now();
      try {
        return inner(args);
      } finally {
        const total = performance.now() - start;
        const self = total - stack.pop()!;
        if (stack.length > 0) stack[stack.length - 1] += total;
        const entry = profile.get(config.kernelName) ?? { calls: 0, selfMs: 0 };
        entry.calls++;
        entry.selfMs += self;
        profile.set(config.kernelName, entry);
      }
    }) as tf.KernelFunc;
    (config as { kernelFunc: tf.KernelFunc }).kernelFunc = wrapped;
  }
}
