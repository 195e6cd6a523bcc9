/**
 * MNIST from the bytes up: download and checksum the four files, parse their IDX format,
 * and load seeded subsets as flat arrays. Nothing here knows about models.
 */
export * from "./idx.ts";
export * from "./mnist.ts";
export * from "./mnist_files.ts";
export * from "./random.ts";
