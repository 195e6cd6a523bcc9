/**
 * The size-accuracy frontier (issue 13): every candidate of a frontier space trains on one
 * budget (lib/training/presets.ts `frontier.budget`), the best candidate of each size band is
 * chosen on validation accuracy and trained with more seeds, and the 518-parameter readings of
 * Small Net also train on the article's own schedule. Each run is a stored run
 * (`storedOrTrained`: checkpoints, resumable); `runFrontier` hands them to worker processes
 * (lib/studies/frontier_pool.ts). Results live in `FRONTIER_DIR` (committed, like
 * data/reproduction/).
 */
import { currentBackend, initBackend } from "../backend/backend.ts";
import { ARTICLE_CONFIG, makeConfig, type TrainConfig } from "../training/config.ts";
import { presetSettings, studySettings } from "../training/presets.ts";
import { loadResult, resultKey, type RunResult } from "../training/results.ts";
import { buildFamilyModel, type FamilySpec } from "../models/families.ts";
import { summarizeModel } from "../models/summary.ts";
import { ARTICLE_FIGURES } from "../models/article.ts";
import { measureLatency } from "../measure/deploy.ts";
import { type ExperimentOptions, storedOrTrained } from "./experiment.ts";
import { budgetConfig, candidateCosts } from "./search.ts";
import {
  type FrontierCandidate,
  type FrontierSpace,
  frontierSpaceNamed,
  SMALL_NET_READINGS,
} from "./frontier_spaces.ts";
import {
  bandCandidates,
  type FinalistRule,
  FRONTIER_BANDS,
  frontierBands,
  type FrontierRun,
} from "./frontier_report.ts";

/** Where the frontier's results are stored (committed to the repository). */
export const FRONTIER_DIR = new URL("../../data/frontier/", import.meta.url).pathname
  .replace(/\/$/, "");

/**
 * The sizes the frontier is read at: its bands, and each article model's own size, so that
 * "a found model dominates it" is a choice made on validation and measured over seeds.
 */
export const FRONTIER_CAPS: readonly number[] = [
  ...new Set([
    ...FRONTIER_BANDS,
    ...Object.values(ARTICLE_FIGURES).map((figures) => figures.trainableParams),
  ]),
].sort((a, b) => a - b);

/** The kinds of run of a frontier, each in its own folder of the results folder. */
export type FrontierStage = "candidates" | "article-schedule" | "sweep";

/** One run for a worker process: a candidate of a space, its full config, its folder. */
export interface FrontierJob {
  space: string;
  candidate: string;
  stage: FrontierStage;
  config: TrainConfig;
  /** The results folder of the whole frontier; the run goes to its `stage` folder. */
  resultsDir: string;
  /** Relative cost of one epoch (for the time-left estimate): images x (MACs + overhead). */
  epochCost: number;
}

/** What a candidate's run stores beside accuracy. */
export interface FrontierCosts {
  trainableParams: number;
  nonTrainableParams: number;
  macsPerImage: number;
  trainSecondsPerEpoch: number;
  /** Median of one-image predictions after a warm-up (measured beside other workers). */
  latencyMs: number;
}

/** A stored frontier run: a `RunResult` plus the candidate's spec and costs. */
export interface FrontierResult extends RunResult {
  spec: FamilySpec;
  candidate: string;
  costs: FrontierCosts & Record<string, unknown>;
}

/**
 * The config of `candidate` under `budget` (a config without the model): the budget, with
 * the candidate's name as the model, checked as a config of the family's known member.
 */
export function frontierConfig(
  candidate: FrontierCandidate,
  budget: Omit<TrainConfig, "model">,
): TrainConfig {
  return budgetConfig(candidate.name, budget);
}

/** The frontier budget of `preset` (its `frontier.budget` over the article's schedule). */
export function frontierBudget(
  preset: string,
  overrides: Partial<TrainConfig> = {},
): Omit<TrainConfig, "model"> {
  const { model: _, ...budget } = makeConfig("small-net", {
    overrides: { ...ARTICLE_CONFIG, ...studySettings(preset).frontier.budget, ...overrides },
  });
  return budget;
}

/** `preset`'s finalist rule, with its validation split's size for the ties. */
export function finalistRule(preset: string): FinalistRule {
  const { count, tiesUpTo } = studySettings(preset).frontier.finalists;
  return { count, tiesUpTo, validationSize: frontierBudget(preset).validationSize };
}

/** The article's schedule on `preset` (its training over `ARTICLE_CONFIG`), for the readings. */
export function articleScheduleBudget(preset: string): Omit<TrainConfig, "model"> {
  const { model: _, ...budget } = makeConfig("small-net", {
    overrides: { ...ARTICLE_CONFIG, ...presetSettings(preset).training },
  });
  return budget;
}

/**
 * Trains `candidate` with `config` (from `frontierConfig`) in `dir`, or returns its stored
 * result; an interrupted run resumes from its last epoch. What each worker process runs.
 */
export async function runFrontierCandidate(
  candidate: FrontierCandidate,
  config: TrainConfig,
  options: Pick<ExperimentOptions, "onBatch" | "onEpoch" | "onResume" | "data"> & {
    resultsDir: string;
  },
): Promise<{ result: FrontierResult; cached: boolean }> {
  return await storedOrTrained({
    config,
    resultsDir: options.resultsDir,
    build: () => buildFamilyModel(candidate.spec, { seed: config.seed, name: candidate.name }),
    measure: (model, data, history) => {
      const costs: FrontierCosts = {
        ...candidateCosts(model, history),
        latencyMs: measureLatency(model, data.test, { repeats: 100, warmup: 10 }).medianMs,
      };
      return costs;
    },
    fields: { spec: structuredClone(candidate.spec), candidate: candidate.name },
  }, options) as { result: FrontierResult; cached: boolean };
}

/** The main pass: every candidate of `space` with the first seed, on the frontier budget. */
export function candidateJobs(
  space: FrontierSpace,
  preset: string,
  options: { resultsDir: string; seeds?: number[]; candidates?: string[] },
): FrontierJob[] {
  const budget = frontierBudget(preset);
  const seeds = options.seeds ?? [studySettings(preset).frontier.seeds[0]];
  const chosen = space.candidates.filter((candidate) =>
    !options.candidates || options.candidates.includes(candidate.name)
  );
  return seeds.flatMap((seed) =>
    chosen.map((candidate) =>
      job(space, candidate, "candidates", { ...budget, seed }, options.resultsDir)
    )
  );
}

/** The Small Net readings of `space` on the article's schedule (none in a space without them). */
export function articleScheduleJobs(
  space: FrontierSpace,
  preset: string,
  options: { resultsDir: string },
): FrontierJob[] {
  const readings = new Set(SMALL_NET_READINGS.map((reading) => reading.name));
  return space.candidates.filter((candidate) => readings.has(candidate.name)).map((candidate) =>
    job(space, candidate, "article-schedule", articleScheduleBudget(preset), options.resultsDir)
  );
}

/** The recipe sweep: each sweep candidate with each recipe (overrides of the budget). */
export function sweepJobs(
  space: FrontierSpace,
  preset: string,
  options: { resultsDir: string },
): FrontierJob[] {
  const { sweep } = studySettings(preset).frontier;
  return sweep.recipes.flatMap((recipe) =>
    sweep.candidates.map((name) => {
      const candidate = space.candidates.find((c) => c.name === name);
      if (!candidate) {
        throw new Error(
          `The sweep's candidate "${name}" is not in the space "${space.name}"; list names of ` +
            `that space in the preset's frontier.sweep.candidates`,
        );
      }
      return job(space, candidate, "sweep", frontierBudget(preset, recipe), options.resultsDir);
    })
  );
}

/** The stored run of `job`, if it finished. */
export async function storedJobResult(job: FrontierJob): Promise<FrontierResult | undefined> {
  const backend = await initBackend(currentBackend());
  const key = await resultKey(job.config, backend);
  return await loadResult(stageDir(job), key) as FrontierResult | undefined;
}

/** The report's view of the finished runs among `jobs` (unfinished ones are left out). */
export async function frontierRuns(jobs: FrontierJob[]): Promise<FrontierRun[]> {
  const runs: FrontierRun[] = [];
  for (const job of jobs) {
    const result = await storedJobResult(job);
    if (result) runs.push(toFrontierRun(result));
  }
  return runs;
}

/** A stored result as a `FrontierRun`: final-epoch validation and test accuracy. */
export function toFrontierRun(result: FrontierResult): FrontierRun {
  const last = result.history[result.history.length - 1];
  if (last.validationAccuracy === undefined) {
    throw new Error(
      `The run ${result.key} has no validation accuracy, so nothing can be chosen on it; ` +
        `frontier runs hold out a validation split (frontier.budget.validationSize)`,
    );
  }
  return {
    name: result.candidate,
    params: result.costs.trainableParams,
    macsPerImage: result.costs.macsPerImage,
    seed: result.config.seed,
    validationAccuracy: last.validationAccuracy,
    testAccuracy: last.testAccuracy,
    latencyMs: result.costs.latencyMs,
  };
}

/** The seed jobs of the frontier points chosen (on validation) from the main pass's runs. */
export function seedJobs(
  space: FrontierSpace,
  preset: string,
  runs: FrontierRun[],
  options: { resultsDir: string },
): FrontierJob[] {
  const { seeds } = studySettings(preset).frontier;
  const chosen = bandCandidates(
    frontierBands(runs, FRONTIER_CAPS, { seed: seeds[0], ...finalistRule(preset) }),
  );
  return candidateJobs(space, preset, {
    resultsDir: options.resultsDir,
    seeds: seeds.slice(1),
    candidates: chosen,
  });
}

/** The folder a job's run is stored in. */
export function stageDir(job: Pick<FrontierJob, "resultsDir" | "stage">): string {
  return `${job.resultsDir}/${job.stage}`;
}

/** The space `preset` trains by default, resolved (an unknown name lists the known ones). */
export function frontierSpaceFor(preset: string, name?: string): FrontierSpace {
  return frontierSpaceNamed(name ?? studySettings(preset).frontier.space);
}

// Per-image cost of an epoch for the time-left estimate: MACs (x3: forward and two gradients)
// plus a fixed overhead per image for the per-operation costs that dominate tiny nets.
const OVERHEAD_MACS_PER_IMAGE = 300_000;

function job(
  space: FrontierSpace,
  candidate: FrontierCandidate,
  stage: FrontierStage,
  budget: Omit<TrainConfig, "model">,
  resultsDir: string,
): FrontierJob {
  const model = buildFamilyModel(candidate.spec);
  const macs = summarizeModel(model).macs;
  model.dispose();
  const config = frontierConfig(candidate, budget);
  return {
    space: space.name,
    candidate: candidate.name,
    stage,
    config,
    resultsDir,
    epochCost: config.trainSize * (3 * macs + OVERHEAD_MACS_PER_IMAGE),
  };
}
