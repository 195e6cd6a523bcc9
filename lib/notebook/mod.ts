/**
 * Jupyter output: rich display bundles, and charts that redraw while a model trains.
 */
export * from "./display.ts";
export * from "./live.ts";
export * from "./search_live.ts";
export * from "./train_all.ts";
