/**
 * What it costs to deploy a trained model: how long one image takes (the latency a user
 * feels), how small its weights get at lower precision and what accuracy that costs, and the
 * `model.json` + weights files a web app loads with TensorFlow.js.
 */
import * as tf from "@tensorflow/tfjs";
import { IMAGE_SIZE as PIXELS, type MnistSplit } from "../data/mnist.ts";
import { median } from "./cost.ts";
import { loadTrainedModel } from "../training/trained_model.ts";
import {
  defaultResultsDir,
  loadMeasurement,
  type RunResult,
  saveMeasurement,
} from "../training/results.ts";
import { evaluateModel } from "../training/train.ts";
import { formatCount, formatMB } from "../common/format.ts";

// ---------------------------------------------------------------------------------------------
// Latency

/** The time one image takes, from pixels to the answer read back (batch 1). */
export interface LatencyMeasurement {
  medianMs: number;
  /** 95 in 100 images answer at least this fast. */
  p95Ms: number;
  minMs: number;
  /** Timed runs (warm-up runs excluded). */
  repeats: number;
}

/**
 * Latency of one image (batch 1) as an app sees it: build the input, predict, and wait for the
 * answer (`dataSync`). Images cycle through `examples`; the first `warmup` runs are not timed
 * (the first predictions compile kernels and allocate memory).
 */
export function measureLatency(
  model: tf.LayersModel,
  examples: MnistSplit,
  options: { repeats?: number; warmup?: number } = {},
): LatencyMeasurement {
  const repeats = options.repeats ?? 200;
  const warmup = options.warmup ?? 20;
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new Error(`repeats must be a positive integer, got ${repeats}`);
  }
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new Error(`warmup must be a whole number, got ${warmup}`);
  }
  if (examples.count < 1) throw new Error("measureLatency() needs at least one image");
  const times: number[] = [];
  for (let run = 0; run < warmup + repeats; run++) {
    const index = run % examples.count;
    const started = performance.now();
    tf.tidy(() => {
      const x = tf.tensor4d(examples.images.subarray(index * PIXELS, (index + 1) * PIXELS), [
        1,
        28,
        28,
        1,
      ]);
      (model.predict(x) as tf.Tensor).dataSync();
    });
    if (run >= warmup) times.push(performance.now() - started);
  }
  return {
    medianMs: median(times),
    p95Ms: percentile(times, 95),
    minMs: Math.min(...times),
    repeats,
  };
}

/**
 * The `p`-th percentile by the nearest-rank method: the smallest value with at least `p`% of
 * the values at or below it (p95 of 200 timings is the 190th fastest).
 */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) throw new Error("percentile() needs at least one value");
  if (!(p > 0 && p <= 100)) throw new Error(`percentile p must be in (0, 100], got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p * sorted.length) / 100) - 1)];
}

// ---------------------------------------------------------------------------------------------
// Half precision

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/**
 * The IEEE 754 half-precision bits nearest to `value` (rounded to float32 first): round to
 * nearest, ties to even; below 2^-14 the result is subnormal, below 2^-25 it is ±0, from 65520
 * on it is ±Infinity; NaN stays NaN.
 */
export function float32ToFloat16Bits(value: number): number {
  F32[0] = value;
  const bits = U32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Inf, or a quiet NaN
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // too large: overflows to infinity
  if (halfExponent <= 0) {
    // A subnormal half, m x 2^-24: shift the 24-bit significand (implicit 1 included) right.
    if (halfExponent < -10) return sign; // below half the smallest subnormal: ±0
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShifted(significand, shift); // a carry makes the smallest normal, rightly
  }
  // A normal half: keep 10 of the 23 mantissa bits; a carry may move up to the next exponent,
  // or to infinity above 65504, both correct.
  return sign | roundShifted((halfExponent << 23) | mantissa, 13);
}

/** The value of half-precision `bits` (a number from 0 to 0xffff). */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Each value rounded to the nearest half-precision number, back as float32. */
export function roundToFloat16(values: Float32Array): Float32Array {
  return values.map((value) => float16BitsToFloat32(float32ToFloat16Bits(value)));
}

// `value >> shift`, rounded to nearest with ties to even.
function roundShifted(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

// ---------------------------------------------------------------------------------------------
// 8-bit quantization

/**
 * Symmetric int8 quantization as mobile runtimes do it (TensorFlow Lite's int8 scheme): each
 * output channel c gets its own scale `s[c] = max|w[c]| / 127` and stores `round(w / s[c])` in
 * [-127, 127]; zero stays exactly zero. The output channel is the last axis of a tf.js kernel
 * ([kh, kw, C_in, C_out] or [in, out]). With `perChannel: false` one scale serves the tensor.
 */
export function quantizeInt8(
  values: Float32Array,
  shape: number[],
  options: { perChannel?: boolean } = {},
): { quantized: Int8Array; scales: Float32Array; dequantized: Float32Array } {
  const channels = options.perChannel === false || shape.length === 0 ? 1 : shape.at(-1)!;
  const maxAbs = new Float64Array(channels);
  for (let i = 0; i < values.length; i++) {
    const c = i % channels;
    maxAbs[c] = Math.max(maxAbs[c], Math.abs(values[i]));
  }
  const scales = Float32Array.from(maxAbs, (m) => m / 127);
  const quantized = new Int8Array(values.length);
  const dequantized = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const scale = scales[i % channels];
    const q = scale === 0 ? 0 : Math.max(-127, Math.min(127, roundHalfEven(values[i] / scale)));
    quantized[i] = q;
    dequantized[i] = q * scale;
  }
  return { quantized, scales, dequantized };
}

/**
 * Affine uint8 quantization as tfjs-converter writes it (`quantization.py`): 256 levels from
 * `min` to `min + 255 * scale`, the range nudged so that 0 is one of them; tf.js dequantizes on
 * load as `q * scale + min`. One scale and min per tensor.
 */
export function quantizeUint8(
  values: Float32Array,
): { quantized: Uint8Array; scale: number; min: number; dequantized: Float32Array } {
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  const quantized = new Uint8Array(values.length);
  if (values.length === 0 || low === high) {
    // One value: every q is 0 and min is that value (tfjs-converter does the same).
    const min = values.length === 0 ? 0 : low;
    return { quantized, scale: 1, min, dequantized: new Float32Array(values.length).fill(min) };
  }
  const scale = (high - low) / 255;
  let min = low;
  let max = high;
  if (low <= 0 && 0 <= high) {
    min = -roundHalfEven(-low / scale) * scale;
    max = 255 * scale + min;
  }
  const dequantized = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const clipped = Math.min(max, Math.max(min, values[i]));
    quantized[i] = roundHalfEven((clipped - min) / scale);
    dequantized[i] = quantized[i] * scale + min; // what tf.js computes on load
  }
  return { quantized, scale, min, dequantized };
}

// numpy's np.round, which tfjs-converter uses: halves go to the even neighbour.
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// ---------------------------------------------------------------------------------------------
// Quantized weights of a model

/**
 * The precisions compared here.
 * - `float32`: as trained, 4 bytes a weight.
 * - `float16`: every weight rounded to half precision, 2 bytes.
 * - `int8`: kernels (conv and dense) symmetric int8 with one float32 scale per output channel,
 *   1 byte a weight; the small vectors (biases, BatchNorm) stay float32, as int8 runtimes keep
 *   biases at 32 bits and fold BatchNorm into the conv. Per channel, because one channel with
 *   large weights would otherwise set the step for all and round small channels to a few levels.
 * - `uint8`: tfjs-converter's format, affine uint8 with one scale and min per tensor (all
 *   tensors): what a TensorFlow.js web app can load (`exportModel`).
 */
export type Precision = "float32" | "float16" | "int8" | "uint8";

/** The precisions, from largest to smallest. */
export const PRECISIONS: readonly Precision[] = ["float32", "float16", "int8", "uint8"];

/** A model's weights at a lower precision. */
export interface QuantizedWeights {
  precision: Precision;
  /** Bytes the weights take at this precision, scales and float32 vectors included. */
  bytes: number;
  /** The same weights as float32. */
  float32Bytes: number;
  /** Largest |original - dequantized| over all weights. */
  maxAbsError: number;
  /** The weights dequantized back to float32, by name (as `model.save` names them); the caller disposes them. */
  tensors: tf.NamedTensorMap;
}

/**
 * Rounds every weight of `model` to `precision` and back to float32, to measure what lower
 * precision costs; `model` is not changed. Dispose `tensors` when done.
 */
export function quantizeWeights(
  model: tf.LayersModel,
  precision: Precision,
  options: { perChannel?: boolean } = {},
): QuantizedWeights {
  checkPrecision(precision);
  const tensors: tf.NamedTensorMap = {};
  let bytes = 0;
  let float32Bytes = 0;
  let maxAbsError = 0;
  for (const weight of model.weights) {
    const shape = weight.shape as number[];
    const values = weight.read().dataSync() as Float32Array;
    const { dequantized, size } = quantizeTensor(values, shape, precision, options);
    for (let i = 0; i < values.length; i++) {
      maxAbsError = Math.max(maxAbsError, Math.abs(values[i] - dequantized[i]));
    }
    bytes += size;
    float32Bytes += values.length * 4;
    tensors[weight.originalName] = tf.tensor(dequantized, shape, "float32");
  }
  return { precision, bytes, float32Bytes, maxAbsError, tensors };
}

function quantizeTensor(
  values: Float32Array,
  shape: number[],
  precision: Precision,
  options: { perChannel?: boolean },
): { dequantized: Float32Array; size: number } {
  switch (precision) {
    case "float32":
      return { dequantized: values.slice(), size: values.length * 4 };
    case "float16":
      return { dequantized: roundToFloat16(values), size: values.length * 2 };
    case "int8": {
      if (shape.length < 2) return { dequantized: values.slice(), size: values.length * 4 };
      const { dequantized, scales } = quantizeInt8(values, shape, options);
      return { dequantized, size: values.length + scales.length * 4 };
    }
    case "uint8": // one byte a weight, plus scale and min as float32
      return { dequantized: quantizeUint8(values).dequantized, size: values.length + 8 };
  }
}

/** Throws a clear error for a precision this module does not know. */
export function checkPrecision(precision: string): Precision {
  if ((PRECISIONS as readonly string[]).includes(precision)) return precision as Precision;
  throw new Error(`Unknown precision "${precision}"; use one of: ${PRECISIONS.join(", ")}`);
}

/** Accuracy and loss after quantizing, and the size the weights take. */
export interface QuantizedEvaluation {
  precision: Precision;
  accuracy: number;
  loss: number;
  bytes: number;
  float32Bytes: number;
}

/**
 * Test accuracy and loss of `model` with its weights at `precision` (dequantized into a copy of
 * the model: the caller's model keeps its weights).
 */
export async function evaluateQuantized(
  model: tf.LayersModel,
  examples: MnistSplit,
  options: { precision: Precision; batchSize?: number; perChannel?: boolean },
): Promise<QuantizedEvaluation> {
  const quantized = quantizeWeights(model, options.precision, options);
  let copy: tf.LayersModel | undefined;
  try {
    copy = await copyModel(model, quantized.tensors);
    const { loss, accuracy } = evaluateModel(copy, examples, { batchSize: options.batchSize });
    return {
      precision: quantized.precision,
      accuracy,
      loss,
      bytes: quantized.bytes,
      float32Bytes: quantized.float32Bytes,
    };
  } finally {
    copy?.dispose();
    tf.dispose(Object.values(quantized.tensors));
  }
}

/** A new model with `model`'s architecture and the given weights (by name); the caller disposes it. */
export async function copyModel(
  model: tf.LayersModel,
  weights: tf.NamedTensorMap,
): Promise<tf.LayersModel> {
  const artifacts = await modelArtifacts(model);
  const { data, specs } = await tf.io.encodeWeights(weights);
  return await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: artifacts.modelTopology,
    weightSpecs: specs,
    weightData: data,
  }));
}

// ---------------------------------------------------------------------------------------------
// Export for a web app

/** The weight formats a TensorFlow.js app can load. */
export type ExportFormat = "float32" | "float16" | "uint8";

/** The files `exportModel` wrote and their sizes. */
export interface ExportedModel {
  format: ExportFormat;
  modelJsonPath: string;
  weightsPath: string;
  modelJsonBytes: number;
  weightBytes: number;
  /** Both files: what a web app downloads. */
  totalBytes: number;
}

/** The weights file's name, as tensorflowjs_converter names a single shard. */
export const WEIGHTS_FILE = "group1-shard1of1.bin";

/**
 * Writes `model` as TensorFlow.js files: `dir/model.json` (architecture and weights manifest)
 * and `dir/group1-shard1of1.bin`; a web app loads them with
 * `tf.loadLayersModel("…/model.json")`. `quantize` stores the weights as float16 or as affine
 * uint8 the way tensorflowjs_converter's `--quantize_float16` / `--quantize_uint8` do; tf.js
 * turns them back into float32 when it loads them.
 */
export async function exportModel(
  model: tf.LayersModel,
  dir: string,
  options: { quantize?: "float16" | "uint8" } = {},
): Promise<ExportedModel> {
  const format: ExportFormat = options.quantize ?? "float32";
  if (!["float32", "float16", "uint8"].includes(format)) {
    throw new Error(
      `exportModel() can quantize to "float16" or "uint8" (tf.js loads no other format), ` +
        `got "${options.quantize}"`,
    );
  }
  const artifacts = await modelArtifacts(model);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const weight of model.weights) {
    const name = weight.originalName;
    const shape = weight.shape as number[];
    const values = weight.read().dataSync() as Float32Array;
    if (format === "float32") {
      specs.push({ name, shape, dtype: "float32" });
      chunks.push(new Uint8Array(values.slice().buffer));
    } else if (format === "float16") {
      specs.push({ name, shape, dtype: "float32", quantization: { dtype: "float16" } });
      const halves = Uint16Array.from(values, float32ToFloat16Bits);
      chunks.push(new Uint8Array(halves.buffer));
    } else {
      const { quantized, scale, min } = quantizeUint8(values);
      specs.push({ name, shape, dtype: "float32", quantization: { dtype: "uint8", scale, min } });
      chunks.push(quantized);
    }
  }
  const weightData = concatBytes(chunks);
  const modelJson = {
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: `sizewise exportModel (${format})`,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: specs }],
  };
  const jsonBytes = new TextEncoder().encode(JSON.stringify(modelJson));
  await Deno.mkdir(dir, { recursive: true });
  const weightsPath = `${dir}/${WEIGHTS_FILE}`;
  const modelJsonPath = `${dir}/model.json`;
  // Weights first: a model.json is never beside weights it does not describe.
  await Deno.writeFile(weightsPath, weightData);
  await Deno.writeFile(modelJsonPath, jsonBytes);
  return {
    format,
    modelJsonPath,
    weightsPath,
    modelJsonBytes: jsonBytes.length,
    weightBytes: weightData.length,
    totalBytes: jsonBytes.length + weightData.length,
  };
}

/**
 * An IOHandler that loads a `model.json` and its weight files from disk, as
 * `tf.loadLayersModel` does over HTTP in a browser (Deno has no `file://` handler).
 */
export function fileLoadHandler(modelJsonPath: string): tf.io.IOHandler {
  const dir = modelJsonPath.includes("/")
    ? modelJsonPath.slice(0, modelJsonPath.lastIndexOf("/"))
    : ".";
  return {
    async load() {
      const modelJson = JSON.parse(await Deno.readTextFile(modelJsonPath)) as tf.io.ModelJSON;
      return await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const chunks: Uint8Array[] = [];
        for (const group of manifest) {
          for (const path of group.paths) {
            if (path.startsWith("/") || path.split("/").includes("..")) {
              throw new Error(`${modelJsonPath} names a weights file outside its folder: ${path}`);
            }
            chunks.push(await Deno.readFile(`${dir}/${path}`));
          }
        }
        const bytes = concatBytes(chunks);
        return [tf.io.getWeightSpecs(manifest), bytes.buffer as ArrayBuffer];
      });
    },
  };
}

/** Loads a model that `exportModel` wrote into `dir`, as a web app would; the caller disposes it. */
export async function loadExportedModel(dir: string): Promise<tf.LayersModel> {
  return await tf.loadLayersModel(fileLoadHandler(`${dir}/model.json`));
}

// ---------------------------------------------------------------------------------------------
// All of it for one stored result, measured once and stored

/** A trained model's deployment figures. */
export interface DeploymentRow {
  model: string;
  /** The stored result these figures come from. */
  key: string;
  backend: string;
  trainableParams: number;
  macsPerImage: number;
  latency: LatencyMeasurement;
  /** Test images the accuracies were measured on (the result's own test set). */
  testImages: number;
  /** The result's stored final test accuracy, which `float32` reproduces. */
  storedAccuracy: number;
  /** Size, accuracy and loss at each precision, after dequantizing. */
  precisions: Record<Precision, { bytes: number; accuracy: number; loss: number }>;
  /** Sizes of the exported files (`model.json` + weights) in each web format. */
  exports: Record<ExportFormat, { modelJsonBytes: number; weightBytes: number; dir: string }>;
}

/** Bump when `DeploymentRow` changes shape: older stored rows are then measured again. */
const DEPLOYMENT_VERSION = 1;

/**
 * Everything a deployment decision needs about one stored result: latency per image, accuracy
 * and size at each precision, and the exported files (kept in `<resultsDir>/exports/<key>/`).
 * Measured once and stored (`measurements/deployment_v1_<key>.json`); `remeasure` measures again.
 * `test` must be the result's own test set (the data its config loads).
 */
export async function measureDeployment(
  result: RunResult,
  test: MnistSplit,
  options: {
    /** Where the result and its weights are stored; default `defaultResultsDir()`. */
    resultsDir?: string;
    /** Where measurements and exports go; default `defaultResultsDir()`. */
    measurementsDir?: string;
    remeasure?: boolean;
    repeats?: number;
    warmup?: number;
  } = {},
): Promise<DeploymentRow> {
  const config = result.config;
  if (test.count !== config.testSize) {
    throw new Error(
      `${result.key} was tested on ${config.testSize} images, the data given has ${test.count}; ` +
        `pass the test split of loadMnist({ trainSize, testSize, seed }) with its config's values`,
    );
  }
  const dir = options.measurementsDir ?? defaultResultsDir();
  const name = `deployment_v${DEPLOYMENT_VERSION}_${result.key}`;
  if (!options.remeasure) {
    const stored = await loadMeasurement<DeploymentRow>(dir, name);
    if (stored) return stored;
  }
  const model = await loadTrainedModel(result, { resultsDir: options.resultsDir });
  try {
    const latency = measureLatency(model, test, options);
    const precisions = {} as DeploymentRow["precisions"];
    for (const precision of PRECISIONS) {
      const evaluation = await evaluateQuantized(model, test, {
        precision,
        batchSize: config.evalBatchSize,
      });
      precisions[precision] = {
        bytes: evaluation.bytes,
        accuracy: evaluation.accuracy,
        loss: evaluation.loss,
      };
    }
    const exports = {} as DeploymentRow["exports"];
    for (const format of ["float32", "float16", "uint8"] as const) {
      const exportDir = `${dir}/exports/${result.key}/${format}`;
      const written = await exportModel(model, exportDir, {
        quantize: format === "float32" ? undefined : format,
      });
      exports[format] = {
        modelJsonBytes: written.modelJsonBytes,
        weightBytes: written.weightBytes,
        dir: exportDir,
      };
    }
    const costs = result.costs as { trainableParams?: number; macsPerImage?: number };
    const row: DeploymentRow = {
      model: config.model,
      key: result.key,
      backend: tf.getBackend(),
      trainableParams: costs.trainableParams ?? 0,
      macsPerImage: costs.macsPerImage ?? 0,
      latency,
      testImages: test.count,
      storedAccuracy: result.history.at(-1)!.testAccuracy,
      precisions,
      exports,
    };
    await saveMeasurement(dir, name, row);
    return row;
  } finally {
    model.dispose();
  }
}

/** Latency per image and arithmetic per image, one row per model, as a Markdown table. */
export function formatLatency(rows: DeploymentRow[]): string {
  return markdownTable(
    ["model", "params", "MACs/image", "latency median ms", "latency p95 ms", "images/s (median)"],
    rows.map((row) => [
      row.model,
      formatCount(row.trainableParams),
      formatCount(row.macsPerImage),
      row.latency.medianMs.toFixed(2),
      row.latency.p95Ms.toFixed(2),
      formatCount(1000 / row.latency.medianMs),
    ]),
  );
}

/** Weight size and test accuracy at each precision, one row per model, as a Markdown table. */
export function formatQuantization(rows: DeploymentRow[]): string {
  const header = ["model", ...PRECISIONS.map((p) => `${p} MB`), ...PRECISIONS.map((p) => p)];
  return markdownTable(
    header,
    rows.map((row) => {
      const base = row.precisions.float32.accuracy;
      return [
        row.model,
        ...PRECISIONS.map((p) => formatMB(row.precisions[p].bytes / 2 ** 20)),
        ...PRECISIONS.map((p) => {
          const accuracy = row.precisions[p].accuracy;
          const change = (accuracy - base) * 100;
          const delta = p === "float32"
            ? ""
            : ` (${change >= 0 ? "+" : "−"}${Math.abs(change).toFixed(2)})`;
          return `${(accuracy * 100).toFixed(2)}%${delta}`;
        }),
      ];
    }),
  );
}

/** What a web app downloads in each format (`model.json` + weights), as a Markdown table. */
export function formatExports(rows: DeploymentRow[]): string {
  const formats = ["float32", "float16", "uint8"] as const;
  return markdownTable(
    ["model", "model.json KB", ...formats.map((f) => `${f} download KB`)],
    rows.map((row) => [
      row.model,
      (row.exports.float32.modelJsonBytes / 1024).toFixed(1),
      ...formats.map((f) =>
        ((row.exports[f].modelJsonBytes + row.exports[f].weightBytes) / 1024).toFixed(1)
      ),
    ]),
  );
}

// ---------------------------------------------------------------------------------------------

// The artifacts `model.save` would write (topology, format, generator), captured in memory.
async function modelArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((artifacts) => {
    captured = artifacts;
    return Promise.resolve({ modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) });
  }));
  return captured!;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function markdownTable(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "--:")).join("|")}|`,
    ...rows.map((cells) => `| ${cells.join(" | ")} |`),
  ].join("\n");
}
