/**
 * What every folder may use: the settings read from the environment (the one place that
 * reads it) and the number formats of tables, charts and command-line output.
 */
export * from "./format.ts";
export * from "./settings.ts";
export * from "./markdown.ts";
