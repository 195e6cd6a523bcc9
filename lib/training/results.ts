/**
 * The results store: every run's config, runtime, per-epoch metrics, costs and final weights
 * on disk, keyed by everything that determines them, written atomically and durably, weights
 * first; the SHA-256 of the weights recorded in the result and checked on every load; every
 * field checked when read back. Checkpoints of unfinished runs and measurements sit beside.
 */
import * as tf from "@tensorflow/tfjs";
import type { TrainConfig } from "./config.ts";
import type { EpochMetrics } from "./train.ts";
import { readSetting } from "../common/settings.ts";
import {
  makeFolder,
  readBytesIfExists,
  readTextIfExists,
  removeIfPresent,
  sha256Hex,
  writeAtomically,
} from "./store_files.ts";
import {
  checkFiniteTree,
  checkHistory,
  checkWeightSpecs,
  checkWeightsSize,
  decodeWeights,
  refuseNonFinite,
  requireFinite,
  requireRecord,
  requireSha256,
  requireString,
  RESULTS_SCHEMA_VERSION,
  StoredFieldError,
} from "./store_schema.ts";
import { deleteCheckpoint } from "./checkpoint_file.ts";

export { refuseNonFinite } from "./store_schema.ts";
export {
  checkpointPath,
  deleteCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint_file.ts";

export { RESULTS_SCHEMA_VERSION } from "./store_schema.ts";

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
  /** SHA-256 of the `.bin` file's bytes, checked whenever the weights are read. */
  weightsSha256: string;
}

/** What the fix is for a bad result: the same command with --retrain, or a delete. */
export const RESULT_FIX = "delete it and run the experiment again, or run the same command " +
  "with --retrain";

const RETRAIN_TOO = "(or run the same command with --retrain)";

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

/** Options of `saveResult`. */
export interface SaveResultOptions {
  /** Internal (tests): stop, as a crash would, once this many of its files are in place. */
  crashAfterFiles?: number;
}

/**
 * Saves a completed run: the weights file first, then the result that records its SHA-256,
 * each atomically and synced to disk, so a result file always has its weights beside it.
 * Weights holding NaN or infinity are refused before anything is written. Returns the JSON
 * file's path.
 */
export async function saveResult(
  dir: string,
  result: Omit<RunResult, "schemaVersion" | "weightSpecs" | "weightsSha256">,
  weights: tf.NamedTensorMap,
  options: SaveResultOptions = {},
): Promise<string> {
  refuseNonFinite(weights, `Refusing to store the result ${result.key}`);
  await makeFolder(dir);
  const { data, specs } = await tf.io.encodeWeights(weights);
  const bytes = new Uint8Array(data as ArrayBuffer);
  const stored: RunResult = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    ...result,
    weightSpecs: specs,
    weightsSha256: await sha256Hex(bytes),
  };
  const path = resultPath(dir, result.key);
  const files: [string, Uint8Array][] = [
    [weightsPath(dir, result.key), bytes],
    [path, new TextEncoder().encode(JSON.stringify(stored, null, 1) + "\n")],
  ];
  for (const [index, [file, content]] of files.entries()) {
    if (options.crashAfterFiles === index) {
      throw new Error(`Simulated crash after ${index} of the files of ${result.key}`);
    }
    await writeAtomically(file, content);
  }
  return path;
}

/**
 * Loads the result stored under `key`, or undefined if there is none; a file that is not a
 * valid result (any field missing, of the wrong type or not finite) is an error naming the
 * file, the field and the fix.
 */
export async function loadResult(dir: string, key: string): Promise<RunResult | undefined> {
  const path = resultPath(dir, key);
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  return parseResult(text, path);
}

/** Loads the final weights of a stored run, checked against the SHA-256 its result records. */
export async function loadResultWeights(
  dir: string,
  result: RunResult,
): Promise<tf.NamedTensorMap> {
  const bytes = await readResultWeights(dir, result);
  const path = weightsPath(dir, result.key);
  return decodeWeights(bytes, result.weightSpecs, path, RETRAIN_TOO);
}

/**
 * Checks that a stored result's weights file is there, whole, and has the SHA-256 its result
 * records; an error names both files and the fix. What every reuse of a result runs first.
 */
export async function checkResultWeights(dir: string, result: RunResult): Promise<void> {
  await readResultWeights(dir, result);
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

/**
 * Removes everything stored for `key`: the result (first, so no result is ever left without
 * its weights), its weights, its checkpoint, and the measurements and exports made from its
 * weights (`measurements/*_<key>.json`, `exports/<key>/`). What `--retrain` clears.
 */
export async function deleteStoredRun(dir: string, key: string): Promise<void> {
  await removeIfPresent(resultPath(dir, key));
  await removeIfPresent(weightsPath(dir, key));
  await deleteCheckpoint(dir, key);
  await deleteMeasurementsOf(dir, key);
}

/** Removes the measurements (`measurements/*_<key>.json`) and exports made from `key`'s weights. */
export async function deleteMeasurementsOf(dir: string, key: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(`${dir}/measurements`)) {
      if (entry.name.endsWith(`_${key}.json`)) {
        await removeIfPresent(`${dir}/measurements/${entry.name}`);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await removeIfPresent(`${dir}/exports/${key}`);
}

/** Options of `saveMeasurement` and `loadMeasurement`. */
export interface MeasurementOptions<T> {
  /**
   * What the measurement was made from (the SHA-256 of the weights it measured, or of the model
   * spec): a stored measurement made from anything else is ignored, as if there were none.
   */
  measuredFrom?: string;
  /** Checks the stored value's fields (throwing `StoredFieldError`); default: finite numbers. */
  check?: (value: unknown) => T;
  /** What to do about a bad file; default: delete it to measure again. */
  fix?: string;
}

/** Saves one small measurement (JSON) under `measurements/<name>.json`, atomically. */
export async function saveMeasurement(
  dir: string,
  name: string,
  value: unknown,
  options: Pick<MeasurementOptions<unknown>, "measuredFrom"> = {},
): Promise<void> {
  await makeFolder(`${dir}/measurements`);
  const envelope = { schemaVersion: RESULTS_SCHEMA_VERSION, measuredFrom: options.measuredFrom };
  const text = JSON.stringify({ ...envelope, value }, null, 1) + "\n";
  await writeAtomically(`${dir}/measurements/${name}.json`, new TextEncoder().encode(text));
}

/**
 * Loads a measurement saved by `saveMeasurement`, or undefined if there is none or it was made
 * from something else than `measuredFrom`; a bad file is an error naming the file and field.
 */
export async function loadMeasurement<T>(
  dir: string,
  name: string,
  options: MeasurementOptions<T> = {},
): Promise<T | undefined> {
  const path = `${dir}/measurements/${name}.json`;
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  const fix = options.fix ?? "delete it to measure again";
  let stored: Record<string, unknown>;
  try {
    stored = requireRecord(JSON.parse(text), "the file");
  } catch {
    throw new Error(`The measurement ${path} is corrupt or from another version; ${fix}`);
  }
  if (stored.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw new Error(
      `The measurement ${path} is corrupt or from another version (schema version ` +
        `${stored.schemaVersion}, this code reads ${RESULTS_SCHEMA_VERSION}); ${fix}`,
    );
  }
  if (options.measuredFrom !== undefined && stored.measuredFrom !== options.measuredFrom) {
    return undefined; // measured from other weights (or another model spec): stale
  }
  try {
    if (options.check) return options.check(stored.value);
    checkFiniteTree(stored.value, "value");
    return stored.value as T;
  } catch (error) {
    if (!(error instanceof StoredFieldError)) throw error;
    throw new Error(`The measurement ${path} is invalid: ${error.message}; ${fix}`);
  }
}

function resultPath(dir: string, key: string): string {
  return `${dir}/${key}.json`;
}

function weightsPath(dir: string, key: string): string {
  return `${dir}/${key}.bin`;
}

async function readResultWeights(dir: string, result: RunResult): Promise<Uint8Array> {
  const path = weightsPath(dir, result.key);
  const json = resultPath(dir, result.key);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readBytesIfExists(path);
  } catch (error) {
    throw new Error(
      `Cannot read the weights of ${result.key} (${path}): ${(error as Error).message}; ` +
        `delete ${json} and train again, or run the same command with --retrain`,
    );
  }
  if (bytes === undefined) {
    throw new Error(
      `Cannot read the weights of ${result.key} (${path}): the file is missing; ` +
        `delete ${json} and train again, or run the same command with --retrain`,
    );
  }
  checkWeightsSize(bytes, result.weightSpecs, path, RETRAIN_TOO);
  const actual = await sha256Hex(bytes);
  if (actual !== result.weightsSha256) {
    throw new Error(
      `The weights file ${path} does not match its result ${json}: its SHA-256 is ` +
        `${actual}, the result records ${result.weightsSha256}; the file was changed or ` +
        `damaged after training and is not used. Run the same command with --retrain, or ` +
        `delete both files and train again`,
    );
  }
  return bytes;
}

function parseResult(text: string, path: string): RunResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `The result file ${path} is corrupt (${(error as Error).message}); ${RESULT_FIX}`,
    );
  }
  const result = parsed as Partial<RunResult> | null;
  if (result?.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw new Error(
      `The result file ${path} has schema version ${result?.schemaVersion}, this code reads ` +
        `${RESULTS_SCHEMA_VERSION}; ${RESULT_FIX}`,
    );
  }
  if (!Array.isArray(result.history) || typeof result.config?.model !== "string") {
    throw new Error(`The result file ${path} lacks its history or config; ${RESULT_FIX}`);
  }
  try {
    checkResultFields(result as Record<string, unknown>);
  } catch (error) {
    if (!(error instanceof StoredFieldError)) throw error;
    throw new Error(`The result file ${path} is invalid: ${error.message}; ${RESULT_FIX}`);
  }
  return result as RunResult;
}

// Every field of a stored result, as `saveResult` writes it.
function checkResultFields(result: Record<string, unknown>): void {
  requireString(result.key, "key");
  const config = requireRecord(result.config, "config");
  const numEpochs = requireFinite(config.numEpochs, "config.numEpochs");
  checkFiniteTree(config, "config");
  const runtime = requireRecord(result.runtime, "runtime");
  for (const [name, value] of Object.entries(runtime)) requireString(value, `runtime.${name}`);
  requireString(result.finishedAt, "finishedAt");
  checkHistory(result.history, "history", numEpochs);
  checkFiniteTree(requireRecord(result.costs, "costs"), "costs");
  checkWeightSpecs(result.weightSpecs, "weightSpecs");
  requireSha256(result.weightsSha256, "weightsSha256");
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

/** Hex SHA-256 of a value's canonical JSON (sorted keys): the same value, the same hash. */
export async function canonicalSha256(value: unknown): Promise<string> {
  return await sha256Hex(new TextEncoder().encode(canonicalJson(value)));
}
