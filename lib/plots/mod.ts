/**
 * Charts as self-contained SVG (Observable Plot with linkedom), one module per chapter.
 */
export * from "./plots.ts";
