/**
 * The one schema check of what the store reads back (results, checkpoints, measurements):
 * types, finite numbers, one history entry per epoch, every required field. A problem is a
 * `StoredFieldError` naming the field; the store adds the file and the fix.
 */
import * as tf from "@tensorflow/tfjs";
import type { EpochMetrics } from "./train.ts";

/** Bump when the stored shape changes: older files are then reported, not misread. */
export const RESULTS_SCHEMA_VERSION = 1;

/** A field of a stored file that is missing, of the wrong type or not finite. */
export class StoredFieldError extends Error {
  /** The field's path, e.g. `history[2].testAccuracy`. */
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field} ${problem}`);
    this.name = "StoredFieldError";
    this.field = field;
  }
}

/** The fields every epoch of a history has, all finite numbers. */
export const EPOCH_FIELDS = [
  "epoch",
  "learningRate",
  "trainLoss",
  "testLoss",
  "testAccuracy",
  "trainSeconds",
  "evalSeconds",
] as const satisfies readonly (keyof EpochMetrics)[];

/** The fields an epoch has only when its run holds out a validation split; finite when there. */
export const OPTIONAL_EPOCH_FIELDS = [
  "validationLoss",
  "validationAccuracy",
] as const satisfies readonly (keyof EpochMetrics)[];

/** `value` as an object (not null, not an array), else a `StoredFieldError` naming `field`. */
export function requireRecord(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined) throw new StoredFieldError(field, "is missing");
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new StoredFieldError(field, `must be an object, is ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** `value` as a finite number, else a `StoredFieldError` naming `field`. */
export function requireFinite(value: unknown, field: string): number {
  if (value === undefined) throw new StoredFieldError(field, "is missing");
  if (value === null) {
    // JSON writes NaN and Infinity as null.
    throw new StoredFieldError(field, "is null (a value that was not finite when it was stored)");
  }
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new StoredFieldError(field, `must be a finite number, is ${describe(value)}`);
  }
  return value;
}

/** `value` as a string, else a `StoredFieldError` naming `field`. */
export function requireString(value: unknown, field: string): string {
  if (value === undefined) throw new StoredFieldError(field, "is missing");
  if (typeof value !== "string") {
    throw new StoredFieldError(field, `must be a string, is ${describe(value)}`);
  }
  return value;
}

/** `value` as a hex SHA-256 (64 digits), else a `StoredFieldError` naming `field`. */
export function requireSha256(value: unknown, field: string): string {
  const text = requireString(value, field);
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new StoredFieldError(field, `must be a SHA-256 of 64 hex digits, is "${text}"`);
  }
  return text;
}

/**
 * Checks a stored history: an array of `length` epochs (when given), the i-th with
 * `epoch: i + 1` and every field of `EPOCH_FIELDS` a finite number, those of
 * `OPTIONAL_EPOCH_FIELDS` finite where present, and no other field.
 */
export function checkHistory(value: unknown, field: string, length?: number): EpochMetrics[] {
  if (value === undefined) throw new StoredFieldError(field, "is missing");
  if (!Array.isArray(value)) throw new StoredFieldError(field, `must be an array of epochs`);
  if (length !== undefined && value.length !== length) {
    throw new StoredFieldError(
      field,
      `has ${value.length} epochs, the config trains ${length} (one entry per epoch)`,
    );
  }
  value.forEach((entry, i) => {
    const record = requireRecord(entry, `${field}[${i}]`);
    for (const name of EPOCH_FIELDS) requireFinite(record[name], `${field}[${i}].${name}`);
    for (const name of OPTIONAL_EPOCH_FIELDS) {
      if (name in record) requireFinite(record[name], `${field}[${i}].${name}`);
    }
    if (record.epoch !== i + 1) {
      throw new StoredFieldError(`${field}[${i}].epoch`, `is ${record.epoch}, expected ${i + 1}`);
    }
    const known: readonly string[] = [...EPOCH_FIELDS, ...OPTIONAL_EPOCH_FIELDS];
    const unknown = Object.keys(record).filter((name) => !known.includes(name));
    if (unknown.length > 0) {
      throw new StoredFieldError(`${field}[${i}]`, `has unknown field(s): ${unknown.join(", ")}`);
    }
  });
  return value as EpochMetrics[];
}

/** Checks that every number anywhere inside `value` is finite (and no value is null). */
export function checkFiniteTree(value: unknown, field: string): void {
  if (value === null || typeof value === "number") {
    requireFinite(value, field);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => checkFiniteTree(item, `${field}[${i}]`));
  } else if (typeof value === "object") {
    for (const [name, inner] of Object.entries(value)) checkFiniteTree(inner, `${field}.${name}`);
  }
}

/** Checks a weights manifest: names, whole-number shapes and a known dtype. */
export function checkWeightSpecs(value: unknown, field: string): tf.io.WeightsManifestEntry[] {
  if (!Array.isArray(value)) {
    throw new StoredFieldError(field, value === undefined ? "is missing" : "must be an array");
  }
  value.forEach((entry, i) => {
    const spec = requireRecord(entry, `${field}[${i}]`);
    requireString(spec.name, `${field}[${i}].name`);
    if (
      !Array.isArray(spec.shape) ||
      !spec.shape.every((size) => Number.isInteger(size) && size >= 0)
    ) {
      throw new StoredFieldError(`${field}[${i}].shape`, "must be an array of whole numbers");
    }
    if (spec.dtype !== "float32" && spec.dtype !== "int32") {
      throw new StoredFieldError(`${field}[${i}].dtype`, `must be float32 or int32`);
    }
  });
  return value as tf.io.WeightsManifestEntry[];
}

/**
 * The first tensor of `weights` that holds a NaN or an infinity, with how many such values it
 * has, or undefined when every value is finite.
 */
export function firstNonFinite(
  weights: tf.NamedTensorMap,
): { name: string; count: number; example: number } | undefined {
  for (const [name, tensor] of Object.entries(weights)) {
    if (tensor.dtype !== "float32") continue;
    const values = tensor.dataSync() as Float32Array;
    let count = 0;
    let example = 0;
    for (const value of values) {
      if (!Number.isFinite(value)) {
        if (count === 0) example = value;
        count++;
      }
    }
    if (count > 0) return { name, count, example };
  }
  return undefined;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return `the string "${value.slice(0, 40)}"`;
  return `a ${typeof value}`;
}

/**
 * Throws when a tensor of `weights` holds NaN or an infinity, naming its layer and weight:
 * such weights are never stored. `what` starts the message.
 */
export function refuseNonFinite(weights: tf.NamedTensorMap, what: string): void {
  const bad = firstNonFinite(weights);
  if (bad === undefined) return;
  const [part, ...rest] = bad.name.split("/");
  const isOptimizer = part === "optimizer";
  const name = part === "model" || isOptimizer ? rest.join("/") : bad.name;
  throw new Error(
    `${what}: layer ${name.split("/")[0]} (${name}${isOptimizer ? "'s momentum" : ""}) holds ` +
      `${bad.count} value(s) that are not finite (e.g. ${bad.example}); training diverged or ` +
      `the weights were damaged, so nothing was written. Lower the learning rate, or run the ` +
      `same command with --retrain`,
  );
}

/** Throws when `bytes` is not the size `specs` asks for (4 bytes a value): truncated or corrupt. */
export function checkWeightsSize(
  bytes: Uint8Array,
  specs: tf.io.WeightsManifestEntry[],
  path: string,
  alsoFix = "",
): void {
  const expected = specs.reduce(
    (sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1) * 4,
    0,
  );
  if (bytes.byteLength !== expected) {
    throw new Error(
      `The weights file ${path} holds ${bytes.byteLength} bytes, its manifest says ${expected}; ` +
        `it is truncated or corrupt: delete it and train again${alsoFix ? ` ${alsoFix}` : ""}`,
    );
  }
}

/** Decodes weights after checking their size against the manifest (the caller disposes them). */
export function decodeWeights(
  bytes: Uint8Array,
  specs: tf.io.WeightsManifestEntry[],
  path: string,
  alsoFix = "",
): tf.NamedTensorMap {
  checkWeightsSize(bytes, specs, path, alsoFix);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return tf.io.decodeWeights(buffer as ArrayBuffer, specs);
}
