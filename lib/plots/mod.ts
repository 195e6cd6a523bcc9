/**
 * Charts as self-contained SVG (Observable Plot with linkedom), one module per chapter: the
 * data, a model's size, training, cost, the search for a size, mistakes, and the studies; all
 * drawn in one frame (frame.ts), digit images as PNG (digit_png.ts).
 */
export { SVG_NS, type SvgChart, svgToString } from "./frame.ts";
export { encodeGrayPng } from "./digit_png.ts";
export * from "./data_charts.ts";
export * from "./model_charts.ts";
export * from "./training_charts.ts";
export * from "./cost_charts.ts";
export * from "./search_charts.ts";
export * from "./mistakes_charts.ts";
export * from "./study_charts.ts";
