/**
 * What a trained model costs and how it behaves: memory, time, inference, saved size,
 * deployment (latency, quantisation, export), its mistakes, the bench, and side-by-side
 * tables of ours against the article's.
 */
export * from "./bench.ts";
export * from "./cost.ts";
export * from "./deploy.ts";
export * from "./experiment_costs.ts";
export * from "./mistakes.ts";
export * from "./report.ts";
export * from "./timing.ts";
