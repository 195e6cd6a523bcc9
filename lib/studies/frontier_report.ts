/**
 * The frontier's numbers, as pure functions of stored runs: the best candidate per size band
 * (the band's few best on one seed, then the best of those over their seeds) and the smallest
 * one reaching an accuracy, all chosen on VALIDATION accuracy (test accuracy
 * is carried along and reported, never used to choose), seeds' mean, spread and t interval,
 * what doubling the parameters buys, and which article models a found model dominates.
 */
import { type SpreadStats, spreadStats } from "./seeds.ts";
import { paretoFront } from "./search.ts";
import { formatCount } from "../common/format.ts";
import { formatTable } from "../common/markdown.ts";

/** The size bands of the frontier: the best model with at most this many parameters. */
export const FRONTIER_BANDS: readonly number[] = [
  100,
  200,
  300,
  500,
  1000,
  2000,
  5000,
  10_000,
  20_000,
];

/** One trained candidate (one seed), as the report needs it. */
export interface FrontierRun {
  name: string;
  params: number;
  macsPerImage: number;
  seed: number;
  /** Final-epoch validation accuracy, 0-1: what every choice is made on. */
  validationAccuracy: number;
  /** Final-epoch test accuracy, 0-1: reported only. */
  testAccuracy: number;
  /** Median one-image prediction time, when measured. */
  latencyMs?: number;
}

/** Mean, spread and a t interval of a few values (e.g. 3 seeds' test accuracies). */
export interface SeedInterval extends SpreadStats {
  /** Half width of the 95% t interval of the mean: t(0.975, n - 1) x standard error. */
  halfWidth: number;
  low: number;
  high: number;
}

/** A frontier point: the best candidate of a band, with its seeds. */
export interface BandPoint {
  /** The band's cap: at most this many trainable parameters. */
  cap: number;
  /** The chosen candidate's seed-0 run (chosen on validation accuracy), if any fits. */
  best?: FrontierRun;
  /** Test accuracy over the candidate's seeds (those stored so far). */
  test?: SeedInterval;
  /** Validation accuracy over the same seeds. */
  validation?: SeedInterval;
  /**
   * The finalists that fit in the band (its own and smaller bands'; best first on the
   * choosing seed): the ones trained with more seeds, and compared for its point.
   */
  finalists?: string[];
}

// Student's t, 97.5th percentile, for 1 to 10 degrees of freedom (NIST/SEMATECH table).
const T_975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

/** The 97.5th percentile of Student's t with `df` degrees of freedom (two-sided 95%). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) {
    throw new Error(`degrees of freedom must be a positive integer, got ${df}`);
  }
  if (df <= T_975.length) return T_975[df - 1];
  // Beyond the table: the normal quantile plus the first two terms of its expansion in 1/df.
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2);
}

/** Mean, spread and 95% t interval of `values` (one value: no interval, half width 0). */
export function seedInterval(values: number[]): SeedInterval {
  const stats = spreadStats(values);
  const halfWidth = stats.count > 1 ? tQuantile975(stats.count - 1) * stats.standardError : 0;
  return { ...stats, halfWidth, low: stats.mean - halfWidth, high: stats.mean + halfWidth };
}

/**
 * The best run with at most `cap` parameters for each cap, by validation accuracy (of equal
 * accuracy, the smaller). Only the choosing seed's runs (`seed`, default 0) are compared.
 */
export function bestPerBand(
  runs: FrontierRun[],
  caps: readonly number[] = FRONTIER_BANDS,
  options: { seed?: number } = {},
): { cap: number; best?: FrontierRun }[] {
  return caps.map((cap) => ({ cap, best: bandFinalists(runs, cap, {}, options.seed ?? 0)[0] }));
}

/** How many finalists a band trains with every seed (`frontierBands`). */
export interface FinalistRule {
  /** The band's best runs on the choosing seed that always go on (default 1). */
  count?: number;
  /**
   * More finalists, up to this many in all: the further runs whose validation accuracy is
   * within one standard error of the best's (binomial, over `validationSize` images), which
   * one validation set cannot tell from it.
   */
  tiesUpTo?: number;
  /** Images in the validation split, for that standard error. */
  validationSize?: number;
}

/**
 * The best runs of seed `seed` with at most `cap` parameters, by validation accuracy (of equal
 * accuracy, the smaller first): `rule.count` of them, plus the ones tied with the best.
 */
export function bandFinalists(
  runs: FrontierRun[],
  cap: number,
  rule: FinalistRule = {},
  seed = 0,
): FrontierRun[] {
  const ranked = runs.filter((run) => run.seed === seed && run.params <= cap)
    .sort(byValidationAccuracy);
  const count = rule.count ?? 1;
  if (!rule.tiesUpTo || !rule.validationSize || ranked.length <= count) {
    return ranked.slice(0, count);
  }
  const best = ranked[0].validationAccuracy;
  const tied = best - Math.sqrt(best * (1 - best) / rule.validationSize);
  const ties = ranked.slice(count).filter((run) => run.validationAccuracy >= tied);
  return [...ranked.slice(0, count), ...ties].slice(0, Math.max(count, rule.tiesUpTo));
}

// Best validation accuracy first; of equal accuracy, the smaller first.
function byValidationAccuracy(a: FrontierRun, b: FrontierRun): number {
  return b.validationAccuracy - a.validationAccuracy || a.params - b.params;
}

/**
 * The bands with their chosen candidates' seeds: mean, spread and t interval. Each band's
 * finalists (`bandFinalists`: its best runs on the choosing seed, and those tied with them)
 * train with every seed, and the band's point is the one with the best mean validation
 * accuracy over its stored seeds (of equal means, the smaller) among every band's finalists
 * that fit in it: one seed's validation accuracy on 5,000 images moves by ~0.1 points, as much
 * as the gaps at the top, so the first seed alone would pick partly on luck, and a bigger band
 * is never given a worse point than a smaller one because its own finalists left one out.
 */
export function frontierBands(
  runs: FrontierRun[],
  caps: readonly number[] = FRONTIER_BANDS,
  options: { seed?: number } & FinalistRule = {},
): BandPoint[] {
  const seed = options.seed ?? 0;
  const seedsOf = (name: string) => runs.filter((run) => run.name === name);
  const meanValidation = (name: string) =>
    seedInterval(seedsOf(name).map((r) => r.validationAccuracy)).mean;
  const finalists = [
    ...new Map(
      caps.flatMap((cap) => bandFinalists(runs, cap, options, seed)).map((run) => [run.name, run]),
    ).values(),
  ];
  return caps.map((cap) => {
    const fitting = finalists.filter((run) => run.params <= cap).sort(byValidationAccuracy);
    if (fitting.length === 0) return { cap };
    const best = fitting.reduce((best, run) => {
      const [a, b] = [meanValidation(run.name), meanValidation(best.name)];
      return a > b || (a === b && run.params < best.params) ? run : best;
    });
    const seeds = seedsOf(best.name);
    return {
      cap,
      best,
      test: seedInterval(seeds.map((run) => run.testAccuracy)),
      validation: seedInterval(seeds.map((run) => run.validationAccuracy)),
      finalists: fitting.map((run) => run.name),
    };
  });
}

/**
 * The frontier's points for a chart: each distinct band winner once (the first band that chose
 * it), at its mean test accuracy, with the 95% interval where it has more than one seed.
 */
export function frontierPoints(
  bands: BandPoint[],
): { label: string; params: number; accuracy: number; low?: number; high?: number }[] {
  return bands.filter((band, i, all) =>
    band.best && band.test && !all.slice(0, i).some((b) => b.best?.name === band.best!.name)
  ).map((band) => ({
    label: band.best!.name,
    params: band.best!.params,
    accuracy: band.test!.mean,
    ...(band.test!.count > 1 && { low: band.test!.low, high: band.test!.high }),
  }));
}

/** The distinct finalists of the bands: the ones to train with more seeds. */
export function bandCandidates(bands: BandPoint[]): string[] {
  return [
    ...new Set(bands.flatMap((band) => band.finalists ?? (band.best ? [band.best.name] : []))),
  ];
}

/** The staircase: runs no other run beats on both size and validation accuracy. */
export function validationFront(runs: FrontierRun[], options: { seed?: number } = {}) {
  const seed = options.seed ?? 0;
  return paretoFront(
    runs.filter((run) => run.seed === seed).map((run) => ({
      ...run,
      accuracy: run.validationAccuracy,
    })),
  );
}

/** The smallest run whose validation accuracy reaches `target` (0-1), if any. */
export function smallestReaching(
  runs: FrontierRun[],
  target: number,
  options: { seed?: number } = {},
): FrontierRun | undefined {
  return validationFront(runs, options).find((run) => run.validationAccuracy >= target);
}

/** One step of "what doubling the parameters buys" between consecutive frontier points. */
export interface DoublingStep {
  from: string;
  to: string;
  paramsRatio: number;
  /** Test accuracy gained (mean over seeds), in points per doubling of the parameters. */
  pointsPerDoubling: number;
}

/**
 * Accuracy gained per 2x of parameters between consecutive distinct band points, over the
 * regular bands only (`FRONTIER_BANDS`): an extra cap just above a band (518 beside 500) would
 * make a step of a few percent more parameters look like a huge gain per doubling.
 */
export function doublingSteps(bands: BandPoint[]): DoublingStep[] {
  const points = bands.filter((band) => FRONTIER_BANDS.includes(band.cap))
    .filter((band) => band.best && band.test)
    .filter((band, i, all) => i === 0 || band.best!.name !== all[i - 1].best!.name);
  const steps: DoublingStep[] = [];
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    const ratio = b.best!.params / a.best!.params;
    steps.push({
      from: a.best!.name,
      to: b.best!.name,
      paramsRatio: ratio,
      pointsPerDoubling: ((b.test!.mean - a.test!.mean) * 100) / Math.log2(ratio),
    });
  }
  return steps;
}

/**
 * For each reference model (e.g. the article's five), the smallest found band point that
 * dominates it: no more parameters and a higher mean test accuracy.
 */
export function dominating(
  bands: BandPoint[],
  references: { name: string; params: number; accuracy: number }[],
): { reference: string; by?: BandPoint }[] {
  return references.map((reference) => ({
    reference: reference.name,
    by: bands.find((band) =>
      band.best && band.test && band.best.params <= reference.params &&
      band.test.mean > reference.accuracy
    ),
  }));
}

/** The frontier table in Markdown: band, candidate, params, MACs, validation, test +- spread. */
export function formatFrontierTable(bands: BandPoint[]): string {
  const percent = (value: number) => `${(value * 100).toFixed(2)}%`;
  const rows = bands.map((band) => {
    if (!band.best) return [`≤ ${formatCount(band.cap)}`, "none fits", "", "", "", "", "", ""];
    const test = band.test!;
    return [
      `≤ ${formatCount(band.cap)}`,
      band.best.name,
      formatCount(band.best.params),
      formatCount(band.best.macsPerImage),
      band.best.latencyMs === undefined ? "-" : band.best.latencyMs.toFixed(2),
      percent(band.validation!.mean),
      test.count > 1
        ? `${percent(test.mean)} ± ${(test.std * 100).toFixed(2)}`
        : percent(test.mean),
      test.count > 1
        ? `${percent(test.low)} to ${percent(test.high)} (${test.count} seeds)`
        : "1 seed",
    ];
  });
  return formatTable(
    [
      "band",
      "best on validation",
      "params",
      "MACs",
      "1-image ms",
      "validation mean",
      "test mean ± sd",
      "95% t interval",
    ],
    rows,
    { align: ["l", "l", "r", "r", "r", "r", "r", "l"] },
  );
}
