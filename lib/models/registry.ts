/**
 * The model registry: one entry per model, and everything that lists models (tables, charts,
 * the reproduction, the bench, the notebooks) reads it. Adding a model is one entry here.
 */
import type * as tf from "@tensorflow/tfjs";
import { ARTICLE_FIGURES, type ArticleFigures } from "./article.ts";
import {
  buildKerasCnn,
  buildKerasMlp,
  type BuildOptions,
  buildPytorchGap,
  buildPytorchNet,
  buildSmallNet,
} from "./builders.ts";

/** A model builder: returns a fresh model on every call. */
export type ModelBuilder = (options?: BuildOptions) => tf.Sequential;

/** One model of the registry. */
export interface ModelEntry {
  /** The name every task, table and chart uses, e.g. "small-net". */
  name: string;
  /** The name a reader knows it by, e.g. "Small Net". */
  title: string;
  /** One line: what it is. */
  description: string;
  build: ModelBuilder;
  /** Its colour in every chart (Tableau 10, readable on white). */
  color: string;
  /** What the article reports for it, where it gives figures. */
  article?: ArticleFigures;
}

/** The registered models, in the article's order. */
export const MODEL_REGISTRY: ModelEntry[] = [
  {
    name: "keras-mlp",
    title: "Keras MLP",
    description: "Keras' mnist_mlp: dense 512, dense 512, dense 10, dropout 0.2",
    build: buildKerasMlp,
    color: "#4e79a7",
  },
  {
    name: "keras-cnn",
    title: "Keras CNN",
    description: "Keras' mnist_cnn: conv 32@3x3, conv 64@3x3, max pool, dense 128, dense 10",
    build: buildKerasCnn,
    color: "#f28e2b",
  },
  {
    name: "pytorch",
    title: "PyTorch",
    description: "the 2018 pytorch/examples net: conv 10@5x5, conv 20@5x5, dense 50, dense 10",
    build: buildPytorchNet,
    color: "#59a14f",
  },
  {
    name: "pytorch-gap",
    title: "PyTorch CNN (GAP)",
    description: "the same two convs, then conv 10@3x3 and global average pooling",
    build: buildPytorchGap,
    color: "#b07aa1",
  },
  {
    name: "small-net",
    title: "Small Net",
    description: "conv 5@3x3 + BatchNorm + LeakyReLU, conv 8@3x3 + LeakyReLU, GAP, dense 10",
    build: (options?: BuildOptions) => buildSmallNet(options),
    color: "#e15759",
  },
].map((entry) => ({ ...entry, article: ARTICLE_FIGURES[entry.name] }));

/** The model names, in the article's order (kept in step with the registry). */
export const MODEL_NAMES: string[] = MODEL_REGISTRY.map((entry) => entry.name);

/**
 * Adds a model to the registry (e.g. your own, or a test's throwaway one) and returns a
 * function that removes it again. A name already taken is an error.
 */
export function registerModel(entry: ModelEntry): () => void {
  if (MODEL_NAMES.includes(entry.name)) {
    throw new Error(`A model named "${entry.name}" is already registered; pick another name`);
  }
  MODEL_REGISTRY.push(entry);
  MODEL_NAMES.push(entry.name);
  return () => {
    const at = MODEL_NAMES.indexOf(entry.name);
    if (at >= 0) {
      MODEL_REGISTRY.splice(at, 1);
      MODEL_NAMES.splice(at, 1);
    }
  };
}

/** The registry entry of `name`; an unknown name is an error that lists the known ones. */
export function modelEntry(name: string): ModelEntry {
  const entry = MODEL_REGISTRY.find((candidate) => candidate.name === name);
  if (entry) return entry;
  throw new Error(`Unknown model "${name}"; choose one of: ${MODEL_NAMES.join(", ")}`);
}

/** Builds the model called `name`; an unknown name is an error that lists the known ones. */
export function buildModel(name: string, options: BuildOptions = {}): tf.Sequential {
  return modelEntry(name).build(options);
}

/** Returns `name` if it is a known model, else throws an error listing the known ones. */
export function checkModelName(name: string): string {
  return modelEntry(name).name;
}

// Other names (grid-search candidates, variants) get one of these, chosen by a hash of the
// name so that a name keeps its colour across charts and notebook runs.
const FALLBACK_COLORS = [
  "#76b7b2",
  "#9c755f",
  "#edc948",
  "#ff9da7",
  "#7f7f7f",
  "#2f6f8f",
  "#8cd17d",
  "#d37295",
];

/** The colour of `model` in every chart: its registry colour, else one hashed from its name. */
export function modelColor(model: string): string {
  const entry = MODEL_REGISTRY.find((candidate) => candidate.name === model);
  if (entry) return entry.color;
  let hash = 2166136261; // FNV-1a
  for (let i = 0; i < model.length; i++) {
    hash = Math.imul(hash ^ model.charCodeAt(i), 16777619);
  }
  return FALLBACK_COLORS[(hash >>> 0) % FALLBACK_COLORS.length];
}

/** Whether the named model has batch norm, whose statistics depend on the whole batch. */
export function hasBatchNorm(name: string): boolean {
  const model = buildModel(name);
  try {
    return batchNormLayer(model) !== undefined;
  } finally {
    model.dispose();
  }
}

/** `model`'s first batch norm layer, if it has one. */
export function batchNormLayer(model: tf.LayersModel): tf.layers.Layer | undefined {
  return model.layers.find((layer) => layer.getClassName() === "BatchNormalization");
}
