/**
 * The results store: every run's config, runtime, per-epoch metrics, costs and final weights
 * on disk, keyed by everything that determines them, written atomically, with checkpoints of
 * unfinished runs beside them.
 */
import * as tf from "@tensorflow/tfjs";
import type { TrainConfig } from "./config.ts";
import type { Checkpoint, EpochMetrics } from "./train.ts";
import { readSetting } from "../common/settings.ts";

/** Bump when the stored shape changes: older files are then reported, not misread. */
export const RESULTS_SCHEMA_VERSION = 1;

/** What one completed run stores (its weights sit in a `.bin` file beside it). */
export interface RunResult {
  schemaVersion: number;
  key: string;
  config: TrainConfig;
  /** Backend and versions the run used. */
  runtime: Record<string, string>;
  finishedAt: string;
  history: EpochMetrics[];
  /** Cost measurements, in whatever shape the cost module reports. */
  costs: Record<string, unknown>;
  weightSpecs: tf.io.WeightsManifestEntry[];
}

/** The default store: `data/results/` in the project, or `SIZEWISE_RESULTS` when set. */
export function defaultResultsDir(): string {
  const fromEnv = readSetting("resultsDir");
  if (fromEnv) return fromEnv;
  return new URL("../../data/results/", import.meta.url).pathname;
}

/** The key of a run: model name plus a hash of its config, backend and schema version. */
export async function resultKey(config: TrainConfig, backend: string): Promise<string> {
  const identity = canonicalJson({ schemaVersion: RESULTS_SCHEMA_VERSION, backend, config });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(identity));
  const hex = Array.from(new Uint8Array(digest).slice(0, 6))
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${config.model}_${backend}_${hex}`;
}

/** Saves a completed run and its weights atomically; returns the JSON file's path. */
export async function saveResult(
  dir: string,
  result: Omit<RunResult, "schemaVersion" | "weightSpecs">,
  weights: tf.NamedTensorMap,
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const { data, specs } = await tf.io.encodeWeights(weights);
  // Weights first: a JSON file always has its weights beside it.
  await writeAtomically(`${dir}/${result.key}.bin`, new Uint8Array(data as ArrayBuffer));
  const stored: RunResult = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    ...result,
    weightSpecs: specs,
  };
  const path = `${dir}/${result.key}.json`;
  await writeAtomically(path, new TextEncoder().encode(JSON.stringify(stored, null, 1) + "\n"));
  return path;
}

/** Loads the result stored under `key`, or undefined if there is none; a bad file is an error. */
export async function loadResult(dir: string, key: string): Promise<RunResult | undefined> {
  const path = `${dir}/${key}.json`;
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  return parseResult(text, path);
}

/** Loads the final weights of a stored run. */
export async function loadResultWeights(
  dir: string,
  result: RunResult,
): Promise<tf.NamedTensorMap> {
  const path = `${dir}/${result.key}.bin`;
  const bytes = await Deno.readFile(path).catch((error) => {
    throw new Error(
      `Cannot read the weights of ${result.key} (${path}): ${error.message}; ` +
        `delete ${dir}/${result.key}.json and train again`,
    );
  });
  return decodeWeights(bytes, result.weightSpecs, path);
}

/** Every result in the store, oldest first; unreadable files are reported, not skipped. */
export async function listResults(dir: string): Promise<RunResult[]> {
  const results: RunResult[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      const path = `${dir}/${entry.name}`;
      results.push(parseResult(await Deno.readTextFile(path), path));
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return results.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}

/** Saves an unfinished run's state, replacing the previous checkpoint atomically. */
export async function saveCheckpoint(
  dir: string,
  key: string,
  checkpoint: Checkpoint,
): Promise<void> {
  const checkpointDir = `${dir}/checkpoints`;
  await Deno.mkdir(checkpointDir, { recursive: true });
  const { data, specs } = await tf.io.encodeWeights({
    ...prefixed("model/", checkpoint.modelWeights),
    ...prefixed("optimizer/", checkpoint.optimizerWeights),
  });
  const header = new TextEncoder().encode(
    JSON.stringify({ schemaVersion: RESULTS_SCHEMA_VERSION, history: checkpoint.history, specs }),
  );
  // One file, so a checkpoint can never be half old and half new: a 4-byte header length,
  // the JSON header, then the weights.
  const file = new Uint8Array(4 + header.length + data.byteLength);
  new DataView(file.buffer).setUint32(0, header.length);
  file.set(header, 4);
  file.set(new Uint8Array(data as ArrayBuffer), 4 + header.length);
  await writeAtomically(`${checkpointDir}/${key}.ckpt`, file);
}

/** Loads the checkpoint of an unfinished run, or undefined if there is none. */
export async function loadCheckpoint(dir: string, key: string): Promise<Checkpoint | undefined> {
  const path = `${dir}/checkpoints/${key}.ckpt`;
  let file: Uint8Array;
  try {
    file = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const fix = `delete ${path} to start the run over`;
  let header: {
    schemaVersion: number;
    history: EpochMetrics[];
    specs: tf.io.WeightsManifestEntry[];
  };
  try {
    const length = new DataView(file.buffer, file.byteOffset).getUint32(0);
    header = JSON.parse(new TextDecoder().decode(file.subarray(4, 4 + length)));
    file = file.subarray(4 + length);
  } catch {
    throw new Error(`The checkpoint ${path} is corrupt; ${fix}`);
  }
  if (header.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw new Error(
      `The checkpoint ${path} has schema version ${header.schemaVersion}, this code reads ` +
        `${RESULTS_SCHEMA_VERSION}; ${fix}`,
    );
  }
  const weights = decodeWeights(file, header.specs, path);
  return {
    history: header.history,
    modelWeights: unprefixed("model/", weights),
    optimizerWeights: unprefixed("optimizer/", weights),
  };
}

/** Removes a run's checkpoint once its result is saved. */
export async function deleteCheckpoint(dir: string, key: string): Promise<void> {
  await Deno.remove(`${dir}/checkpoints/${key}.ckpt`).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

/** Saves one small measurement (JSON) under `measurements/<name>.json`, atomically. */
export async function saveMeasurement(dir: string, name: string, value: unknown): Promise<void> {
  await Deno.mkdir(`${dir}/measurements`, { recursive: true });
  const text = JSON.stringify({ schemaVersion: RESULTS_SCHEMA_VERSION, value }, null, 1) + "\n";
  await writeAtomically(`${dir}/measurements/${name}.json`, new TextEncoder().encode(text));
}

/** Loads a measurement saved by `saveMeasurement`, or undefined if there is none. */
export async function loadMeasurement<T>(dir: string, name: string): Promise<T | undefined> {
  const path = `${dir}/measurements/${name}.json`;
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  try {
    const stored = JSON.parse(text);
    if (stored.schemaVersion === RESULTS_SCHEMA_VERSION) return stored.value as T;
  } catch {
    // reported below
  }
  throw new Error(`The measurement ${path} is corrupt or from another version; delete it`);
}

function parseResult(text: string, path: string): RunResult {
  let result: RunResult;
  try {
    result = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `The result file ${path} is corrupt (${(error as Error).message}); ` +
        `delete it and run the experiment again`,
    );
  }
  if (result?.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw new Error(
      `The result file ${path} has schema version ${result?.schemaVersion}, this code reads ` +
        `${RESULTS_SCHEMA_VERSION}; delete it and run the experiment again`,
    );
  }
  if (!Array.isArray(result.history) || typeof result.config?.model !== "string") {
    throw new Error(
      `The result file ${path} lacks its history or config; delete it and run the experiment again`,
    );
  }
  return result;
}

function decodeWeights(
  bytes: Uint8Array,
  specs: tf.io.WeightsManifestEntry[],
  path: string,
): tf.NamedTensorMap {
  const expected = specs.reduce(
    (sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1) * 4,
    0,
  );
  if (bytes.byteLength !== expected) {
    throw new Error(
      `The weights file ${path} holds ${bytes.byteLength} bytes, its manifest says ${expected}; ` +
        `it is truncated or corrupt: delete it and train again`,
    );
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return tf.io.decodeWeights(buffer as ArrayBuffer, specs);
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeFile(temporary, bytes);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function prefixed(prefix: string, map: tf.NamedTensorMap): tf.NamedTensorMap {
  return Object.fromEntries(Object.entries(map).map(([name, tensor]) => [prefix + name, tensor]));
}

function unprefixed(prefix: string, map: tf.NamedTensorMap): tf.NamedTensorMap {
  return Object.fromEntries(
    Object.entries(map)
      .filter(([name]) => name.startsWith(prefix))
      .map(([name, tensor]) => [name.slice(prefix.length), tensor]),
  );
}

// Sorted keys, so the same config always hashes to the same key.
function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, inner) =>
      inner && typeof inner === "object" && !Array.isArray(inner)
        ? Object.fromEntries(Object.keys(inner).sort().map((key) => [key, inner[key]]))
        : inner,
  );
}
