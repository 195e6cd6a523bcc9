/**
 * Training: the config and its presets (each holding every study's settings), the loop with
 * the article's schedule, checkpoints after every epoch, two-core data parallelism, and the
 * results store on disk.
 */
export * from "./checkpoints.ts";
export * from "./config.ts";
export * from "./data_parallel.ts";
export * from "./presets.ts";
export * from "./predict.ts";
export * from "./results.ts";
export * from "./train.ts";
export * from "./trained_model.ts";
export * from "./locks.ts";
