/**
 * MNIST as arrays: fetches and verifies the files, parses them, and picks a seeded subset.
 */
import * as tf from "@tensorflow/tfjs";
import { formatCount } from "../common/format.ts";
import { formatTable } from "../common/markdown.ts";
import {
  checkSameCount,
  IMAGE_COLS,
  IMAGE_ROWS,
  IMAGE_SIZE,
  NUM_CLASSES,
  parseIdxImages,
  parseIdxLabels,
} from "./idx.ts";
import {
  defaultMnistDir,
  ensureMnistFiles,
  MNIST_FILES,
  type MnistFileName,
  readMnistFile,
  refetchHint,
} from "./mnist_files.ts";
import { deriveSeed, shuffledIndices } from "./random.ts";

/** The image and class constants, from the IDX format's module. */
export { IMAGE_SIZE, NUM_CLASSES } from "./idx.ts";

/** Examples in the MNIST training set. */
export const MNIST_TRAIN_SIZE = 60_000;
/** Examples in the MNIST test set. */
export const MNIST_TEST_SIZE = 10_000;

/** One split of MNIST, in the order the seeded shuffle chose. */
export interface MnistSplit {
  /** count × 784 pixels, row by row, scaled from 0-255 to [0, 1]. */
  images: Float32Array;
  /** The digit 0-9 of each image. */
  labels: Uint8Array;
  count: number;
}

/** The training and test splits, and the validation split when one was asked for. */
export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
  /** Held out of MNIST's training images, disjoint from `train`: for choosing, never training. */
  validation?: MnistSplit;
}

/**
 * The validation split's size when one is used: 5,000 of MNIST's 60,000 training images, the
 * same images for every run (their own fixed seed), so choices made on it compare like with
 * like. Training then draws from the other 55,000.
 */
export const VALIDATION_SIZE = 5_000;

// The validation images are picked by this seed alone, never by a run's seed.
const VALIDATION_SEED = 0x76616c69; // "vali"

/** Options of `loadMnist`. */
export interface LoadMnistOptions {
  /** Folder holding the .gz files; default data/mnist in the project. */
  dir?: string;
  /** Where to fetch missing files from (folder or http(s) URL base); default env MNIST_MIRROR, else the public mirrors. */
  mirror?: string;
  /** Training examples to keep after the shuffle; default all 60,000. */
  trainSize?: number;
  /** Test examples to keep after the shuffle; default all 10,000. */
  testSize?: number;
  /** Seed of the shuffles that order each split (a smaller size keeps a prefix); default 0. */
  seed?: number;
  /**
   * Training images held out as a validation split (default 0: none). They are the same for
   * every seed; `trainSize` then counts from the remaining 60,000 - validationSize.
   */
  validationSize?: number;
}

// Tags the data shuffles in deriveSeed so they never share a stream with a layer or an epoch.
const DATA_SEED_TAG = 0x6d6e6973; // "mnis"
const TRAIN_SPLIT = 0;
const TEST_SPLIT = 1;

/** Loads MNIST (fetching and verifying the files first), shuffled by `seed`, cut to the sizes asked. */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<Mnist> {
  // Checked before anything is read or downloaded.
  const validationSize = options.validationSize ?? 0;
  if (
    !Number.isInteger(validationSize) || validationSize < 0 || validationSize >= MNIST_TRAIN_SIZE
  ) {
    throw new Error(
      `validationSize must be a whole number from 0 to ${
        MNIST_TRAIN_SIZE - 1
      }; got ${validationSize}`,
    );
  }
  const trainPool = MNIST_TRAIN_SIZE - validationSize;
  const trainSize = checkSize(
    "trainSize",
    options.trainSize ?? trainPool,
    trainPool,
    validationSize === 0
      ? "the size of the MNIST training set"
      : `MNIST's ${MNIST_TRAIN_SIZE} training images less the ${validationSize} held out for validation`,
  );
  const testSize = checkSize(
    "testSize",
    options.testSize,
    MNIST_TEST_SIZE,
    "the size of the MNIST test set",
  );
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) {
    throw new Error(`seed must be an integer; got ${seed}`);
  }
  const dir = options.dir ?? defaultMnistDir();
  await ensureMnistFiles({ dir, mirror: options.mirror });
  const [trainAndValidation, testSplit] = await Promise.all([
    readSplit(dir, {
      imagesFile: MNIST_FILES.trainImages,
      labelsFile: MNIST_FILES.trainLabels,
      size: trainSize,
      seed: deriveSeed(seed, DATA_SEED_TAG, TRAIN_SPLIT),
      validationSize,
    }),
    readSplit(dir, {
      imagesFile: MNIST_FILES.testImages,
      labelsFile: MNIST_FILES.testLabels,
      size: testSize,
      seed: deriveSeed(seed, DATA_SEED_TAG, TEST_SPLIT),
    }),
  ]);
  const { train, validation } = trainAndValidation;
  const test = testSplit.train;
  return validation ? { train, test, validation } : { train, test };
}

/**
 * Which of `total` training images go to validation and which to training, in order: the
 * validation images are the first `validationSize` of a shuffle by their own fixed seed; the
 * rest are shuffled by `seed` and cut to `trainSize`. Pure, so tests can check disjointness.
 */
export function splitTrainingIndices(
  total: number,
  options: { trainSize: number; validationSize: number; seed: number },
): { train: Int32Array; validation: Int32Array } {
  const { trainSize, validationSize, seed } = options;
  if (validationSize === 0) {
    // Without validation, the order every stored result was trained on: keep it.
    return {
      train: shuffledIndices(total, seed).slice(0, trainSize),
      validation: new Int32Array(),
    };
  }
  const fixed = shuffledIndices(total, VALIDATION_SEED);
  const validation = fixed.slice(0, validationSize);
  const rest = fixed.slice(validationSize);
  const order = shuffledIndices(rest.length, seed);
  const train = new Int32Array(trainSize);
  for (let k = 0; k < trainSize; k++) train[k] = rest[order[k]];
  return { train, validation };
}

/** Turns a split into tensors: xs [n, 28, 28, 1] float32 and ys [n] int32; the caller disposes them. */
export function splitToTensors(split: MnistSplit): { xs: tf.Tensor4D; ys: tf.Tensor1D } {
  if (split.images.length !== split.count * IMAGE_SIZE || split.labels.length !== split.count) {
    throw new Error(
      `Inconsistent MNIST split: count ${split.count}, ${split.images.length} pixels ` +
        `(expected ${split.count * IMAGE_SIZE}) and ${split.labels.length} labels; ` +
        `pass a split from loadMnist() unchanged`,
    );
  }
  const xs = tf.tensor4d(split.images, [split.count, IMAGE_ROWS, IMAGE_COLS, 1]);
  const ys = tf.tensor1d(Int32Array.from(split.labels), "int32");
  return { xs, ys };
}

/** How many examples of each digit 0-9 a split holds. */
export function classCounts(split: MnistSplit): number[] {
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  for (const label of split.labels) counts[label]++;
  return counts;
}

/** A Markdown table of `classCounts` with a column per digit and a row per named split. */
export function formatClassCounts(splits: Record<string, MnistSplit>): string {
  const digits = Array.from({ length: NUM_CLASSES }, (_, digit) => digit);
  return formatTable(
    ["digit", ...digits.map(String)],
    Object.entries(splits).map(([name, split]) => [
      name,
      ...classCounts(split).map(formatCount),
    ]),
    { align: ["l", ...digits.map(() => "r" as const)] },
  );
}

interface SplitPlan {
  imagesFile: MnistFileName;
  labelsFile: MnistFileName;
  size: number;
  seed: number;
  /** Training images to hold out as validation (the training file only). */
  validationSize?: number;
}

async function readSplit(
  dir: string,
  plan: SplitPlan,
): Promise<{ train: MnistSplit; validation?: MnistSplit }> {
  const [imageBytes, labelBytes] = await Promise.all([
    readMnistFile(dir, plan.imagesFile),
    readMnistFile(dir, plan.labelsFile),
  ]);
  const images = parseIdxImages(imageBytes, plan.imagesFile, {
    fix: refetchHint(dir, plan.imagesFile),
  });
  const allLabels = parseIdxLabels(labelBytes, plan.labelsFile, {
    fix: refetchHint(dir, plan.labelsFile),
  });
  checkSameCount(images, allLabels, plan);
  if (plan.size > images.count) {
    throw new Error(
      `${plan.imagesFile} holds only ${images.count} images, fewer than the ${plan.size} asked; ` +
        `ask for fewer or ${refetchHint(dir, plan.imagesFile)}`,
    );
  }
  const validationSize = plan.validationSize ?? 0;
  const indices = splitTrainingIndices(allLabels.length, {
    trainSize: plan.size,
    validationSize,
    seed: plan.seed,
  });
  const train = pickExamples(images.pixels, allLabels, indices.train);
  if (validationSize === 0) return { train };
  return { train, validation: pickExamples(images.pixels, allLabels, indices.validation) };
}

// A lookup table gives the same float32 as pixel / 255, without a division per pixel.
const PIXEL_SCALE = Float32Array.from({ length: 256 }, (_, value) => value / 255);

function pickExamples(pixels: Uint8Array, labels: Uint8Array, order: Int32Array): MnistSplit {
  const size = order.length;
  const images = new Float32Array(size * IMAGE_SIZE);
  const picked = new Uint8Array(size);
  for (let k = 0; k < size; k++) {
    const index = order[k];
    picked[k] = labels[index];
    const from = index * IMAGE_SIZE;
    const to = k * IMAGE_SIZE;
    for (let j = 0; j < IMAGE_SIZE; j++) images[to + j] = PIXEL_SCALE[pixels[from + j]];
  }
  return { images, labels: picked, count: size };
}

function checkSize(
  name: string,
  value: number | undefined,
  max: number,
  bound: string,
): number {
  if (value === undefined) return max;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(
      `${name} must be a whole number from 1 to ${max} (${bound}); got ${value}`,
    );
  }
  return value;
}
