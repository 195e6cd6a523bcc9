/**
 * The checkpoint file of an unfinished run: one file (a 4-byte header length, a JSON header,
 * then the weights), so it is never half old and half new; the header records the history
 * and the SHA-256 of the model weights and of the optimizer state, checked on every load.
 */
import * as tf from "@tensorflow/tfjs";
import type { Checkpoint } from "./train.ts";
import {
  makeFolder,
  readBytesIfExists,
  removeIfPresent,
  sha256Hex,
  writeAtomically,
} from "./store_files.ts";
import {
  checkHistory,
  checkWeightSpecs,
  decodeWeights,
  refuseNonFinite,
  requireFinite,
  requireRecord,
  requireSha256,
  RESULTS_SCHEMA_VERSION,
  StoredFieldError,
} from "./store_schema.ts";

/** Where the checkpoint of `key` lives in the store `dir`. */
export function checkpointPath(dir: string, key: string): string {
  return `${dir}/checkpoints/${key}.ckpt`;
}

/**
 * Saves an unfinished run's state, replacing the previous checkpoint atomically and durably.
 * Model weights or optimizer values that are not finite are refused, the layer named, and the
 * previous checkpoint is kept.
 */
export async function saveCheckpoint(
  dir: string,
  key: string,
  checkpoint: Checkpoint,
): Promise<void> {
  const what = `Refusing to save the checkpoint of ${key} after epoch ${checkpoint.history.length}`;
  refuseNonFinite(prefixed("model/", checkpoint.modelWeights), what);
  refuseNonFinite(prefixed("optimizer/", checkpoint.optimizerWeights), what);
  await makeFolder(`${dir}/checkpoints`);
  const model = await tf.io.encodeWeights(prefixed("model/", checkpoint.modelWeights));
  const optimizer = await tf.io.encodeWeights(prefixed("optimizer/", checkpoint.optimizerWeights));
  const modelBytes = new Uint8Array(model.data as ArrayBuffer);
  const optimizerBytes = new Uint8Array(optimizer.data as ArrayBuffer);
  const header = new TextEncoder().encode(JSON.stringify({
    schemaVersion: RESULTS_SCHEMA_VERSION,
    history: checkpoint.history,
    specs: [...model.specs, ...optimizer.specs],
    modelBytes: modelBytes.length,
    modelSha256: await sha256Hex(modelBytes),
    optimizerSha256: await sha256Hex(optimizerBytes),
  }));
  const file = new Uint8Array(4 + header.length + modelBytes.length + optimizerBytes.length);
  new DataView(file.buffer).setUint32(0, header.length);
  file.set(header, 4);
  file.set(modelBytes, 4 + header.length);
  file.set(optimizerBytes, 4 + header.length + modelBytes.length);
  await writeAtomically(checkpointPath(dir, key), file);
}

/**
 * Loads the checkpoint of an unfinished run, or undefined if there is none. A checkpoint that
 * is corrupt, of another schema, has a bad field, or whose bytes do not match their recorded
 * SHA-256 is an error naming the file and the fix.
 */
export async function loadCheckpoint(dir: string, key: string): Promise<Checkpoint | undefined> {
  const path = checkpointPath(dir, key);
  let file = await readBytesIfExists(path);
  if (file === undefined) return undefined;
  const fix = `delete ${path} to start the run over (or run the same command with --retrain)`;
  let header: Record<string, unknown>;
  try {
    const length = new DataView(file.buffer, file.byteOffset).getUint32(0);
    header = requireRecord(JSON.parse(new TextDecoder().decode(file.subarray(4, 4 + length))), "");
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
  let fields: ReturnType<typeof checkHeader>;
  try {
    fields = checkHeader(header);
  } catch (error) {
    if (!(error instanceof StoredFieldError)) throw error;
    throw new Error(`The checkpoint ${path} is invalid: ${error.message}; ${fix}`);
  }
  const weights = decodeWeights(file, fields.specs, path, `(${fix})`);
  try {
    const parts = [
      ["model weights", file.subarray(0, fields.modelBytes), fields.modelSha256],
      ["optimizer state", file.subarray(fields.modelBytes), fields.optimizerSha256],
    ] as const;
    for (const [what, bytes, expected] of parts) {
      const actual = await sha256Hex(bytes);
      if (actual !== expected) {
        throw new Error(
          `The checkpoint ${path} is damaged: its ${what} have SHA-256 ${actual}, the header ` +
            `records ${expected}; it is not used. ${fix[0].toUpperCase()}${fix.slice(1)}`,
        );
      }
    }
    // Saved finite (saveCheckpoint refuses others); still checked, as the bytes are read back.
    const what = `The checkpoint ${path} cannot be resumed`;
    refuseNonFinite(weights, what);
  } catch (error) {
    tf.dispose(Object.values(weights));
    throw error;
  }
  return {
    history: fields.history,
    modelWeights: unprefixed("model/", weights),
    optimizerWeights: unprefixed("optimizer/", weights),
  };
}

/** Removes a run's checkpoint once its result is saved. */
export async function deleteCheckpoint(dir: string, key: string): Promise<void> {
  await removeIfPresent(checkpointPath(dir, key));
}

function checkHeader(header: Record<string, unknown>) {
  const specs = checkWeightSpecs(header.specs, "specs");
  const modelBytes = requireFinite(header.modelBytes, "modelBytes");
  return {
    history: checkHistory(header.history, "history"),
    specs,
    modelBytes,
    modelSha256: requireSha256(header.modelSha256, "modelSha256"),
    optimizerSha256: requireSha256(header.optimizerSha256, "optimizerSha256"),
  };
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
