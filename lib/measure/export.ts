/**
 * The `model.json` + weights files a web app loads with TensorFlow.js, in float32, float16 or
 * uint8, written the way tensorflowjs_converter writes them, and read back as a browser would.
 */
import * as tf from "@tensorflow/tfjs";
import { float32ToFloat16Bits, quantizeUint8 } from "./low_precision.ts";

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

/** The artifacts `model.save` would write, captured in memory (no file). */
export async function modelArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
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
