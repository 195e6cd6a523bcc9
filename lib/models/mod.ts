/**
 * The models: one builder per architecture behind a table of names, layer-by-layer
 * summaries (parameters, MACs, MB), the figures the article gives each model, and the
 * families of small nets the frontier searches.
 */
export * from "./article.ts";
export * from "./builders.ts";
export * from "./depthwise.ts";
export * from "./families.ts";
export * from "./registry.ts";
export * from "./summary.ts";
