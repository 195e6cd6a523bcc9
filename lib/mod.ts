/**
 * sizewise's library, in the order data flows; each folder imports only those above it.
 * Everything a notebook needs, from one import: `import * as sw from "../lib/mod.ts"`.
 */
export * from "./common/mod.ts";
export * from "./data/mod.ts";
export * from "./models/mod.ts";
export * from "./backend/mod.ts";
export * from "./training/mod.ts";
export * from "./measure/mod.ts";
export * from "./studies/mod.ts";
export * from "./plots/mod.ts";
export * from "./notebook/mod.ts";
