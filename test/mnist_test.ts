import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { IMAGE_SIZE, parseIdxImages, parseIdxLabels } from "../lib/data/idx.ts";
import {
  classCounts,
  formatClassCounts,
  loadMnist,
  MNIST_TEST_SIZE,
  MNIST_TRAIN_SIZE,
  type MnistSplit,
  splitToTensors,
} from "../lib/data/mnist.ts";
import { MNIST_FILES, readMnistFile } from "../lib/data/mnist_files.ts";
import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "./assert.ts";

// The real files, read-only: MNIST_MIRROR (a folder), else ../shared/data/mnist beside the project.
const SOURCE_DIR = Deno.env.get("MNIST_MIRROR") ||
  fileURLToPath(new URL("../../shared/data/mnist/", import.meta.url));

// Class counts of the real splits (digits 0-9), as torchvision and tf.keras report them.
const TRAIN_CLASS_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

await tf.setBackend("cpu");

Deno.test("loadMnist() with trainSize 1000 and testSize 500 returns those shapes, pixels in [0, 1] and labels 0-9", async () => {
  await withTempDir(async (dir) => {
    const { train, test } = await loadMnist({
      dir,
      mirror: SOURCE_DIR,
      trainSize: 1000,
      testSize: 500,
    });
    for (const [split, count] of [[train, 1000], [test, 500]] as const) {
      assertStrictEquals(split.count, count);
      assertStrictEquals(split.images.length, count * 784);
      assertStrictEquals(split.labels.length, count);
      assertEquals(pixelRange(split.images), [0, 1]);
      assert(split.labels.every((label) => label <= 9));
      assert(classCounts(split).every((n) => n > 0), "a random subset holds every digit");
    }
  });
});

Deno.test("loadMnist() keeps each image with its own label through the shuffle", async () => {
  await withTempDir(async (dir) => {
    const { test } = await loadMnist({ dir, mirror: SOURCE_DIR, trainSize: 1, testSize: 500 });
    const raw = parseIdxImages(await readMnistFile(dir, MNIST_FILES.testImages), "images");
    const rawLabels = parseIdxLabels(await readMnistFile(dir, MNIST_FILES.testLabels), "labels");
    const labelsByImage = new Map<string, Set<number>>();
    for (let i = 0; i < raw.count; i++) {
      const key = raw.pixels.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE).join();
      labelsByImage.set(key, (labelsByImage.get(key) ?? new Set()).add(rawLabels[i]));
    }
    for (let k = 0; k < test.count; k++) {
      const scaled = test.images.subarray(k * IMAGE_SIZE, (k + 1) * IMAGE_SIZE);
      const key = Array.from(scaled, (value) => Math.round(value * 255)).join();
      assert(labelsByImage.get(key)?.has(test.labels[k]), `example ${k} lost its label`);
    }
  });
});

Deno.test("loadMnist() repeats its order for the same seed, changes it for another, and keeps prefixes", async () => {
  await withTempDir(async (dir) => {
    const options = { dir, mirror: SOURCE_DIR, trainSize: 300, testSize: 100 };
    const first = await loadMnist(options);
    const again = await loadMnist({ ...options, seed: 0 }); // 0 is the default
    assertEquals(again.train, first.train);
    assertEquals(again.test, first.test);
    const other = await loadMnist({ ...options, seed: 1 });
    assertNotEquals(Array.from(other.train.labels), Array.from(first.train.labels));
    assertNotEquals(Array.from(other.test.labels), Array.from(first.test.labels));
    const smaller = await loadMnist({ ...options, trainSize: 50, testSize: 20 });
    assertEquals(smaller.train.labels, first.train.labels.slice(0, 50));
    assertEquals(smaller.train.images, first.train.images.slice(0, 50 * 784));
    assertEquals(smaller.test.labels, first.test.labels.slice(0, 20));
  });
});

Deno.test("loadMnist() rejects a size that is not a whole number from 1 to the split's size, before any work", async () => {
  await withTempDir(async (parent) => {
    const dir = join(parent, "never-made");
    const mirror = join(parent, "no-mirror");
    const cases: [Record<string, number>, RegExp][] = [
      [{ trainSize: 0 }, /^Error: trainSize must be a whole number from 1 to 60000 .*; got 0$/],
      [{ trainSize: -5 }, /^Error: trainSize must be a whole number .*; got -5$/],
      [{ trainSize: 1.5 }, /^Error: trainSize must be a whole number .*; got 1\.5$/],
      [
        { trainSize: 70000 },
        /^Error: trainSize .* \(the size of the MNIST training set\); got 70000$/,
      ],
      [{ trainSize: NaN }, /^Error: trainSize must be .*; got NaN$/],
      [{ testSize: 0 }, /^Error: testSize must be a whole number from 1 to 10000 .*; got 0$/],
      [{ testSize: 10001 }, /^Error: testSize .* \(the size of the MNIST test set\); got 10001$/],
      [{ seed: 0.5 }, /^Error: seed must be an integer; got 0\.5$/],
    ];
    for (const [sizes, message] of cases) {
      await assertRejects(loadMnist({ dir, mirror, ...sizes }), message);
    }
    await assertRejects(Deno.stat(dir), Deno.errors.NotFound); // nothing was fetched
  });
});

// The one test that loads everything (~230 MB as float32).
Deno.test("loadMnist() loads all 60,000 training and 10,000 test examples with MNIST's class counts", async () => {
  await withTempDir(async (dir) => {
    const { train, test } = await loadMnist({ dir, mirror: SOURCE_DIR, seed: 7 });
    assertEquals([train.count, test.count], [MNIST_TRAIN_SIZE, MNIST_TEST_SIZE]);
    assertEquals([train.images.length, test.images.length], [60_000 * 784, 10_000 * 784]);
    assertEquals(classCounts(train), TRAIN_CLASS_COUNTS);
    assertEquals(classCounts(test), TEST_CLASS_COUNTS);
  });
});

Deno.test("splitToTensors() makes xs [n, 28, 28, 1] float32 and ys [n] int32 holding the split", () => {
  const split = tinySplit([3, 0, 9]);
  const before = tf.memory().numTensors;
  const { xs, ys } = splitToTensors(split);
  assertEquals([xs.shape, xs.dtype, ys.shape, ys.dtype], [[3, 28, 28, 1], "float32", [3], "int32"]);
  assertEquals(xs.dataSync(), split.images);
  assertEquals(Array.from(ys.dataSync()), [3, 0, 9]);
  tf.dispose([xs, ys]);
  assertStrictEquals(tf.memory().numTensors, before);
});

Deno.test("splitToTensors() rejects a split whose arrays disagree with its count", () => {
  assertThrows(
    () => splitToTensors({ ...tinySplit([1, 2]), count: 3 }),
    /^Error: Inconsistent MNIST split: count 3, 1568 pixels \(expected 2352\) and 2 labels/,
  );
});

Deno.test("classCounts() counts the examples of each digit", () => {
  assertEquals(classCounts(tinySplit([1, 1, 9, 0, 1])), [1, 3, 0, 0, 0, 0, 0, 0, 0, 1]);
});

Deno.test("formatClassCounts() tabulates each digit's count with a row per named split", () => {
  const ones = tinySplit(new Array(1200).fill(1));
  assertEquals(formatClassCounts({ training: ones, test: tinySplit([0, 9, 9]) }).split("\n"), [
    "| digit | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 |",
    "| :- | -: | -: | -: | -: | -: | -: | -: | -: | -: | -: |",
    "| training | 0 | 1,200 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
    "| test | 1 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 2 |",
  ]);
});

function tinySplit(labels: number[]): MnistSplit {
  const images = new Float32Array(labels.length * IMAGE_SIZE);
  for (let i = 0; i < images.length; i++) images[i] = (i % 256) / 255;
  return { images, labels: Uint8Array.from(labels), count: labels.length };
}

function pixelRange(images: Float32Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const value of images) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return [min, max];
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sizewise-mnist-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
