/** Everything a notebook needs, from one import: `import * as sw from "../lib/mod.ts"`. */
export * from "./article.ts";
export * from "./backend.ts";
export * from "./bench.ts";
export * from "./config.ts";
export * from "./cost.ts";
export * from "./display.ts";
export * from "./experiment.ts";
export * from "./live.ts";
export * from "./mnist.ts";
export * from "./models.ts";
export * from "./plots.ts";
export * from "./progress.ts";
export * from "./report.ts";
export * from "./reproduction.ts";
export * from "./results.ts";
export * from "./summary.ts";
export * from "./train.ts";
