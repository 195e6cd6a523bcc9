/**
 * Experiments built on training and measuring: one stored experiment per config, the
 * article's reproduction, the search for the smallest good model, the size-accuracy frontier
 * (run in worker processes), seed and batch-size studies, and the chooser for a device's budget.
 */
export * from "./batch_study.ts";
export * from "./chooser.ts";
export * from "./experiment.ts";
export * from "./reproduction.ts";
export * from "./search.ts";
export * from "./frontier.ts";
export * from "./frontier_pool.ts";
export * from "./frontier_report.ts";
export * from "./frontier_run.ts";
export * from "./frontier_spaces.ts";
export * from "./seeds.ts";
export * from "./t_table.ts";
export * from "./fit.ts";
