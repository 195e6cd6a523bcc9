/** Charts of training (chapter 3): the curves per epoch, and what a notebook redraws live. */
import * as Plot from "@observablehq/plot";
import type { EpochMetrics } from "../training/train.ts";
import { modelColor } from "../models/registry.ts";
import { formatCount, formatNumber, formatPercent } from "../common/format.ts";
import {
  base,
  BOTTOM,
  composeChart,
  epochAxis,
  type LegendItem,
  oneTwoFive,
  type SvgChart,
} from "./frame.ts";

/** The per-epoch numbers `plotTrainingCurves` can draw. */
export type CurveMetric = "testAccuracy" | "testLoss" | "trainLoss";

/** Options of `plotTrainingCurves`. */
export interface TrainingCurvesOptions {
  /** Default "testAccuracy". */
  metric?: CurveMetric;
  title?: string;
  /** What the curves were measured on, said in the subtitle: "2,000 test images, preset quick". */
  measuredOn?: { testImages: number; preset?: string };
}

const METRICS: Record<CurveMetric, { label: string; title: string; note: string }> = {
  testAccuracy: {
    label: "test accuracy (%)",
    title: "Test accuracy after each epoch",
    note: "Higher is better. Measured on test images the models never train on",
  },
  testLoss: {
    label: "test loss (cross-entropy)",
    title: "Test loss after each epoch",
    note: "Lower is better. Cross-entropy on test images the models never train on",
  },
  trainLoss: {
    label: "training loss (cross-entropy)",
    title: "Training loss per epoch",
    note: "Lower is better. Mean over the epoch's batches, with dropout on",
  },
};

/** One line with dots per model across epochs: the article's graph. Accuracy is in percent. */
export function plotTrainingCurves(
  histories: { model: string; history: EpochMetrics[] }[],
  options: TrainingCurvesOptions = {},
): SvgChart {
  const metric = options.metric ?? "testAccuracy";
  const scale = metric === "testAccuracy" ? 100 : 1;
  const points = histories.flatMap(({ model, history }) =>
    history.map((m) => ({ model, epoch: m.epoch, value: m[metric] * scale }))
  );
  const models = histories.map((h) => h.model);
  const lastEpoch = Math.max(1, ...points.map((p) => p.epoch));
  const plot = Plot.plot({
    ...base(),
    width: 640,
    height: 380,
    marginLeft: 56,
    marginTop: 24,
    marginBottom: BOTTOM,
    x: epochAxis(1, lastEpoch, 12),
    y: { label: METRICS[metric].label, grid: true, nice: true },
    color: { domain: models, range: models.map(modelColor) },
    marks: [
      Plot.line(points, { x: "epoch", y: "value", z: "model", stroke: "model", strokeWidth: 2.5 }),
      Plot.dot(points, { x: "epoch", y: "value", fill: "model", r: 4, stroke: "white" }),
    ],
  });
  const best = bestFinal(histories, metric);
  return composeChart([plot], {
    title: options.title ?? METRICS[metric].title,
    subtitle: `${METRICS[metric].note}${measuredOnNote(options.measuredOn, metric)}.` +
      (best ? ` ${best}` : ""),
    legend: models.map((model) => ({ label: model, color: modelColor(model), shape: "line" })),
  });
}

// "(2,000 test images, preset quick)": what a reader needs to weigh the curves.
function measuredOnNote(
  measuredOn: TrainingCurvesOptions["measuredOn"],
  metric: CurveMetric,
): string {
  if (!measuredOn) return "";
  const preset = measuredOn.preset ? `preset ${measuredOn.preset}` : "";
  if (metric === "trainLoss") return preset ? ` (${preset})` : "";
  return ` (${
    [`${formatCount(measuredOn.testImages)} test images`, preset].filter(Boolean).join(", ")
  })`;
}

function bestFinal(histories: { model: string; history: EpochMetrics[] }[], metric: CurveMetric) {
  const finals = histories.filter((h) => h.history.length > 0).map((h) => ({
    model: h.model,
    value: h.history[h.history.length - 1][metric],
  }));
  if (finals.length < 2) return "";
  const best = finals.reduce((a, b) =>
    (metric === "testAccuracy" ? b.value > a.value : b.value < a.value) ? b : a
  );
  const value = metric === "testAccuracy" ? formatPercent(best.value) : formatNumber(best.value);
  return `Best at the end: ${best.model} (${value}).`;
}

/** Options of `plotLiveCurves`. */
export interface LiveCurvesOptions {
  model: string;
  /** Epochs planned; fixes the x axis so that it does not move while training. */
  numEpochs: number;
  /** Loss of every batch so far, all epochs in order. */
  batchLosses?: number[];
  /** Batches per epoch, to place batch losses at fractional epochs. Default: estimated. */
  numBatches?: number;
}

// Batch losses are averaged into at most this many points: cheaper to draw, easier to read.
const LIVE_MAX_POINTS = 240;

/** What a notebook redraws while training: loss (test, and batches) and test accuracy so far. */
export function plotLiveCurves(
  history: EpochMetrics[],
  options: LiveCurvesOptions,
): SvgChart {
  const numEpochs = Math.max(1, options.numEpochs);
  const color = modelColor(options.model);
  const batchLosses = options.batchLosses ?? [];
  const numBatches = options.numBatches ??
    Math.max(1, Math.ceil(batchLosses.length / Math.max(1, history.length)));
  const batches = smoothBatches(batchLosses, numBatches);
  const tests = history.map((m) => ({
    epoch: m.epoch,
    loss: m.testLoss,
    accuracy: m.testAccuracy * 100,
  }));
  const panel = {
    ...base(),
    width: 320,
    height: 250,
    marginLeft: 52,
    marginRight: 16,
    marginBottom: BOTTOM,
  };
  const x = epochAxis(0, numEpochs, 6);
  const losses = [...batches.map((b) => b.loss), ...tests.map((t) => t.loss)]
    .filter((v) => v > 0);
  const lossDomain = losses.length > 0
    ? [Math.min(...losses) / 1.2, Math.max(...losses) * 1.2]
    : [0.01, 3];
  const lossPlot = Plot.plot({
    ...panel,
    x,
    // Log scale: losses fall by orders of magnitude, and the first batches would flatten the rest.
    y: {
      type: "log",
      domain: lossDomain,
      ticks: oneTwoFive(lossDomain[0], lossDomain[1]),
      tickFormat: formatNumber,
      label: "loss (cross-entropy, log scale)",
      grid: true,
    },
    marks: [
      Plot.line(batches, { x: "epoch", y: "loss", stroke: "#9aa3ad", strokeWidth: 1 }),
      Plot.line(tests, { x: "epoch", y: "loss", stroke: color, strokeWidth: 2.5 }),
      Plot.dot(tests, { x: "epoch", y: "loss", fill: color, r: 4, stroke: "white" }),
    ],
  });
  const accuracyPlot = Plot.plot({
    ...panel,
    x,
    // From a round number below the worst epoch up to 100%, so one epoch still gets an axis.
    y: {
      label: "test accuracy (%)",
      grid: true,
      domain: accuracyDomain(tests.map((t) => t.accuracy)),
    },
    marks: [
      Plot.line(tests, { x: "epoch", y: "accuracy", stroke: color, strokeWidth: 2.5 }),
      Plot.dot(tests, { x: "epoch", y: "accuracy", fill: color, r: 4, stroke: "white" }),
    ],
  });
  const last = history[history.length - 1];
  const status = last
    ? `After epoch ${last.epoch}: test accuracy ${formatPercent(last.testAccuracy)}, ` +
      `test loss ${formatNumber(last.testLoss)}, training loss ${formatNumber(last.trainLoss)}.`
    : "Waiting for the first epoch to finish…";
  const legend: LegendItem[] = [{ label: "test, after each epoch", color, shape: "line" }];
  if (batches.length > 0) {
    legend.push({ label: "training batches (averaged)", color: "#9aa3ad", shape: "line" });
  }
  return composeChart([lossPlot, accuracyPlot], {
    title: `Training ${options.model}: ${history.length} of ${numEpochs} epochs done`,
    subtitle: status,
    legend,
  });
}

function accuracyDomain(accuracies: number[]): [number, number] {
  if (accuracies.length === 0) return [0, 100];
  const low = Math.min(...accuracies);
  const step = low > 90 ? 1 : 10;
  return [Math.max(0, Math.floor((low - step / 2) / step) * step), 100];
}

function smoothBatches(losses: number[], numBatches: number): { epoch: number; loss: number }[] {
  const size = Math.max(1, Math.ceil(losses.length / LIVE_MAX_POINTS));
  const points = [];
  for (let start = 0; start < losses.length; start += size) {
    const end = Math.min(losses.length, start + size);
    let sum = 0;
    let n = 0;
    for (let i = start; i < end; i++) {
      if (!Number.isFinite(losses[i])) continue;
      sum += losses[i];
      n++;
    }
    if (n > 0) points.push({ epoch: end / numBatches, loss: sum / n });
  }
  return points;
}

/** Options of `plotTrainVsHeldOut`. */
export interface TrainVsHeldOutOptions {
  title?: string;
  subtitle?: string;
}

/**
 * One small panel per model: its training loss (solid) and held-out loss (dashed: the
 * validation split where the run held one out, else the test set) after each epoch. A dashed
 * line far above the solid one is a model too big for its data; both high and together, too
 * small.
 */
export function plotTrainVsHeldOut(
  runs: { model: string; history: EpochMetrics[] }[],
  options: TrainVsHeldOutOptions = {},
): SvgChart {
  const panelWidth = Math.min(300, Math.floor(800 / Math.max(1, runs.length)));
  const onValidation = runs.every((r) => r.history.every((m) => m.validationLoss !== undefined));
  const heldOutName = onValidation ? "validation" : "held-out";
  const all = runs.flatMap((r) =>
    r.history.flatMap((m) => [m.trainLoss, m.validationLoss ?? m.testLoss])
  ).filter((v) => Number.isFinite(v) && v > 0);
  const yDomain: [number, number] = all.length > 0
    ? [Math.min(...all) / 1.3, Math.max(...all) * 1.3]
    : [0.01, 1];
  const panels = runs.map(({ model, history }, i) => {
    const points = history.flatMap((m) => [
      { epoch: m.epoch, loss: m.trainLoss, split: "training" },
      {
        epoch: m.epoch,
        loss: m.validationLoss ?? m.testLoss,
        split: m.validationLoss === undefined ? "test" : "validation",
      },
    ]);
    const lastEpoch = Math.max(1, ...history.map((m) => m.epoch));
    return Plot.plot({
      ...base(),
      width: panelWidth,
      height: 280,
      marginLeft: i === 0 ? 52 : 36,
      marginRight: 12,
      marginTop: 30,
      marginBottom: BOTTOM,
      x: epochAxis(1, lastEpoch, Math.max(2, Math.floor(panelWidth / 50))),
      y: {
        type: "log",
        domain: yDomain,
        ticks: oneTwoFive(yDomain[0], yDomain[1]),
        tickFormat: formatNumber,
        label: i === 0 ? "loss (log scale)" : null,
        grid: true,
      },
      marks: [
        Plot.line(points.filter((p) => p.split === "training"), {
          x: "epoch",
          y: "loss",
          stroke: modelColor(model),
          strokeWidth: 2.5,
        }),
        Plot.line(points.filter((p) => p.split !== "training"), {
          x: "epoch",
          y: "loss",
          stroke: modelColor(model),
          strokeWidth: 2.5,
          strokeDasharray: "6,4",
        }),
        Plot.dot(points, { x: "epoch", y: "loss", fill: modelColor(model), r: 3 }),
        Plot.text([model], { frameAnchor: "top", dy: -22, fontWeight: "bold" }),
      ],
    });
  });
  const legend: LegendItem[] = [
    { label: "training loss", color: "#333", shape: "line" },
    { label: `${heldOutName} loss`, color: "#333", shape: "dash" },
  ];
  return composeChart(panels, {
    title: options.title ?? `Training loss against ${heldOutName} loss, per model`,
    subtitle: options.subtitle ??
      `Dashed far above solid: too big for the data (overfits). Both high and close: too small ` +
        `(underfits). Held out: ${
          onValidation
            ? "the validation split"
            : "the validation split where the run has one, else the test set"
        }.`,
    legend,
  });
}
