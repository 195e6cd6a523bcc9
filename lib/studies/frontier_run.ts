/**
 * The frontier end to end: the recipe sweep, the main pass (every candidate, and the Small Net
 * readings on the article's schedule), then more seeds for the band winners; and the report
 * read back from whatever is stored, so a notebook can show it without training.
 */
import type { TrainConfig } from "../training/config.ts";
import { studySettings } from "../training/presets.ts";
import type { EpochMetrics } from "../training/train.ts";
import {
  articleScheduleJobs,
  candidateJobs,
  finalistRule,
  FRONTIER_CAPS,
  FRONTIER_DIR,
  frontierBudget,
  type FrontierJob,
  frontierRuns,
  frontierSpaceFor,
  seedJobs,
  storedJobResult,
  sweepJobs,
} from "./frontier.ts";
import type { FrontierSpace } from "./frontier_spaces.ts";
import { type BandPoint, frontierBands, type FrontierRun } from "./frontier_report.ts";
import {
  type JobState,
  type PoolOptions,
  type PoolProgress,
  runJobsInWorkers,
} from "./frontier_pool.ts";

/** Options of `runFrontier` and `runRecipeSweep`. */
export interface FrontierRunOptions extends Omit<PoolOptions, "onProgress"> {
  /** The preset whose `frontier` settings (space, budget, seeds, sweep) apply. */
  preset: string;
  /** A frontier space name; default the preset's `frontier.space`. */
  space?: string;
  /** Default `FRONTIER_DIR` (data/frontier, committed). */
  resultsDir?: string;
  onProgress?: (progress: PoolProgress, phase: string) => void | Promise<void>;
}

/** What is stored of a frontier: its runs, bands, and the Small Net readings. */
export interface FrontierReport {
  preset: string;
  space: string;
  budget: Omit<TrainConfig, "model">;
  /** Every stored candidate run of the budget (every seed). */
  runs: FrontierRun[];
  /** Candidate runs of the main pass not stored yet. */
  missing: number;
  bands: BandPoint[];
  /** The Small Net readings: frontier budget (seed 0) and the article's schedule (test). */
  readings: {
    name: string;
    params: number;
    frontier?: FrontierRun;
    articleScheduleTestAccuracy?: number;
  }[];
}

/** Trains (or resumes) the whole frontier of `options.space` and returns its report. */
export async function runFrontier(options: FrontierRunOptions): Promise<FrontierReport> {
  const space = frontierSpaceFor(options.preset, options.space);
  const resultsDir = options.resultsDir ?? FRONTIER_DIR;
  // The Small Net readings on the article's schedule first: four runs that answer the
  // article's own question early in a search of many hours; then the candidates, smallest first.
  const main = [
    ...articleScheduleJobs(space, options.preset, { resultsDir }),
    ...candidateJobs(space, options.preset, { resultsDir }),
  ];
  await runJobsInWorkers(main, {
    ...options,
    onProgress: (progress) => options.onProgress?.(progress, "candidates"),
  });
  const runs = await frontierRuns(candidateJobs(space, options.preset, { resultsDir }));
  const seeds = seedJobs(space, options.preset, runs, { resultsDir });
  await runJobsInWorkers(seeds, {
    ...options,
    onProgress: (progress) => options.onProgress?.(progress, "seeds"),
  });
  return await loadFrontier({ ...options, resultsDir });
}

/** The stored part of a frontier (nothing stored: no runs, every band empty). */
export async function loadFrontier(
  options: { preset: string; space?: string; resultsDir?: string },
): Promise<FrontierReport> {
  const space = frontierSpaceFor(options.preset, options.space);
  const resultsDir = options.resultsDir ?? FRONTIER_DIR;
  const seeds = studySettings(options.preset).frontier.seeds;
  const all = candidateJobs(space, options.preset, { resultsDir, seeds });
  const runs = await frontierRuns(all);
  const mainPass = runs.filter((run) => run.seed === seeds[0]);
  const articleRuns = await storedByCandidate(
    articleScheduleJobs(space, options.preset, { resultsDir }),
  );
  return {
    preset: options.preset,
    space: space.name,
    budget: frontierBudget(options.preset),
    runs,
    missing: space.candidates.length - mainPass.length,
    bands: frontierBands(runs, FRONTIER_CAPS, {
      seed: seeds[0],
      ...finalistRule(options.preset),
    }),
    readings: readingsOf(space, mainPass, articleRuns),
  };
}

/** One recipe of the sweep, with how the sweep's candidates did on it. */
export interface SweptRecipe {
  recipe: Partial<TrainConfig>;
  /** Per candidate: final validation accuracy, and the epoch from which it settled. */
  runs: { candidate: string; validationAccuracy: number; settledEpoch: number }[];
  /** Mean final validation accuracy over the candidates: what the choice is made on. */
  meanValidationAccuracy: number;
}

/** The recipe sweep's record (data/frontier/recipe.json). */
export interface RecipeSweep {
  preset: string;
  recipes: SweptRecipe[];
  /** The recipe with the highest mean validation accuracy. */
  chosen: Partial<TrainConfig>;
  /** Whether the preset's frontier budget already uses the chosen recipe. */
  presetUsesChosen: boolean;
  finishedAt: string;
}

/** The file the sweep writes its record to, in the results folder. */
export const RECIPE_FILE = "recipe.json";

/**
 * Trains every sweep candidate with every sweep recipe (the preset's `frontier.sweep`),
 * chooses the recipe with the best mean validation accuracy, and records it in
 * `<resultsDir>/recipe.json`.
 */
export async function runRecipeSweep(options: FrontierRunOptions): Promise<RecipeSweep> {
  const space = frontierSpaceFor(options.preset, options.space);
  const resultsDir = options.resultsDir ?? FRONTIER_DIR;
  const jobs = sweepJobs(space, options.preset, { resultsDir });
  await runJobsInWorkers(jobs, {
    ...options,
    onProgress: (progress) => options.onProgress?.(progress, "sweep"),
  });
  const sweep = await summarizeSweep(options.preset, jobs);
  await Deno.mkdir(resultsDir, { recursive: true });
  const path = `${resultsDir}/${RECIPE_FILE}`;
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temporary, JSON.stringify(sweep, null, 1) + "\n");
  await Deno.rename(temporary, path);
  return sweep;
}

/** The sweep's record, if one was written. */
export async function loadRecipeSweep(
  options: { resultsDir?: string } = {},
): Promise<RecipeSweep | undefined> {
  const path = `${options.resultsDir ?? FRONTIER_DIR}/${RECIPE_FILE}`;
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(
      `Cannot read the recipe sweep ${path} (${
        (error as Error).message
      }); delete it and run the sweep again`,
    );
  }
}

/**
 * The first epoch from which validation accuracy stays within `tolerance` (0-1, default 0.1
 * points) of its final value: where training stopped moving.
 */
export function settledEpoch(history: EpochMetrics[], tolerance = 0.001): number {
  const accuracies = history.map((epoch) => epoch.validationAccuracy ?? epoch.testAccuracy);
  const final = accuracies[accuracies.length - 1];
  let settled = accuracies.length;
  for (let i = accuracies.length - 1; i >= 0; i--) {
    if (Math.abs(accuracies[i] - final) > tolerance) break;
    settled = i + 1;
  }
  return settled;
}

async function summarizeSweep(preset: string, jobs: FrontierJob[]): Promise<RecipeSweep> {
  const { sweep, budget } = studySettings(preset).frontier;
  const recipes: SweptRecipe[] = [];
  for (const [i, recipe] of sweep.recipes.entries()) {
    const runs = [];
    for (const job of jobs.slice(i * sweep.candidates.length, (i + 1) * sweep.candidates.length)) {
      const result = (await storedJobResult(job))!;
      runs.push({
        candidate: job.candidate,
        validationAccuracy: result.history.at(-1)!.validationAccuracy!,
        settledEpoch: settledEpoch(result.history),
      });
    }
    const mean = runs.reduce((sum, run) => sum + run.validationAccuracy, 0) / runs.length;
    recipes.push({ recipe, runs, meanValidationAccuracy: mean });
  }
  const chosen =
    recipes.reduce((best, r) => r.meanValidationAccuracy > best.meanValidationAccuracy ? r : best)
      .recipe;
  const keys = Object.keys(chosen) as (keyof TrainConfig)[];
  return {
    preset,
    recipes,
    chosen,
    presetUsesChosen: keys.every((key) =>
      JSON.stringify(budget[key]) === JSON.stringify(chosen[key])
    ),
    finishedAt: new Date().toISOString(),
  };
}

async function storedByCandidate(jobs: FrontierJob[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const job of jobs) {
    const result = await storedJobResult(job);
    if (result) found.set(job.candidate, result.history.at(-1)!.testAccuracy);
  }
  return found;
}

function readingsOf(
  space: FrontierSpace,
  mainPass: FrontierRun[],
  articleRuns: Map<string, number>,
): FrontierReport["readings"] {
  return space.candidates.filter((candidate) => candidate.note).map((candidate) => ({
    name: candidate.name,
    params: candidate.params,
    frontier: mainPass.find((run) => run.name === candidate.name),
    articleScheduleTestAccuracy: articleRuns.get(candidate.name),
  }));
}

/** Re-exported for callers that watch a run: the pool's job state. */
export type { JobState };
