/**
 * "Choose for your device": given what a device allows (weight size, time per image) and the
 * accuracy the task needs, rank the models that fit and say for every other one why not.
 */
import type { DeploymentRow, Precision } from "../measure/deploy.ts";
import { formatCount, formatMB } from "../common/format.ts";
import { formatTable } from "../common/markdown.ts";

/** What the device allows and the task needs; leave out a limit that does not matter. */
export interface DeviceBudget {
  /** Largest weight size, in MB of 2^20 bytes (the article's unit). */
  maxWeightMB?: number;
  /** Longest time for one image, in milliseconds (compared with the 95th percentile). */
  maxLatencyMs?: number;
  /** Lowest acceptable test accuracy, as a fraction: 0.95 for 95%. */
  minAccuracy?: number;
}

/** One model (at one precision) to choose from. */
export interface Candidate {
  name: string;
  /** Trainable parameters. */
  params: number;
  weightMB: number;
  /** Time for one image (batch 1), in ms; the 95th percentile when built from measurements. */
  latencyMs: number;
  /** Test accuracy, as a fraction. */
  accuracy: number;
  /** Where the figures come from (stored result, preset, test images). */
  source: string;
  /** Images the accuracy was measured on; with it, accuracies within one standard error tie. */
  evaluatedOn?: number;
}

/** What `chooseForDevice` decides. */
export interface Choice {
  budget: DeviceBudget;
  /**
   * Candidates that fit, best first: most accurate, where accuracies within one standard error
   * of the best remaining one count as tied, and among tied ones the smallest, then fastest.
   */
  fits: Candidate[];
  /** Candidates that do not fit, each with every limit it breaks. */
  rejected: { candidate: Candidate; reasons: string[] }[];
}

const BUDGET_KEYS = ["maxWeightMB", "maxLatencyMs", "minAccuracy"] as const;

/** Throws a clear error for a budget that makes no sense; returns it otherwise. */
export function checkBudget(budget: DeviceBudget): DeviceBudget {
  if (budget === null || typeof budget !== "object") {
    throw new Error(`A budget is an object like { maxWeightMB: 1, minAccuracy: 0.95 }`);
  }
  for (const key of Object.keys(budget)) {
    if (!(BUDGET_KEYS as readonly string[]).includes(key)) {
      throw new Error(`Unknown budget setting "${key}"; use: ${BUDGET_KEYS.join(", ")}`);
    }
  }
  for (const key of ["maxWeightMB", "maxLatencyMs"] as const) {
    const value = budget[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new Error(
        `${key} must be a positive number, got ${value}; leave it out for no limit`,
      );
    }
  }
  const accuracy = budget.minAccuracy;
  if (accuracy !== undefined) {
    if (typeof accuracy !== "number" || !Number.isFinite(accuracy) || accuracy < 0) {
      throw new Error(`minAccuracy must be a fraction from 0 to 1, got ${accuracy}`);
    }
    if (accuracy > 1 && accuracy <= 100) {
      throw new Error(
        `minAccuracy is a fraction from 0 to 1, not a percentage: got ${accuracy}, ` +
          `use ${Number((accuracy / 100).toPrecision(6))}`,
      );
    }
    if (accuracy > 1) {
      throw new Error(`minAccuracy must be a fraction from 0 to 1, got ${accuracy}`);
    }
  }
  return budget;
}

/** Every limit of `budget` that `candidate` breaks, with the numbers ("weights 4.58 MB > 1 MB budget"). */
export function budgetViolations(candidate: Candidate, budget: DeviceBudget): string[] {
  const reasons: string[] = [];
  const { maxWeightMB, maxLatencyMs, minAccuracy } = budget;
  if (maxWeightMB !== undefined && candidate.weightMB > maxWeightMB) {
    reasons.push(
      `weights ${
        formatDistinct(candidate.weightMB, maxWeightMB, candidate.weightMB < 0.01 ? 4 : 2)
      } MB > ` +
        `${maxWeightMB} MB budget`,
    );
  }
  if (maxLatencyMs !== undefined && candidate.latencyMs > maxLatencyMs) {
    reasons.push(
      `latency ${formatDistinct(candidate.latencyMs, maxLatencyMs, 2)} ms > ` +
        `${maxLatencyMs} ms budget`,
    );
  }
  if (minAccuracy !== undefined && candidate.accuracy < minAccuracy) {
    const required = Number((minAccuracy * 100).toPrecision(6));
    reasons.push(
      `accuracy ${formatDistinct(candidate.accuracy * 100, required, 2)}% < ${required}% required`,
    );
  }
  return reasons;
}

/** Ranks the candidates that fit `budget` and gives the reasons of those that do not. */
export function chooseForDevice(candidates: Candidate[], budget: DeviceBudget): Choice {
  checkBudget(budget);
  const names = new Set<string>();
  for (const candidate of candidates) {
    checkCandidate(candidate);
    if (names.has(candidate.name)) {
      throw new Error(`Two candidates are called "${candidate.name}"; give each its own name`);
    }
    names.add(candidate.name);
  }
  const fits: Candidate[] = [];
  const rejected: Choice["rejected"] = [];
  for (const candidate of candidates) {
    const reasons = budgetViolations(candidate, budget);
    if (reasons.length === 0) fits.push(candidate);
    else rejected.push({ candidate, reasons });
  }
  return { budget, fits: rankCandidates(fits), rejected };
}

/** The binomial standard error of an accuracy measured on `images` images. */
export function accuracyStandardError(accuracy: number, images: number): number {
  return Math.sqrt(accuracy * (1 - accuracy) / images);
}

/**
 * Best first. A difference smaller than the measurement's own noise is no reason to pick a
 * bigger model: the most accurate remaining candidate and every one within its standard error
 * form a tied band, ranked smallest then fastest; then the next band.
 */
export function rankCandidates(candidates: Candidate[]): Candidate[] {
  const left = [...candidates].sort((a, b) =>
    b.accuracy - a.accuracy || a.name.localeCompare(b.name)
  );
  const ranked: Candidate[] = [];
  while (left.length > 0) {
    const top = left[0];
    const noise = top.evaluatedOn ? accuracyStandardError(top.accuracy, top.evaluatedOn) : 0;
    const band = left.filter((candidate) => top.accuracy - candidate.accuracy <= noise);
    band.sort((a, b) =>
      a.weightMB - b.weightMB || a.latencyMs - b.latencyMs || b.accuracy - a.accuracy ||
      a.name.localeCompare(b.name)
    );
    ranked.push(...band);
    for (const candidate of band) left.splice(left.indexOf(candidate), 1);
  }
  return ranked;
}

/** Deployment rows as candidates, one per model and precision: "pytorch (float16)". */
export function deploymentCandidates(
  rows: DeploymentRow[],
  options: { precisions?: Precision[] } = {},
): Candidate[] {
  // The formats a TensorFlow.js app can load (int8 is an estimate for mobile runtimes).
  const precisions = options.precisions ?? ["float32", "float16", "uint8"];
  return rows.flatMap((row) =>
    precisions.map((precision) => ({
      name: precision === "float32" ? row.model : `${row.model} (${precision})`,
      params: row.trainableParams,
      weightMB: row.precisions[precision].bytes / 2 ** 20,
      latencyMs: row.latency.p95Ms,
      accuracy: row.precisions[precision].accuracy,
      source: `${row.key}, ${formatCount(row.testImages)} test images, ${row.backend}`,
      evaluatedOn: row.testImages,
    }))
  );
}

/** The decision as Markdown: the budget, the ranked table, and why each other candidate fails. */
export function formatChoice(choice: Choice): string {
  const { budget } = choice;
  const limits = [
    budget.maxWeightMB !== undefined ? `weights ≤ ${budget.maxWeightMB} MB` : undefined,
    budget.maxLatencyMs !== undefined
      ? `latency ≤ ${budget.maxLatencyMs} ms per image (95th percentile)`
      : undefined,
    budget.minAccuracy !== undefined
      ? `accuracy ≥ ${Number((budget.minAccuracy * 100).toPrecision(6))}%`
      : undefined,
  ].filter((limit) => limit !== undefined);
  const total = choice.fits.length + choice.rejected.length;
  const lines = [`**Budget:** ${limits.length > 0 ? limits.join(", ") : "no limits"}.`, ""];
  if (choice.fits.length === 0) {
    lines.push(
      `**None of the ${total} candidates fits.** Loosen the limit that rules out most of ` +
        `them, or train a model for this budget.`,
    );
  } else {
    const best = choice.fits[0];
    lines.push(
      `**${choice.fits.length} of ${total} fit; the best is ${best.name}** ` +
        `(${(best.accuracy * 100).toFixed(2)}%, ${formatMB(best.weightMB)} MB, ` +
        `${best.latencyMs.toFixed(2)} ms).`,
      "",
      formatTable(
        ["rank", "model", "accuracy", "weights MB", "latency ms (p95)", "params", "source"],
        choice.fits.map((c, i) => [
          i + 1,
          c.name,
          `${(c.accuracy * 100).toFixed(2)}%`,
          formatMB(c.weightMB),
          c.latencyMs.toFixed(2),
          formatCount(c.params),
          c.source,
        ]),
        { align: ["r", "l", "r", "r", "r", "r", "l"] },
      ),
    );
  }
  if (choice.rejected.length > 0) {
    lines.push("", "Does not fit:", "");
    for (const { candidate, reasons } of choice.rejected) {
      lines.push(`- **${candidate.name}**: ${reasons.join("; ")}`);
    }
  }
  return lines.join("\n");
}

function checkCandidate(candidate: Candidate): void {
  const problems: string[] = [];
  for (const key of ["params", "weightMB", "latencyMs"] as const) {
    const value = candidate[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      problems.push(`${key} ${value}`);
    }
  }
  const accuracy = candidate.accuracy;
  if (typeof accuracy !== "number" || !(accuracy >= 0 && accuracy <= 1)) {
    problems.push(`accuracy ${accuracy} (a fraction from 0 to 1)`);
  }
  if (problems.length > 0) {
    throw new Error(`Candidate "${candidate.name}" has impossible figures: ${problems.join(", ")}`);
  }
}

// `value` with `decimals` decimals, or more where needed so that it does not read as equal to
// `limit` ("weights 0.1004 MB > 0.1 MB budget", not "0.10 MB > 0.1 MB budget").
function formatDistinct(value: number, limit: number, decimals: number): string {
  for (let digits = decimals; digits <= 10; digits++) {
    const text = value.toFixed(digits);
    if (Number(text) !== limit) return text;
  }
  return String(value);
}
