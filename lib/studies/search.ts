/**
 * A grid search for the smallest model that is good enough, as the article did to find Small
 * Net: every candidate of the small conv-net family (two convs, global average pooling, dense
 * 10) trains with the same budget and seed, and the smallest one that reaches the target
 * accuracy wins. Each candidate's result is stored, so an interrupted search resumes where it
 * stopped: finished candidates are read back, an unfinished one resumes from its checkpoint.
 */
import type * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend/backend.ts";
import { checkConfig, makeConfig, type TrainConfig } from "../training/config.ts";
import { studySettings } from "../training/presets.ts";
import { median } from "../measure/cost.ts";
import { currentBackend } from "../backend/backend.ts";
import { type ExperimentOptions, loadExperimentData, storedOrTrained } from "./experiment.ts";
import type { Mnist } from "../data/mnist.ts";
import { buildSmallConvNet, smallConvNetName, type SmallConvNetSpec } from "../models/builders.ts";
import { defaultResultsDir, loadResult, resultKey, type RunResult } from "../training/results.ts";
import { summarizeModel } from "../models/summary.ts";
import { formatCount } from "../common/format.ts";
import { formatTable } from "../common/markdown.ts";
import type { EpochMetrics } from "../training/train.ts";

/** The values to try for each part of a `SmallConvNetSpec`; the search tries every combination. */
export interface SearchSpace {
  filters1: number[];
  filters2: number[];
  /** Kernel size of the first conv: 3 or 5. */
  kernelSize: number[];
  batchNorm: boolean[];
  activation: SmallConvNetSpec["activation"][];
}

/** The axes of a search space, in the order candidates are named. */
export const SEARCH_AXES = [
  "filters1",
  "filters2",
  "kernelSize",
  "batchNorm",
  "activation",
] as const;

/** Named search spaces: from a few seconds (smoke) to hours (wide). */
export const SEARCH_SPACES: Readonly<Record<string, Readonly<SearchSpace>>> = {
  /** 3 tiny candidates: the real code path in seconds, for tests and CI. */
  smoke: {
    filters1: [2, 3, 4],
    filters2: [4],
    kernelSize: [3],
    batchNorm: [true],
    activation: ["leakyRelu"],
  },
  /**
   * 3 candidates that notebook 8 can train in about 2 minutes on the quick budget: 5 first
   * filters with a 5x5 kernel, 8, 16 or 32 second filters.
   */
  tour: {
    filters1: [5],
    filters2: [8, 16, 32],
    kernelSize: [5],
    batchNorm: [true],
    activation: ["leakyRelu"],
  },
  /**
   * 8 candidates around Small Net (5 or 8 first filters, 8 or 16 second filters, 3x3 or 5x5
   * first kernel), with Small Net's BatchNorm and LeakyReLU: about 5 minutes on the quick
   * budget on a 2-core machine.
   */
  default: {
    filters1: [5, 8],
    filters2: [8, 16],
    kernelSize: [3, 5],
    batchNorm: [true],
    activation: ["leakyRelu"],
  },
  /** 144 candidates, BatchNorm and activation varied too: hours on the quick budget. */
  wide: {
    filters1: [3, 5, 8],
    filters2: [4, 8, 12, 16, 24, 32],
    kernelSize: [3, 5],
    batchNorm: [true, false],
    activation: ["leakyRelu", "relu"],
  },
};

/** The search space names. */
export const SEARCH_SPACE_NAMES: readonly string[] = Object.keys(SEARCH_SPACES);

/** A training budget: a config without the model, which the search fills in per candidate. */
export type SearchBudget = Omit<TrainConfig, "model">;

/**
 * The budget of every candidate on `preset`: the preset's `studies.searchBudget` (see
 * lib/training/presets.ts, where the numbers are explained), with `overrides` on top, checked.
 */
export function searchBudget(
  preset: string,
  options: { overrides?: Partial<SearchBudget> } = {},
): SearchBudget {
  const { searchBudget } = studySettings(preset);
  // An override given as undefined ("not given", e.g. from a CLI) keeps the budget's value.
  const overrides = Object.fromEntries(
    Object.entries(options.overrides ?? {}).filter(([, value]) => value !== undefined),
  );
  const { model: _, ...budget } = makeConfig("small-net", {
    preset,
    overrides: { ...searchBudget, ...overrides },
  });
  return budget;
}

/** The search space that goes with a preset: its `studies.searchSpace`. */
export function searchSpaceFor(preset: string): SearchSpace {
  return searchSpaceNamed(studySettings(preset).searchSpace);
}

/** The search space called `name`; an unknown name is an error that lists the known ones. */
export function searchSpaceNamed(name: string): SearchSpace {
  if (!Object.hasOwn(SEARCH_SPACES, name)) {
    throw new Error(
      `Unknown search space "${name}"; choose one of: ${SEARCH_SPACE_NAMES.join(", ")}`,
    );
  }
  return cloneSpace(SEARCH_SPACES[name]);
}

/** Throws a clear error for a search space the search cannot run, naming the axis at fault. */
export function checkSearchSpace(space: SearchSpace): SearchSpace {
  if (space === null || typeof space !== "object") {
    throw new Error(`A search space must be an object with the axes ${SEARCH_AXES.join(", ")}`);
  }
  const unknown = Object.keys(space).filter((key) =>
    !(SEARCH_AXES as readonly string[]).includes(key)
  );
  if (unknown.length > 0) {
    throw new Error(
      `Unknown search space axis "${unknown[0]}"; the axes are: ${SEARCH_AXES.join(", ")}`,
    );
  }
  for (const axis of SEARCH_AXES) {
    const values = space[axis] as unknown;
    if (!Array.isArray(values) || values.length === 0) {
      throw new Error(
        `Search space axis "${axis}" must list at least one value, got ${JSON.stringify(values)}` +
          `; e.g. ${axis}: ${JSON.stringify(SEARCH_SPACES.default[axis])}`,
      );
    }
    const seen = new Set<unknown>();
    for (const value of values) {
      checkAxisValue(axis, value);
      if (seen.has(value)) {
        throw new Error(`Search space axis "${axis}" lists ${JSON.stringify(value)} twice`);
      }
      seen.add(value);
    }
  }
  return space;
}

/** Every spec of `space` (checked), smallest first by trainable parameters. */
export function expandSearchSpace(space: SearchSpace): SmallConvNetSpec[] {
  checkSearchSpace(space);
  const specs: SmallConvNetSpec[] = [];
  for (const filters1 of space.filters1) {
    for (const filters2 of space.filters2) {
      for (const kernelSize of space.kernelSize) {
        for (const batchNorm of space.batchNorm) {
          for (const activation of space.activation) {
            specs.push({ filters1, filters2, kernelSize, batchNorm, activation });
          }
        }
      }
    }
  }
  // Stable sort: equal sizes keep the space's order.
  return specs.sort((a, b) => smallConvNetParams(a) - smallConvNetParams(b));
}

/** Trainable parameters of a small conv net, by formula (see lib/models/families.ts). */
export { smallConvNetParams } from "../models/families.ts";
import { smallConvNetParams } from "../models/families.ts";

/** What a candidate's run costs besides accuracy (a subset of `ExperimentCosts`). */
export interface CandidateCosts {
  trainableParams: number;
  nonTrainableParams: number;
  macsPerImage: number;
  /** Median training time of one epoch of this run. */
  trainSecondsPerEpoch: number;
}

/** A candidate's stored result: a `RunResult` whose config names the spec, plus the spec. */
export interface CandidateResult extends RunResult {
  spec: SmallConvNetSpec;
  costs: CandidateCosts & Record<string, unknown>;
}

/** Options of `runCandidate`. */
export interface CandidateOptions
  extends Pick<ExperimentOptions, "onBatch" | "onEpoch" | "onResume" | "retrain"> {
  /** The results store; candidates live in its `search/` folder. Default `defaultResultsDir()`. */
  resultsDir?: string;
  /** Already loaded data with exactly the budget's sizes and seed, to share across candidates. */
  data?: Mnist;
}

/**
 * Trains the small conv net `spec` on `budget`, or returns its stored result. Results are
 * keyed by the candidate's name (which spells out every field of the spec), the budget and
 * the backend; an interrupted run resumes from its last completed epoch.
 */
export async function runCandidate(
  spec: SmallConvNetSpec,
  budget: SearchBudget,
  options: CandidateOptions = {},
): Promise<{ result: CandidateResult; cached: boolean }> {
  const config = candidateConfig(spec, budget);
  return await storedOrTrained({
    config,
    resultsDir: candidatesDir(options.resultsDir),
    build: () => buildSmallConvNet(spec, { seed: config.seed }),
    measure: (model, _data, history) => candidateCosts(model, history),
    fields: { spec: { ...spec } },
  }, options) as { result: CandidateResult; cached: boolean };
}

/** The config a candidate trains with: the budget, with the candidate's name as the model. */
export function candidateConfig(spec: SmallConvNetSpec, budget: SearchBudget): TrainConfig {
  return budgetConfig(smallConvNetName(spec), budget);
}

/** A copy of `budget` with `name` as the model, the budget checked as Small Net's config. */
export function budgetConfig(name: string, budget: SearchBudget): TrainConfig {
  // The budget is checked as a config of the family's known member; the name is not in
  // MODEL_NAMES, as the candidate is built from its spec.
  checkConfig({ ...budget, model: "small-net" });
  return structuredClone({ ...budget, model: name });
}

/** The costs a trained candidate stores: its parameters, MACs, and median epoch time. */
export function candidateCosts(model: tf.LayersModel, history: EpochMetrics[]): CandidateCosts {
  const summary = summarizeModel(model);
  return {
    trainableParams: summary.trainableParams,
    nonTrainableParams: summary.nonTrainableParams,
    macsPerImage: summary.macs,
    trainSecondsPerEpoch: median(history.map((epoch) => epoch.trainSeconds)),
  };
}

/** One candidate of a search, trained or read back. */
export interface SearchCandidate {
  name: string;
  spec: SmallConvNetSpec;
  /** Trainable parameters, as the article counts them. */
  params: number;
  macsPerImage: number;
  /** Test accuracy after the last epoch, 0-1. */
  accuracy: number;
  trainSecondsPerEpoch: number;
  /** Whether `accuracy` reaches the search's target. */
  passes: boolean;
  /** Read from the store rather than trained in this call. */
  cached: boolean;
}

/** What a search found. */
export interface SearchResult {
  targetAccuracy: number;
  budget: SearchBudget;
  /** Every candidate, smallest first. */
  candidates: SearchCandidate[];
  /** The candidates no other candidate beats on both size and accuracy, smallest first. */
  front: SearchCandidate[];
  /** The smallest candidate that reaches the target, if any does. */
  best?: SearchCandidate;
  /** Candidates trained (or resumed) in this call; the others came from the store. */
  trained: number;
  /** Wall time of this call. */
  seconds: number;
}

/** Progress of a search, reported before each candidate. */
export interface CandidateStart {
  /** 1-based. */
  index: number;
  total: number;
  name: string;
  spec: SmallConvNetSpec;
  params: number;
}

/** Options of `searchMinimalModel`. */
export interface SearchOptions extends CandidateOptions {
  /** Test accuracy a candidate must reach, 0-1. Default 0.95, the article's line. */
  targetAccuracy?: number;
  onCandidateStart?: (start: CandidateStart) => void | Promise<void>;
  onCandidateDone?: (candidate: SearchCandidate, start: CandidateStart) => void | Promise<void>;
}

/**
 * Trains every candidate of `space` on `budget` (smallest first; stored results are reused,
 * an interrupted candidate resumes) and returns the Pareto front of accuracy against
 * parameters and the smallest candidate that reaches the target.
 */
export async function searchMinimalModel(
  space: SearchSpace,
  budget: SearchBudget,
  options: SearchOptions = {},
): Promise<SearchResult> {
  const started = performance.now();
  const specs = expandSearchSpace(space);
  const targetAccuracy = options.targetAccuracy ?? 0.95;
  if (!(targetAccuracy > 0 && targetAccuracy <= 1)) {
    throw new Error(`targetAccuracy must be in (0, 1], got ${targetAccuracy}; e.g. 0.95 for 95%`);
  }
  checkConfig({ ...budget, model: "small-net" });
  // Loaded once, and only if a candidate needs training.
  let data = options.data;
  const candidates: SearchCandidate[] = [];
  let trained = 0;
  for (const [i, spec] of specs.entries()) {
    const start: CandidateStart = {
      index: i + 1,
      total: specs.length,
      name: smallConvNetName(spec),
      spec,
      params: smallConvNetParams(spec),
    };
    await options.onCandidateStart?.(start);
    let outcome = options.retrain ? undefined : await findCandidate(spec, budget, options);
    if (!outcome) {
      data ??= await loadExperimentData(candidateConfig(spec, budget));
      outcome = await runCandidate(spec, budget, { ...options, data });
      trained++;
    }
    const { result } = outcome;
    const accuracy = result.history[result.history.length - 1].testAccuracy;
    const candidate: SearchCandidate = {
      name: start.name,
      spec: { ...spec },
      params: result.costs.trainableParams,
      macsPerImage: result.costs.macsPerImage,
      accuracy,
      trainSecondsPerEpoch: result.costs.trainSecondsPerEpoch,
      passes: accuracy >= targetAccuracy,
      cached: outcome.cached,
    };
    candidates.push(candidate);
    await options.onCandidateDone?.(candidate, start);
  }
  const front = paretoFront(candidates);
  return {
    targetAccuracy,
    budget,
    candidates,
    front,
    best: smallestPassing(candidates, targetAccuracy),
    trained,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * The points no other point beats: none has at most as many parameters and at least the
 * same accuracy with one of the two strictly better. Returned smallest first; of identical
 * points the first is kept.
 */
export function paretoFront<T extends { params: number; accuracy: number }>(points: T[]): T[] {
  const sorted = points
    .map((point, index) => ({ point, index }))
    .sort((a, b) =>
      a.point.params - b.point.params || b.point.accuracy - a.point.accuracy || a.index - b.index
    );
  const front: T[] = [];
  let bestAccuracy = -Infinity;
  for (const { point } of sorted) {
    if (point.accuracy > bestAccuracy) {
      front.push(point);
      bestAccuracy = point.accuracy;
    }
  }
  return front;
}

/** The smallest point that reaches `targetAccuracy` (of equal sizes, the most accurate). */
export function smallestPassing<T extends { params: number; accuracy: number }>(
  points: T[],
  targetAccuracy: number,
): T | undefined {
  return paretoFront(points).find((point) => point.accuracy >= targetAccuracy);
}

/** A short label for charts: "5→8, 3x3", with ", no BN" and ", ReLU" where they differ from Small Net. */
export function candidateLabel(spec: SmallConvNetSpec): string {
  return `${spec.filters1}→${spec.filters2}, ${spec.kernelSize}x${spec.kernelSize}` +
    `${spec.batchNorm ? "" : ", no BN"}${spec.activation === "relu" ? ", ReLU" : ""}`;
}

/** A Markdown table of candidates: name, filters, kernel, parameters, accuracy, pass or not. */
export function formatCandidates(candidates: SearchCandidate[]): string {
  return formatTable(
    [...SPEC_COLUMNS, "parameters", "test accuracy", "reaches target"],
    candidates.map((c) => [
      ...specCells(c.name, c.spec),
      formatCount(c.params),
      `${(c.accuracy * 100).toFixed(2)}%`,
      c.passes ? "yes" : "no",
    ]),
    { align: ["l", "l", "l", "l", "l", "r", "r", "c"] },
  );
}

/** A Markdown table of candidates before training: name, filters, kernel, parameters. */
export function formatSearchSpace(specs: SmallConvNetSpec[]): string {
  return formatTable(
    [...SPEC_COLUMNS, "parameters"],
    specs.map((spec) => [
      ...specCells(smallConvNetName(spec), spec),
      formatCount(smallConvNetParams(spec)),
    ]),
    { align: ["l", "l", "l", "l", "l", "r"] },
  );
}

const SPEC_COLUMNS = ["candidate", "filters", "first kernel", "BatchNorm", "activation"];

function specCells(name: string, spec: SmallConvNetSpec): string[] {
  const { filters1, filters2, kernelSize: k, batchNorm } = spec;
  return [
    name,
    `${filters1} → ${filters2}`,
    `${k}x${k}`,
    batchNorm ? "yes" : "no",
    spec.activation,
  ];
}

/** The folder of the search's candidates inside a results store. */
export function candidatesDir(resultsDir = defaultResultsDir()): string {
  return `${resultsDir}/search`;
}

async function findCandidate(
  spec: SmallConvNetSpec,
  budget: SearchBudget,
  options: CandidateOptions,
): Promise<{ result: CandidateResult; cached: boolean } | undefined> {
  const backend = await initBackend(currentBackend());
  const key = await resultKey(candidateConfig(spec, budget), backend);
  const stored = await loadResult(candidatesDir(options.resultsDir), key);
  return stored ? { result: stored as CandidateResult, cached: true } : undefined;
}

function checkAxisValue(axis: typeof SEARCH_AXES[number], value: unknown): void {
  const bad = (expected: string) =>
    new Error(`Search space axis "${axis}" takes ${expected}, got ${JSON.stringify(value)}`);
  switch (axis) {
    case "filters1":
    case "filters2":
      if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 256) {
        throw bad("whole numbers of filters from 1 to 256");
      }
      return;
    case "kernelSize":
      if (value !== 3 && value !== 5) throw bad("3 or 5 (the first conv's kernel size)");
      return;
    case "batchNorm":
      if (typeof value !== "boolean") throw bad("true or false");
      return;
    case "activation":
      if (value !== "relu" && value !== "leakyRelu") throw bad(`"relu" or "leakyRelu"`);
      return;
  }
}

function cloneSpace(space: Readonly<SearchSpace>): SearchSpace {
  return {
    filters1: [...space.filters1],
    filters2: [...space.filters2],
    kernelSize: [...space.kernelSize],
    batchNorm: [...space.batchNorm],
    activation: [...space.activation],
  };
}
