/**
 * The models: one builder per architecture behind a table of names, layer-by-layer
 * summaries (parameters, MACs, MB), and the figures the article gives each model.
 */
export * from "./article.ts";
export * from "./builders.ts";
export * from "./registry.ts";
export * from "./summary.ts";
