/**
 * The settings that come from outside the code: every environment variable the library
 * reads is read here and nowhere else, with its default and what it is for.
 */

/** The preset that notebooks and tasks use when none is given: minutes, not hours. */
export const DEFAULT_PRESET = "quick";

/** The environment variables the library reads, each with what it sets. */
export const SETTINGS = {
  /** The preset notebooks and tasks use when none is given (default `DEFAULT_PRESET`). */
  preset: "SIZEWISE_PRESET",
  /** The results folder (default `data/results/` in the project). */
  resultsDir: "SIZEWISE_RESULTS",
  /** The tf.js backend: `wasm` (default, fast) or `cpu` (pure JavaScript, the reference). */
  backend: "SIZEWISE_BACKEND",
  /**
   * The BLAS library of the native kernels: a path to a shared library with `cblas_sgemm`,
   * or `off` for the wasm kernels alone (default: OpenBLAS on Linux, Accelerate on macOS).
   */
  blas: "SIZEWISE_BLAS",
  /** Threads of the BLAS library (default: the machine's cores; 1 for a one-thread comparison). */
  blasThreads: "SIZEWISE_BLAS_THREADS",
  /**
   * OpenBLAS' own choice of kernels (read by the library as it loads). Unset, blas.ts sets it
   * from the CPU's flags where OpenBLAS 0.3.21 does not know the CPU and would take its
   * slowest, SSE3 kernels (Emerald Rapids here).
   */
  openblasCore: "OPENBLAS_CORETYPE",
  /** Where to fetch MNIST from: a folder or an http(s) URL base (default the public mirrors). */
  mnistMirror: "MNIST_MIRROR",
} as const;

/** One of the settings above. */
export type SettingName = keyof typeof SETTINGS;

/** The value of one setting, or undefined when it is unset, empty or unreadable. */
export function readSetting(name: SettingName): string | undefined {
  try {
    return Deno.env.get(SETTINGS[name]) || undefined;
  } catch {
    return undefined; // no --allow-env: behave as if unset
  }
}

/** Sets a setting for this process (and the libraries it loads) unless it is already set. */
export function setSettingDefault(name: SettingName, value: string): void {
  if (readSetting(name) !== undefined) return;
  try {
    Deno.env.set(SETTINGS[name], value);
  } catch {
    // no --allow-env: the library keeps its own choice
  }
}

/** The preset to use when a caller gives none: `SIZEWISE_PRESET`, else `DEFAULT_PRESET`. */
export function defaultPreset(): string {
  return readSetting("preset") ?? DEFAULT_PRESET;
}
