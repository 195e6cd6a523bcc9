import {
  checkSameCount,
  IMAGE_COLS,
  IMAGE_HEADER_BYTES,
  IMAGE_MAGIC,
  IMAGE_ROWS,
  IMAGE_SIZE,
  LABEL_HEADER_BYTES,
  LABEL_MAGIC,
  parseIdxImages,
  parseIdxLabels,
} from "../lib/data/idx.ts";
import { assertEquals, assertMatch, assertStrictEquals, assertThrows } from "./assert.ts";

// Hand-made IDX buffers: a big-endian header, then the body bytes.
function idx(header: number[], body: number[] | Uint8Array): Uint8Array {
  const bytes = new Uint8Array(header.length * 4 + body.length);
  const view = new DataView(bytes.buffer);
  header.forEach((value, i) => view.setUint32(i * 4, value));
  bytes.set(body, header.length * 4);
  return bytes;
}

function imagesBody(count: number): Uint8Array {
  const body = new Uint8Array(count * IMAGE_SIZE);
  for (let i = 0; i < body.length; i++) body[i] = i % 256;
  return body;
}

Deno.test("the header constants are those of the MNIST README", () => {
  assertEquals([IMAGE_MAGIC, LABEL_MAGIC, IMAGE_ROWS, IMAGE_COLS], [0x803, 0x801, 28, 28]);
  assertEquals([IMAGE_HEADER_BYTES, LABEL_HEADER_BYTES, IMAGE_SIZE], [16, 8, 784]);
});

Deno.test("parseIdxImages() reads the count, size and pixels of a good file", () => {
  const body = imagesBody(2);
  const images = parseIdxImages(idx([IMAGE_MAGIC, 2, 28, 28], body), "good-images");
  assertEquals([images.count, images.rows, images.cols], [2, 28, 28]);
  assertEquals(images.pixels, body);
});

Deno.test("parseIdxLabels() reads the labels of a good file", () => {
  const labels = parseIdxLabels(idx([LABEL_MAGIC, 4], [0, 9, 3, 7]), "good-labels");
  assertEquals(Array.from(labels), [0, 9, 3, 7]);
});

Deno.test("parseIdxImages() rejects a label file's magic number and says how to fix it", () => {
  const error = assertThrowsError(() =>
    parseIdxImages(idx([LABEL_MAGIC, 1, 28, 28], imagesBody(1)), "train-images-idx3-ubyte.gz")
  );
  assertMatch(error.message, /^Cannot parse train-images-idx3-ubyte\.gz: wrong magic number 2049/);
  assertMatch(error.message, /starts with 2051/);
  assertMatch(
    error.message,
    /delete data\/mnist\/train-images-idx3-ubyte\.gz and run "deno task data"$/,
  );
});

Deno.test("parseIdxLabels() rejects a wrong magic number", () => {
  assertThrows(
    () => parseIdxLabels(idx([1234, 1], [5]), "labels.gz"),
    /Cannot parse labels\.gz: wrong magic number 1234; an IDX label file starts with 2049/,
  );
});

Deno.test("parseIdxImages() and parseIdxLabels() reject a header that is cut short", () => {
  assertThrows(
    () => parseIdxImages(new Uint8Array(10), "images.gz"),
    /Cannot parse images\.gz: the header is cut short \(10 bytes; .* has 16\)/,
  );
  assertThrows(
    () => parseIdxLabels(new Uint8Array(7), "labels.gz"),
    /Cannot parse labels\.gz: the header is cut short \(7 bytes; .* has 8\)/,
  );
});

Deno.test("parseIdxImages() rejects a truncated body, naming the bytes promised and found", () => {
  const bytes = idx([IMAGE_MAGIC, 3, 28, 28], imagesBody(2));
  assertThrows(
    () => parseIdxImages(bytes, "images.gz"),
    /the file is truncated: its header promises 3 images of 28x28 pixels \(2352 bytes\) but only 1568 bytes follow/,
  );
});

Deno.test("parseIdxLabels() rejects a truncated body", () => {
  assertThrows(
    () => parseIdxLabels(idx([LABEL_MAGIC, 5], [1, 2, 3]), "labels.gz"),
    /the file is truncated: its header promises 5 labels \(5 bytes\) but only 3 bytes follow/,
  );
});

Deno.test("parseIdxImages() rejects bytes beyond the promised images", () => {
  const body = new Uint8Array(IMAGE_SIZE + 3);
  assertThrows(
    () => parseIdxImages(idx([IMAGE_MAGIC, 1, 28, 28], body), "images.gz"),
    /3 unexpected bytes follow the 1 images of 28x28 pixels/,
  );
});

Deno.test("parseIdxImages() rejects images that are not 28x28", () => {
  assertThrows(
    () => parseIdxImages(idx([IMAGE_MAGIC, 1, 32, 32], new Uint8Array(1024)), "images.gz"),
    /its images are 32x32 pixels, expected 28x28/,
  );
});

Deno.test("parseIdxLabels() rejects a label outside 0-9, naming its index", () => {
  assertThrows(
    () => parseIdxLabels(idx([LABEL_MAGIC, 3], [1, 10, 2]), "labels.gz"),
    /Cannot parse labels\.gz: label 10 at index 1 is outside 0-9/,
  );
});

Deno.test("parsers put a caller's fix in their error", () => {
  assertThrows(
    () => parseIdxLabels(new Uint8Array(2), "labels.gz", { fix: "copy it again" }),
    /; copy it again$/,
  );
});

Deno.test("checkSameCount() accepts equal counts and names both files when they differ", () => {
  const names = { imagesFile: "a-images.gz", labelsFile: "a-labels.gz" };
  const images = parseIdxImages(idx([IMAGE_MAGIC, 2, 28, 28], imagesBody(2)), "a-images.gz");
  checkSameCount(images, parseIdxLabels(idx([LABEL_MAGIC, 2], [4, 5]), "a-labels.gz"), names);
  const threeLabels = parseIdxLabels(idx([LABEL_MAGIC, 3], [4, 5, 6]), "a-labels.gz");
  const error = assertThrowsError(() => checkSameCount(images, threeLabels, names));
  assertStrictEquals(
    error.message,
    "a-images.gz holds 2 images but a-labels.gz holds 3 labels, and they must pair one to one; " +
      'delete both and run "deno task data" to fetch matching copies',
  );
});

function assertThrowsError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`Expected an Error, got ${String(error)}`);
  }
  throw new Error("Expected the function to throw");
}
