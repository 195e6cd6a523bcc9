import { assert, assertEquals, assertRejects } from "./assert.ts";
import { shuffledIndices } from "../lib/data/random.ts";
import {
  loadMnist,
  MNIST_TRAIN_SIZE,
  splitTrainingIndices,
  VALIDATION_SIZE,
} from "../lib/data/mnist.ts";

const SPLIT = { trainSize: 20_000, validationSize: VALIDATION_SIZE };

Deno.test("the validation split is disjoint from the training images it is cut from", () => {
  const { train, validation } = splitTrainingIndices(MNIST_TRAIN_SIZE, { ...SPLIT, seed: 3 });
  assertEquals(validation.length, VALIDATION_SIZE);
  assertEquals(train.length, 20_000);
  const held = new Set(validation);
  assertEquals(held.size, VALIDATION_SIZE, "no image twice in validation");
  assertEquals(train.filter((index) => held.has(index)).length, 0);
  assertEquals(new Set(train).size, train.length, "no image twice in training");
});

Deno.test("the validation images are fixed: every seed holds out the same ones, and trains on others", () => {
  const a = splitTrainingIndices(MNIST_TRAIN_SIZE, { ...SPLIT, seed: 0 });
  const b = splitTrainingIndices(MNIST_TRAIN_SIZE, { ...SPLIT, seed: 1 });
  assertEquals([...a.validation], [...b.validation]);
  assert(a.train.some((index, k) => index !== b.train[k]), "the seed still shuffles training");
  // All 60,000 are used between them when training takes the whole rest.
  const all = splitTrainingIndices(MNIST_TRAIN_SIZE, {
    trainSize: MNIST_TRAIN_SIZE - VALIDATION_SIZE,
    validationSize: VALIDATION_SIZE,
    seed: 0,
  });
  assertEquals(new Set([...all.train, ...all.validation]).size, MNIST_TRAIN_SIZE);
});

Deno.test("without validation the training order is the one every stored result was trained on", () => {
  const { train, validation } = splitTrainingIndices(1000, {
    trainSize: 100,
    validationSize: 0,
    seed: 7,
  });
  assertEquals(validation.length, 0);
  assertEquals([...train], [...shuffledIndices(1000, 7).slice(0, 100)]);
});

Deno.test("loadMnist() with validationSize returns the held-out images, the same for every seed", async () => {
  const options = { trainSize: 500, testSize: 100, validationSize: 300 };
  const a = await loadMnist({ ...options, seed: 0 });
  const b = await loadMnist({ ...options, seed: 5 });
  assertEquals(a.validation?.count, 300);
  assertEquals(a.validation?.images.length, 300 * 784);
  assertEquals([...a.validation!.labels], [...b.validation!.labels]);
  assertEquals(a.validation!.images.slice(0, 2000), b.validation!.images.slice(0, 2000));
  assertEquals(a.train.count, 500);
  assertEquals((await loadMnist({ trainSize: 10, testSize: 10 })).validation, undefined);
});

Deno.test("loadMnist() refuses more training images than validation leaves, and a nonsense size", async () => {
  await assertRejects(
    () => loadMnist({ trainSize: 56_000, validationSize: VALIDATION_SIZE }),
    Error,
    "trainSize must be a whole number from 1 to 55000",
  );
  await assertRejects(() => loadMnist({ validationSize: -1 }), Error, "validationSize must be");
  await assertRejects(() => loadMnist({ validationSize: 0.5 }), Error, "validationSize must be");
});
