/**
 * Chooses and starts the TensorFlow.js backend. `wasm` (SIMD, one thread) is the fastest
 * that can train all five models here once the missing gradient kernels are registered;
 * `cpu` (pure JS) is the slow reference. `SIZEWISE_BACKEND=cpu` picks the fallback. On wasm,
 * matrix products and convolutions run in the machine's BLAS where it loads (native_kernels.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerWasmKernels } from "./wasm_kernels.ts";
import { computePath, registerNativeKernels } from "./native_kernels.ts";
import { readSetting } from "../common/settings.ts";

/** The backends this project can train on. */
export const BACKEND_NAMES = ["wasm", "cpu"] as const;
export type BackendName = typeof BACKEND_NAMES[number];

/** The backend to use: `SIZEWISE_BACKEND` when set, else wasm. */
export function defaultBackendName(): BackendName {
  const fromEnv = readSetting("backend");
  if (fromEnv === undefined || fromEnv === "") return "wasm";
  return checkBackendName(fromEnv);
}

/** Throws a clear error for a backend name this project does not know. */
export function checkBackendName(name: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(name)) {
    return name as BackendName;
  }
  throw new Error(
    `Unknown backend "${name}"; use one of: ${BACKEND_NAMES.join(", ")} ` +
      `(set SIZEWISE_BACKEND or pass --backend)`,
  );
}

/** Starts `name` (default: `defaultBackendName()`) and returns its name; cheap when it is already active. */
export async function initBackend(
  name: BackendName = defaultBackendName(),
): Promise<BackendName> {
  checkBackendName(name);
  // PROD silences tf.js' advice to install tfjs-node, which cannot install here (it downloads
  // a binary) and would mislead readers; it changes no numbers.
  tf.env().set("PROD", true);
  if (name === "wasm") {
    setWasmPaths(wasmDirectory());
    registerWasmKernels();
    registerNativeKernels(); // over the wasm kernels, where the machine's BLAS loads
  }
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`Could not start the TensorFlow.js "${name}" backend`);
  }
  await tf.ready();
  return name;
}

/** Versions and backend to record beside every result. */
export function runtimeInfo(): Record<string, string> {
  return {
    backend: tf.getBackend(),
    // Which kernels did the arithmetic: wasm's own, or the native BLAS ones (and on what).
    kernels: computePath(),
    tfjs: tf.version.tfjs,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    os: `${Deno.build.os}-${Deno.build.arch}`,
  };
}

// The .wasm binaries ship inside the npm package; with "nodeModulesDir": "auto" they sit
// in node_modules, and tfjs needs their folder as a URL.
function wasmDirectory(): string {
  const url = new URL(
    "../../node_modules/@tensorflow/tfjs-backend-wasm/dist/",
    import.meta.url,
  );
  return url.href;
}

/** The backend already started (wasm or cpu), or undefined for "start the default one". */
export function currentBackend(): BackendName | undefined {
  const name = tf.engine().backendName; // unlike tf.getBackend(), does not start one
  return name === "wasm" || name === "cpu" ? name : undefined;
}
