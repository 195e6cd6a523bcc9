/**
 * Charts for the notebooks, drawn with Observable Plot into a linkedom document: every function
 * is pure and returns one self-contained `<svg>` (title, subtitle and legend inside it, white
 * background, `xmlns` set) that the Deno kernel shows as `image/svg+xml` and JupyterLab draws
 * inside an `<img>`. Each model keeps one colour in every chart (its registry entry's).
 */
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { deflateSync } from "node:zlib";
import type { Mistake } from "../measure/mistakes.ts";
import type { MnistSplit } from "../data/mnist.ts";
import type { ModelSummary } from "../models/summary.ts";
import type { EpochMetrics } from "../training/train.ts";
import { modelColor } from "../models/registry.ts";

/** The SVG namespace; JupyterLab draws SVG inside `<img>` and shows nothing without it. */
export const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * A chart: a linkedom `<svg>` element. Deno's type library has no DOM, so this names the part
 * notebooks and tests use; the kernel shows any value whose `outerHTML` starts with `<svg`.
 */
export interface SvgChart {
  readonly outerHTML: string;
  textContent: string | null;
  readonly firstChild: unknown;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  appendChild(child: unknown): unknown;
  querySelector(selectors: string): SvgChart | null;
  querySelectorAll(selectors: string): Iterable<SvgChart> & ArrayLike<SvgChart>;
}

/** Returns the chart's markup, e.g. to save it as an `.svg` file. */
export function svgToString(element: { outerHTML: string }): string {
  return element.outerHTML;
}

// ---------------------------------------------------------------------------------------------
// Digits and classes

/** Options of `plotDigitGrid`. */
export interface DigitGridOptions {
  /** How many images, from the first. Default 40. */
  count?: number;
  /** Images per row. Default 10. */
  columns?: number;
  title?: string;
}

/** The first `count` images of a split in a grid, each with its label underneath. */
export function plotDigitGrid(split: MnistSplit, options: DigitGridOptions = {}): SvgChart {
  const count = Math.max(0, Math.min(options.count ?? 40, split.count));
  const columns = Math.max(1, Math.min(options.columns ?? 10, count || 1));
  const plot = digitGallery(
    Array.from({ length: count }, (_, i) => ({
      src: digitDataUri(split.images, i),
      caption: String(split.labels[i]),
    })),
    {
      columns,
      cellWidth: 60,
      cellHeight: 76,
      caption: { fontSize: 13, fontWeight: "bold", fill: "#333" },
    },
  );
  return composeChart([plot], {
    title: options.title ?? `The first ${count} images and their labels`,
    subtitle: `Each image is ${IMAGE_SIDE} × ${IMAGE_SIDE} = ${
      IMAGE_SIDE * IMAGE_SIDE
    } pixels: the 784 numbers a model reads, from 0 (paper, light gray here) to 1 (ink, black).`,
  });
}

/** Options of `plotClassBalance`. */
export interface ClassBalanceOptions {
  title?: string;
}

/** Bars of how many images each digit 0-9 has, with a dashed rule at the mean. */
export function plotClassBalance(
  split: MnistSplit,
  options: ClassBalanceOptions = {},
): SvgChart {
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < split.count; i++) counts[split.labels[i]]++;
  const mean = split.count / 10;
  const data = counts.map((count, digit) => ({ digit: String(digit), count }));
  const fewest = data.reduce((a, b) => (b.count < a.count ? b : a));
  const most = data.reduce((a, b) => (b.count > a.count ? b : a));
  const relative = (count: number) =>
    `${count >= mean ? "+" : "−"}${
      formatNumber(
        Math.abs(count / mean - 1) * 100,
      )
    }%`;
  const plot = Plot.plot({
    ...base(),
    width: 640,
    height: 320,
    marginTop: 30,
    marginLeft: 56,
    marginBottom: BOTTOM,
    x: { label: "digit", domain: data.map((d) => d.digit), padding: 0.2, ...X_LABEL },
    y: { label: "images", grid: true, tickFormat: formatCount, nice: true },
    marks: [
      // The mean goes behind the bars: it shows in the gaps without crossing a count.
      Plot.ruleY([mean], { stroke: "#222", strokeDasharray: "5,4", strokeWidth: 1.5 }),
      Plot.barY(data, { x: "digit", y: "count", fill: NEUTRAL }),
      Plot.text(data, {
        x: "digit",
        y: "count",
        text: (d: { count: number }) => formatCount(d.count),
        dy: 12,
        fill: "white",
        fontWeight: "bold",
      }),
      Plot.ruleY([0]),
    ],
  });
  return composeChart([plot], {
    title: options.title ?? "How many images of each digit?",
    subtitle: `${formatCount(split.count)} images; a perfectly balanced set has ${
      formatNumber(mean)
    } of each. Fewest: ${fewest.digit} (${formatCount(fewest.count)}, ${
      relative(fewest.count)
    }); most: ${most.digit} (${formatCount(most.count)}, ${relative(most.count)}).`,
    legend: [
      { label: "images per digit", color: NEUTRAL, shape: "square" },
      { label: `mean (${formatNumber(mean)})`, color: "#222", shape: "dash" },
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// Model size

/** Options of `plotParamsPerLayer`. */
export interface ParamsPerLayerOptions {
  /** Log x axis, to see small layers next to a huge one. Default false. */
  log?: boolean;
  title?: string;
}

/** Horizontal bars of trainable parameters per layer, input at the top, values labelled. */
export function plotParamsPerLayer(
  summary: ModelSummary,
  options: ParamsPerLayerOptions = {},
): SvgChart {
  const log = options.log ?? false;
  const total = summary.trainableParams;
  const data = summary.rows.map((row) => ({
    layer: `${row.name} (${row.type})`,
    params: row.trainableParams,
    text: row.trainableParams === 0
      ? "0"
      : `${formatCount(row.trainableParams)} (${formatShare(row.trainableParams / total)})`,
  }));
  const withParams = data.filter((d) => d.params > 0);
  const max = Math.max(1, ...data.map((d) => d.params));
  const min = Math.min(max, ...withParams.map((d) => d.params));
  const x1 = log ? Math.max(1, min / 3) : 0;
  const color = modelColor(summary.name);
  const plot = Plot.plot({
    ...base(),
    ...rowChartFrame(data.map((d) => d.layer), { height: 40, rowHeight: 28, marginRight: 120 }),
    x: log
      ? {
        type: "log",
        domain: [x1, max * 1.2],
        ticks: powersOfTen(x1, max * 1.2),
        tickFormat: formatCompact,
        label: "trainable parameters (log scale)",
        ...X_LABEL,
      }
      : {
        domain: [0, max],
        label: "trainable parameters",
        tickFormat: formatCompact,
        nice: true,
        ...X_LABEL,
      },
    y: { domain: data.map((d) => d.layer), label: null, padding: 0.25 },
    marks: [
      Plot.barX(withParams, { x1, x2: "params", y: "layer", fill: color }),
      Plot.text(data, {
        x: (d: { params: number }) => (d.params > 0 ? d.params : x1),
        y: "layer",
        text: "text",
        textAnchor: "start",
        dx: 5,
        fill: (d: { params: number }) => (d.params > 0 ? "#222" : "#999"),
      }),
      Plot.ruleX([x1]),
    ],
  });
  const frozen = summary.nonTrainableParams > 0
    ? ` Not shown: ${
      formatCount(summary.nonTrainableParams)
    } non-trainable values (BatchNorm's running statistics).`
    : "";
  return composeChart([plot], {
    title: options.title ?? `Where ${summary.name}'s ${formatCount(total)} parameters live`,
    subtitle: `Trainable parameters per layer, input at the top, with each layer's share ` +
      `of the total. Pooling, dropout, flatten and activations have none.${frozen}`,
  });
}

// ---------------------------------------------------------------------------------------------
// Training curves

/** The per-epoch numbers `plotTrainingCurves` can draw. */
export type CurveMetric = "testAccuracy" | "testLoss" | "trainLoss";

/** Options of `plotTrainingCurves`. */
export interface TrainingCurvesOptions {
  /** Default "testAccuracy". */
  metric?: CurveMetric;
  title?: string;
}

const METRICS: Record<CurveMetric, { label: string; title: string; note: string }> = {
  testAccuracy: {
    label: "test accuracy (%)",
    title: "Test accuracy after each epoch",
    note: "Higher is better. Measured on the 10,000 test images the models never train on.",
  },
  testLoss: {
    label: "test loss (cross-entropy)",
    title: "Test loss after each epoch",
    note: "Lower is better. Cross-entropy on the 10,000 test images.",
  },
  trainLoss: {
    label: "training loss (cross-entropy)",
    title: "Training loss per epoch",
    note: "Lower is better. Mean over the epoch's batches, with dropout on.",
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
    subtitle: METRICS[metric].note + (best ? ` ${best}` : ""),
    legend: models.map((model) => ({ label: model, color: modelColor(model), shape: "line" })),
  });
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

// ---------------------------------------------------------------------------------------------
// Costs and the trade-off

/** Options of `plotCostBars`. */
export interface CostBarsOptions {
  title: string;
  /** Unit of the values, shown on the axis and after each value, e.g. "MB". */
  unit: string;
  subtitle?: string;
  /** Log x axis, for costs that span orders of magnitude. Default false. */
  log?: boolean;
  /** Figures to compare with (e.g. the article's), drawn as black diamonds. */
  reference?: { model: string; value: number }[];
  /** Who the reference figures come from. Default "the article". */
  referenceLabel?: string;
}

/** Horizontal bars of one cost per model; `null` means it does not fit, shown as text. */
export function plotCostBars(
  rows: { model: string; value: number | null }[],
  options: CostBarsOptions,
): SvgChart {
  const reference = options.reference ?? [];
  const referenceLabel = options.referenceLabel ?? "the article";
  const models = [...new Set([...rows.map((r) => r.model), ...reference.map((r) => r.model)])];
  const values = [...rows.map((r) => r.value), ...reference.map((r) => r.value)]
    .filter((v): v is number => v !== null && Number.isFinite(v));
  const positive = values.filter((v) => v > 0);
  const max = Math.max(...values, options.log ? 1 : 0) || 1;
  const min = options.log ? Math.min(...positive, max) / 2 : 0;
  const referenceOf = new Map(reference.map((r) => [r.model, r.value]));
  const unit = options.unit ? ` ${options.unit}` : "";
  const bars = rows.filter((r): r is { model: string; value: number } => r.value !== null);
  const labels = rows.map((r) => {
    const ref = referenceOf.get(r.model);
    const ours = r.value === null ? "does not fit" : `${formatNumber(r.value)}${unit}`;
    return {
      model: r.model,
      x: Math.max(r.value ?? min, ref ?? min),
      text: ref === undefined
        ? ours
        : `${ours}  (${shortLabel(referenceLabel)}: ${formatNumber(ref)})`,
      missing: r.value === null,
    };
  });
  const plot = Plot.plot({
    ...base(),
    ...rowChartFrame(models, { height: 50, rowHeight: 34, marginRight: 150 }),
    x: options.log
      ? {
        type: "log",
        domain: [min, max * 4], // room for the value labels right of the longest bar
        ticks: powersOfTen(min, max * 1.3),
        tickFormat: formatNumber,
        label: `${options.unit} (log scale)`,
        ...X_LABEL,
      }
      : {
        domain: [0, max * 1.5],
        label: options.unit,
        nice: true,
        tickFormat: formatNumber,
        ...X_LABEL,
      },
    y: { domain: models, label: null, padding: 0.22 },
    color: { domain: models, range: models.map(modelColor) },
    marks: [
      Plot.barX(bars, { x1: min, x2: "value", y: "model", fill: "model" }),
      Plot.dot(reference, {
        x: "value",
        y: "model",
        symbol: "diamond",
        r: 6,
        fill: "#111",
        stroke: "white",
        strokeWidth: 1.5,
      }),
      Plot.text(labels.filter((d) => !d.missing), {
        x: "x",
        y: "model",
        text: "text",
        textAnchor: "start",
        dx: 8,
        fill: "#222",
      }),
      Plot.text(labels.filter((d) => d.missing), {
        x: "x",
        y: "model",
        text: "text",
        textAnchor: "start",
        dx: 8,
        fill: "#b00020",
        fontStyle: "italic",
      }),
      Plot.ruleX([min]),
    ],
  });
  const legend: LegendItem[] = reference.length > 0
    ? [
      { label: "ours", color: "#888", shape: "square" },
      { label: referenceLabel, color: "#111", shape: "diamond" },
    ]
    : [];
  return composeChart([plot], { title: options.title, subtitle: options.subtitle, legend });
}

/** Options of `plotAccuracyVsParams`. */
export interface AccuracyVsParamsOptions {
  /** Shaded ranges of parameter counts, e.g. the rule of thumb 784 to 60,000. */
  bands?: { from: number; to: number; label: string }[];
  /** Accuracy (0-1) drawn as a dashed horizontal rule, e.g. 0.95. */
  threshold?: number;
  /** Models or labels to emphasise. */
  highlight?: string[];
  title?: string;
  subtitle?: string;
}

/** Scatter of test accuracy against trainable parameters (log scale), each point labelled. */
export function plotAccuracyVsParams(
  points: { model: string; params: number; accuracy: number; label?: string }[],
  options: AccuracyVsParamsOptions = {},
): SvgChart {
  const bands = options.bands ?? [];
  const highlight = new Set(options.highlight ?? []);
  const width = 640;
  const height = 420;
  const margin = { left: 56, right: 24, top: 30, bottom: BOTTOM };
  const params = points.map((p) => p.params).filter((p) => p > 0);
  const xs = [...params, ...bands.flatMap((b) => [b.from, b.to])];
  const xDomain: [number, number] = xs.length > 0
    ? [Math.min(...xs) / 2, Math.max(...xs) * 2]
    : [100, 1e6];
  const ys = points.map((p) => p.accuracy * 100);
  if (options.threshold !== undefined) ys.push(options.threshold * 100);
  const yLow = ys.length > 0 ? Math.min(...ys) : 90;
  const yHigh = ys.length > 0 ? Math.max(...ys) : 100;
  const pad = Math.max(0.2, (yHigh - yLow) * 0.08);
  const yDomain: [number, number] = [yLow - pad, Math.min(100, yHigh + pad)];
  const toPixelX = (v: number) =>
    margin.left + (Math.log(v / xDomain[0]) / Math.log(xDomain[1] / xDomain[0])) *
      (width - margin.left - margin.right);
  const toPixelY = (v: number) =>
    height - margin.bottom - ((v - yDomain[0]) / (yDomain[1] - yDomain[0])) *
      (height - margin.top - margin.bottom);
  const fromPixelX = (px: number) =>
    xDomain[0] * (xDomain[1] / xDomain[0]) **
      ((px - margin.left) / (width - margin.left - margin.right));
  const fromPixelY = (py: number) =>
    yDomain[0] + ((height - margin.bottom - py) / (height - margin.top - margin.bottom)) *
      (yDomain[1] - yDomain[0]);
  const data = points.map((p) => {
    const label = p.label ?? p.model;
    return {
      ...p,
      label,
      percent: p.accuracy * 100,
      color: modelColor(p.model),
      strong: highlight.size === 0 || highlight.has(p.model) || highlight.has(label),
    };
  });
  const placed = placeLabels(
    data.map((d) => ({
      x: toPixelX(d.params),
      y: toPixelY(d.percent),
      width: textWidth(d.label, 12),
    })),
    {
      left: margin.left,
      right: width - margin.right,
      top: margin.top,
      bottom: height - margin.bottom,
    },
  );
  const labels = data.map((d, i) => ({
    ...d,
    labelX: fromPixelX(placed[i].x),
    labelY: fromPixelY(placed[i].y),
    side: placed[i].side,
    moved: placed[i].moved,
  }));
  const threshold = options.threshold;
  const plot = Plot.plot({
    ...base(),
    width,
    height,
    marginLeft: margin.left,
    marginRight: margin.right,
    marginTop: margin.top,
    marginBottom: margin.bottom,
    x: {
      type: "log",
      domain: xDomain,
      ticks: powersOfTen(xDomain[0], xDomain[1]),
      tickFormat: formatCompact,
      label: "trainable parameters (log scale)",
      ...X_LABEL,
    },
    y: { domain: yDomain, label: "test accuracy (%)", grid: true },
    r: { type: "identity" }, // radii in pixels, not scaled
    marks: [
      Plot.rect(bands, { x1: "from", x2: "to", fill: "#4e79a7", fillOpacity: 0.1 }),
      Plot.ruleX(bands.flatMap((b) => [b.from, b.to]), {
        stroke: "#4e79a7",
        strokeOpacity: 0.5,
        strokeDasharray: "3,3",
      }),
      Plot.text(bands, {
        x: (b: { from: number; to: number }) => Math.sqrt(b.from * b.to),
        text: "label",
        frameAnchor: "top",
        dy: -16,
        fill: "#2f4f6f",
        fontWeight: "bold",
      }),
      threshold === undefined ? null : Plot.ruleY([threshold * 100], {
        stroke: "#444",
        strokeDasharray: "6,4",
      }),
      threshold === undefined ? null : Plot.text([threshold * 100], {
        y: (t: number) => t,
        text: (t: number) => `${formatNumber(t)}% accuracy`,
        frameAnchor: "right",
        textAnchor: "end",
        dx: -4,
        dy: -8,
        fill: "#444",
      }),
      Plot.dot(data, {
        x: "params",
        y: "percent",
        fill: "color",
        r: (d: { strong: boolean }) => (d.strong ? 6 : 4.5),
        fillOpacity: (d: { strong: boolean }) => (d.strong ? 1 : 0.55),
        stroke: (d: { strong: boolean }) => (d.strong ? "#222" : "white"),
      }),
      // Leaders from a dot to its label, where the label had to move away from it.
      Plot.link(labels.filter((l) => l.moved), {
        x1: "params",
        y1: "percent",
        x2: "labelX",
        y2: "labelY",
        stroke: "#aaa",
        strokeWidth: 0.8,
      }),
      ...(["right", "left"] as const).flatMap((side) =>
        [false, true].map((strong) =>
          Plot.text(labels.filter((l) => l.side === side && l.strong === strong), {
            x: "labelX",
            y: "labelY",
            text: "label",
            textAnchor: side === "right" ? "start" : "end",
            fill: strong ? "#111" : "#777",
            fontWeight: strong && highlight.size > 0 ? "bold" : "normal",
          })
        )
      ),
    ],
  });
  return composeChart([plot], {
    title: options.title ?? "Accuracy against size",
    subtitle: options.subtitle ??
      "Each dot is one trained model; further right is more parameters (each step ×10), " +
        "higher is more accurate.",
  });
}

/** Options of `plotConfusionMatrix`. */
export interface ConfusionMatrixOptions {
  title?: string;
}

/** Counts of true digit (rows) against predicted digit (columns); mistakes in shades of red. */
export function plotConfusionMatrix(
  matrix: number[][],
  options: ConfusionMatrixOptions = {},
): SvgChart {
  const n = matrix.length;
  const classes = range(n).map(String);
  const cells = matrix.flatMap((row, actual) =>
    row.map((count, predicted) => ({
      actual: String(actual),
      predicted: String(predicted),
      count,
      diagonal: actual === predicted,
    }))
  );
  const mistakes = cells.filter((c) => !c.diagonal);
  const maxMistakes = Math.max(1, ...mistakes.map((c) => c.count));
  const red = Plot.scale({
    color: { type: "sqrt", domain: [0, maxMistakes], range: ["#fff5f0", "#a50f15"] },
  });
  const fill = (c: (typeof cells)[number]) =>
    c.diagonal ? "#dce6f0" : c.count === 0 ? "white" : red.apply(c.count) as string;
  const ink = (c: (typeof cells)[number]) =>
    c.diagonal
      ? "#1d3557"
      : c.count === 0
      ? "#c8c8c8"
      : c.count > maxMistakes * 0.45
      ? "white"
      : "#222";
  const side = 42;
  const plot = Plot.plot({
    ...base(),
    width: n * side + 70,
    height: n * side + 60,
    marginLeft: 50,
    marginTop: 50,
    marginRight: 20,
    marginBottom: 10,
    x: { domain: classes, axis: "top", label: "predicted digit", tickSize: 0 },
    y: { domain: classes, label: "true digit", tickSize: 0 },
    color: { type: "identity" },
    marks: [
      Plot.cell(cells, { x: "predicted", y: "actual", fill, inset: 0.5 }),
      ...[false, true].map((diagonal) =>
        Plot.text(cells.filter((c) => c.diagonal === diagonal), {
          x: "predicted",
          y: "actual",
          text: (c: { count: number }) => formatCount(c.count),
          fill: ink,
          fontWeight: diagonal ? "bold" : "normal",
          fontSize: 11,
        })
      ),
    ],
  });
  const total = cells.reduce((sum, c) => sum + c.count, 0);
  const correct = cells.reduce((sum, c) => sum + (c.diagonal ? c.count : 0), 0);
  const worst = mistakes.reduce((a, b) => (b.count > a.count ? b : a), mistakes[0]);
  const worstText = worst && worst.count > 0
    ? ` Most common mistake: a ${worst.actual} read as ${worst.predicted} (${
      formatCount(worst.count)
    } times).`
    : "";
  return composeChart([plot], {
    title: options.title ?? "Which digits get confused?",
    subtitle: `Rows: the true digit; columns: what the model predicted. The blue diagonal ` +
      `holds the ${formatCount(correct)} correct answers of ${formatCount(total)} (${
        total > 0 ? formatPercent(correct / total) : "–"
      }); red cells are mistakes, darker = more often.${worstText}`,
    width: Math.max(n * side + 70, 520),
  });
}

/** Options of `plotMisclassified`. */
export interface MisclassifiedOptions {
  /** Images per row. Default 6. */
  columns?: number;
  title?: string;
  subtitle?: string;
}

/**
 * A gallery of images a model got wrong (from `misclassified`), each captioned
 * "true 4 → predicted 9 (87%)": the true digit, the model's answer and its confidence.
 */
export function plotMisclassified(
  split: MnistSplit,
  items: Mistake[],
  options: MisclassifiedOptions = {},
): SvgChart {
  for (const item of items) {
    if (!Number.isInteger(item.index) || item.index < 0 || item.index >= split.count) {
      throw new Error(
        `Mistake index ${item.index} is outside the split's ${split.count} images; ` +
          `pass the split that misclassified() was given`,
      );
    }
  }
  const count = items.length;
  const columns = Math.max(1, Math.min(options.columns ?? 6, count || 1));
  const cellWidth = 168; // room for the caption at 11px
  const plot = digitGallery(
    items.map((item) => ({
      src: digitDataUri(split.images, item.index),
      caption: `true ${item.label} → predicted ${item.predicted} (${
        Math.round(item.confidence * 100)
      }%)`,
    })),
    {
      columns,
      cellWidth,
      cellHeight: 80,
      caption: { fontSize: 11, fill: "#b00020" },
      empty: "No mistakes to show.",
    },
  );
  return composeChart([plot], {
    title: options.title ?? `${count} images the model got wrong`,
    subtitle: options.subtitle ??
      "Under each image: the true digit, the model's answer, and how sure it was (the " +
        "probability it gave its answer). Confident mistakes are often digits a person " +
        "would hesitate on too.",
    width: Math.max(columns * cellWidth + 20, 520),
  });
}

// Digit images in a grid, each with a caption underneath (the digit grid and the gallery of
// mistakes).
function digitGallery(
  digits: { src: string; caption: string }[],
  options: {
    columns: number;
    cellWidth: number;
    cellHeight: number;
    caption: Record<string, string | number>;
    empty?: string;
  },
) {
  const { columns, cellWidth, cellHeight } = options;
  const rows = Math.max(1, Math.ceil(digits.length / columns));
  const cells = digits.map((digit, i) => ({
    ...digit,
    column: i % columns,
    row: Math.floor(i / columns),
  }));
  return Plot.plot({
    ...base(),
    width: columns * cellWidth + 20,
    height: rows * cellHeight + 10,
    margin: 10,
    marginTop: 0,
    x: { type: "band", domain: range(columns), axis: null, padding: 0 },
    y: { type: "band", domain: range(rows), axis: null, padding: 0 },
    marks: [
      Plot.image(cells, {
        x: "column",
        y: "row",
        src: "src",
        width: DIGIT_PIXELS,
        height: DIGIT_PIXELS,
        dy: -8,
        imageRendering: "pixelated",
      }),
      Plot.text(cells, {
        x: "column",
        y: "row",
        text: "caption",
        dy: DIGIT_PIXELS / 2 + 4,
        ...options.caption,
      }),
      ...(digits.length === 0 && options.empty
        ? [Plot.text([options.empty], { x: 0, y: 0, fontSize: 13, fill: "#333" })]
        : []),
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// Seeds and batch sizes

/** Options of `plotSeedSpread`. */
export interface SeedSpreadOptions {
  title?: string;
  subtitle?: string;
}

/**
 * One row per model: each seed's final test accuracy as a dot, the mean as a black tick and
 * mean ± one standard deviation as a band, with the figures written beside them.
 */
export function plotSeedSpread(
  spreads: { model: string; accuracies: number[]; mean: number; std: number }[],
  options: SeedSpreadOptions = {},
): SvgChart {
  const models = spreads.map((s) => s.model);
  const dots = spreads.flatMap((s) =>
    s.accuracies.map((accuracy, i) => ({
      model: s.model,
      percent: accuracy * 100,
      // Seeds spread up and down a little, so equal accuracies stay visible.
      dy: ((i % 5) - 2) * 3,
    }))
  );
  const bands = spreads.map((s) => ({
    model: s.model,
    low: (s.mean - s.std) * 100,
    high: (s.mean + s.std) * 100,
    mean: s.mean * 100,
    // Right of the band and of every dot.
    right: Math.max(s.mean + s.std, ...s.accuracies) * 100,
    text: `${formatPercent(s.mean)} ± ${(s.std * 100).toFixed(2)} (${s.accuracies.length} seeds)`,
  }));
  const values = [...dots.map((d) => d.percent), ...bands.flatMap((b) => [b.low, b.high])];
  const low = values.length > 0 ? Math.min(...values) : 90;
  const high = values.length > 0 ? Math.max(...values) : 100;
  const pad = Math.max(0.1, (high - low) * 0.08);
  const plot = Plot.plot({
    ...base(),
    ...rowChartFrame(models, { height: 60, rowHeight: 56, marginRight: 200 }),
    x: {
      domain: [Math.max(0, low - pad), Math.min(100, high + pad)],
      label: "final test accuracy (%)",
      grid: true,
      ...X_LABEL,
    },
    y: { domain: models, label: null, padding: 0.3 },
    color: { domain: models, range: models.map(modelColor) },
    marks: [
      Plot.barX(bands, { x1: "low", x2: "high", y: "model", fill: "model", fillOpacity: 0.18 }),
      ...[-6, -3, 0, 3, 6].map((dy) =>
        Plot.dot(dots.filter((d) => d.dy === dy), {
          x: "percent",
          y: "model",
          dy,
          fill: "model",
          r: 4.5,
          stroke: "white",
        })
      ),
      Plot.tickX(bands, { x: "mean", y: "model", stroke: "#111", strokeWidth: 2.5 }),
      Plot.text(bands, {
        x: "right",
        y: "model",
        text: "text",
        textAnchor: "start",
        dx: 10,
        fill: "#222",
      }),
    ],
  });
  return composeChart([plot], {
    title: options.title ?? "The same model, different seeds",
    subtitle: options.subtitle ??
      "Each dot is one training run; only the seed differs (initial weights, shuffles, " +
        "dropout). A difference between two models smaller than this spread may be luck.",
    legend: [
      { label: "one seed", color: "#888", shape: "square" },
      { label: "mean", color: "#111", shape: "line" },
      { label: "mean ± one standard deviation", color: "#ccc", shape: "square" },
    ],
  });
}

/** Options of `plotBatchStudy`. */
export interface BatchStudyPlotOptions {
  title?: string;
  subtitle?: string;
}

/**
 * Two panels against the batch size (log scale): training seconds per epoch of 60,000 images,
 * and final test accuracy; one line per model. Runs that diverged are listed, not drawn.
 */
export function plotBatchStudy(
  runs: {
    model: string;
    batchSize: number;
    trainSecondsPerFullEpoch: number;
    accuracy: number;
    diverged: boolean;
  }[],
  options: BatchStudyPlotOptions = {},
): SvgChart {
  const models = [...new Set(runs.map((r) => r.model))];
  const ok = runs.filter((r) => !r.diverged && Number.isFinite(r.accuracy));
  // A linear axis over log2(batch): d3's log axes blank the labels of ticks like 8192.
  const points = ok.map((r) => ({
    model: r.model,
    log2Batch: Math.log2(r.batchSize),
    seconds: r.trainSecondsPerFullEpoch,
    percent: r.accuracy * 100,
  }));
  const ticks = [...new Set(runs.map((r) => Math.log2(r.batchSize)))].sort((a, b) => a - b);
  const x = {
    domain: ticks.length > 0 ? [ticks[0] - 0.5, ticks[ticks.length - 1] + 0.5] : [3, 14],
    ticks,
    tickFormat: (v: number) => String(Math.round(2 ** v)),
    label: "batch size (log scale)",
    ...X_LABEL,
  };
  const panel = {
    ...base(),
    width: 330,
    height: 310,
    marginLeft: 56,
    marginRight: 24,
    marginTop: 28,
    marginBottom: BOTTOM,
  };
  const color = { domain: models, range: models.map(modelColor) };
  const timePlot = Plot.plot({
    ...panel,
    x,
    y: {
      domain: [0, Math.max(1, ...points.map((p) => p.seconds)) * 1.1],
      nice: true,
      tickFormat: formatNumber,
      label: "seconds per epoch of 60,000 images",
      grid: true,
    },
    color,
    marks: [
      Plot.line(points, { x: "log2Batch", y: "seconds", stroke: "model", strokeWidth: 2.5 }),
      Plot.dot(points, { x: "log2Batch", y: "seconds", fill: "model", r: 4, stroke: "white" }),
    ],
  });
  const accuracyPlot = Plot.plot({
    ...panel,
    x,
    y: { domain: [0, 100], label: "final test accuracy (%)", grid: true },
    color,
    marks: [
      Plot.line(points, { x: "log2Batch", y: "percent", stroke: "model", strokeWidth: 2.5 }),
      Plot.dot(points, { x: "log2Batch", y: "percent", fill: "model", r: 4, stroke: "white" }),
    ],
  });
  const diverged = runs.filter((r) => r.diverged);
  const divergedText = diverged.length > 0
    ? ` Diverged (not drawn): ${diverged.map((r) => `${r.model} at ${r.batchSize}`).join(", ")}.`
    : "";
  return composeChart([timePlot, accuracyPlot], {
    title: options.title ?? "What the batch size changes",
    subtitle: (options.subtitle ??
      "Left: training time for one pass over 60,000 images. Right: test accuracy after the " +
        "same number of epochs, in which a bigger batch takes fewer steps.") + divergedText,
    legend: models.map((model) => ({ label: model, color: modelColor(model), shape: "line" })),
  });
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

const NEUTRAL = "#6b7b8c";
const IMAGE_SIDE = 28;
const DIGIT_PIXELS = 56; // each 28x28 image drawn at 2x
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";

// linkedom's document; typed by hand, as Deno's type library has no DOM.
const { document } = parseHTML("<html><body></body></html>") as unknown as {
  document: { createElementNS(namespace: string, name: string): SvgChart };
};

function base() {
  return { document, style: { fontSize: "12px", fontFamily: FONT, overflow: "visible" } };
}

// An epoch axis with whole-number ticks, at most `maxTicks` of them; one epoch gets a centred dot.
function epochAxis(first: number, last: number, maxTicks: number) {
  const end = Math.max(first, last);
  const step = Math.max(1, Math.ceil((end - first + 1) / maxTicks));
  const ticks = [];
  for (let epoch = first; epoch <= end; epoch += step) ticks.push(epoch);
  return {
    domain: end > first ? [first, end] : [first - 0.5, first + 0.5],
    label: "epoch",
    ticks,
    tickFormat: "d",
    inset: 10,
    ...X_LABEL,
  };
}

// Axis labels centred under the ticks (Plot puts them at the right end, on top of the last tick).
const X_LABEL = { labelAnchor: "center", labelOffset: 36 } as const;
const BOTTOM = 44;

function powersOfTen(low: number, high: number): number[] {
  const ticks = [];
  for (let e = Math.ceil(Math.log10(low)); e <= Math.floor(Math.log10(high)); e++) {
    ticks.push(10 ** e);
  }
  return ticks;
}

// 0.01, 0.02, 0.05, 0.1, ...: readable ticks for a log axis; 1, 2 per decade over more than two
// decades (Plot blanks the labels of ticks it finds too dense on a log axis).
function oneTwoFive(low: number, high: number): number[] {
  const ticks = [];
  const mantissas = Math.log10(high / low) > 2 ? [1, 2] : [1, 2, 5];
  for (let e = Math.floor(Math.log10(low)); e <= Math.ceil(Math.log10(high)); e++) {
    for (const m of mantissas) {
      const tick = Number((m * 10 ** e).toPrecision(1));
      if (tick >= low && tick <= high) ticks.push(tick);
    }
  }
  return ticks;
}

/** An entry of a chart's legend. */
interface LegendItem {
  label: string;
  color: string;
  shape: "line" | "square" | "dash" | "diamond";
}

interface Header {
  title: string;
  subtitle?: string;
  legend?: LegendItem[];
  /** Minimum width; the chart is as wide as its panels otherwise. */
  width?: number;
}

const PAD = 14;
const TITLE_SIZE = 17;
const SUBTITLE_SIZE = 13;
const LEGEND_SIZE = 12;

// Puts Plot's svgs side by side under a title, subtitle and legend, in one svg: one image that
// JupyterLab, a browser and rsvg-convert all draw the same, on a white background so that it
// stays readable in dark themes. Plot's svgs become groups (nested <svg>s with CSS height: auto
// collapse in some browsers).
function composeChart(panels: SvgChart[], header: Header): SvgChart {
  const panelWidths = panels.map((p) => Number(p.getAttribute("width")));
  const panelHeights = panels.map((p) => Number(p.getAttribute("height")));
  const width = Math.max(header.width ?? 0, panelWidths.reduce((a, b) => a + b, 0));
  const svg = svgElement("svg", {
    "font-family": FONT,
    fill: "#222",
    style: "max-width: 100%; height: auto; background: white",
  });
  const background = svgElement("rect", { width: "100%", height: "100%", fill: "white" });
  svg.appendChild(background);

  let y = PAD;
  const titleLines = wrapText(header.title, width - 2 * PAD, TITLE_SIZE);
  for (const line of titleLines) {
    y += TITLE_SIZE + 3;
    svg.appendChild(svgElement("text", {
      x: PAD,
      y,
      "font-size": TITLE_SIZE,
      "font-weight": "bold",
      class: "chart-title",
    }, line));
  }
  if (header.subtitle) {
    y += 4;
    for (const line of wrapText(header.subtitle, width - 2 * PAD, SUBTITLE_SIZE)) {
      y += SUBTITLE_SIZE + 4;
      svg.appendChild(svgElement("text", {
        x: PAD,
        y,
        "font-size": SUBTITLE_SIZE,
        fill: "#555",
        class: "chart-subtitle",
      }, line));
    }
  }
  if (header.legend && header.legend.length > 0) {
    y += 8;
    let x = PAD;
    let rowTop = y;
    const legend = svgElement("g", { class: "chart-legend", "font-size": LEGEND_SIZE });
    for (const item of header.legend) {
      const itemWidth = 24 + textWidth(item.label, LEGEND_SIZE) + 18;
      if (x > PAD && x + itemWidth > width - PAD) {
        x = PAD;
        rowTop += 20;
      }
      legend.appendChild(swatch(item, x, rowTop + 8));
      legend.appendChild(svgElement("text", { x: x + 24, y: rowTop + 12 }, item.label));
      x += itemWidth;
    }
    svg.appendChild(legend);
    y = rowTop + 18;
  }
  y += 10;

  let x = 0;
  panels.forEach((panel, i) => {
    const group = svgElement("g", { transform: `translate(${x},${y})` });
    for (const name of ["class", "fill", "font-family", "font-size", "text-anchor", "style"]) {
      const value = panel.getAttribute(name);
      if (value !== null) group.setAttribute(name, value);
    }
    while (panel.firstChild) group.appendChild(panel.firstChild);
    svg.appendChild(group);
    x += panelWidths[i];
  });
  const height = Math.ceil(y + Math.max(0, ...panelHeights) + 4);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("xmlns", SVG_NS); // set last: linkedom writes the last attribute first
  for (const nested of svg.querySelectorAll("svg")) nested.setAttribute("xmlns", SVG_NS);
  return svg;
}

function swatch(item: LegendItem, x: number, y: number): SvgChart {
  switch (item.shape) {
    case "line":
      return svgElement("line", {
        x1: x,
        x2: x + 18,
        y1: y,
        y2: y,
        stroke: item.color,
        "stroke-width": 3,
        "stroke-linecap": "round",
      });
    case "dash":
      return svgElement("line", {
        x1: x,
        x2: x + 18,
        y1: y,
        y2: y,
        stroke: item.color,
        "stroke-width": 1.5,
        "stroke-dasharray": "5,3",
      });
    case "diamond":
      return svgElement("path", {
        d: `M${x + 9},${y - 6}L${x + 15},${y}L${x + 9},${y + 6}L${x + 3},${y}Z`,
        fill: item.color,
      });
    default:
      return svgElement("rect", { x: x + 2, y: y - 6, width: 14, height: 12, fill: item.color });
  }
}

function svgElement(name: string, attributes: Record<string, string | number>, text?: string) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

// The frame of a chart with one labelled row per item: a left margin that fits the longest
// label, and a height that grows with the rows.
function rowChartFrame(
  labels: string[],
  layout: { height: number; rowHeight: number; marginRight: number },
) {
  return {
    width: 640,
    height: layout.height + labels.length * layout.rowHeight,
    marginLeft: Math.max(...labels.map((label) => textWidth(label, 12)), 40) + 14,
    marginRight: layout.marginRight,
    marginTop: 10,
    marginBottom: BOTTOM,
  };
}

// Width of `text` in a proportional sans-serif, estimated per character (no layout engine
// here); generous so that labels do not collide.
function textWidth(text: string, fontSize: number): number {
  let em = 0;
  for (const char of text) {
    if ("il.,:;'|!1()[] ".includes(char)) em += 0.32;
    else if ("mwMW@%".includes(char)) em += 0.9;
    else if (char >= "A" && char <= "Z") em += 0.68;
    else em += 0.57;
  }
  return em * fontSize;
}

function wrapText(text: string, maxWidth: number, fontSize: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && textWidth(candidate, fontSize) > maxWidth) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  if (line) lines.push(line);
  return lines;
}

// Places each label beside its dot: right, else left, else further up or down (with a leader),
// at the first spot that overlaps no dot, no label placed before it and stays inside the
// chart. Returns the pixel position of the label's anchor (its start, or its end on the left).
function placeLabels(
  anchors: { x: number; y: number; width: number }[],
  bounds: { left: number; right: number; top: number; bottom: number },
): { x: number; y: number; side: "left" | "right"; moved: boolean }[] {
  const lineHeight = 14;
  const gap = 9;
  const boxes = anchors.map((a) => ({ x1: a.x - 6, x2: a.x + 6, y1: a.y - 6, y2: a.y + 6 }));
  const result = anchors.map((a) => ({
    x: a.x + gap,
    y: a.y,
    side: "right" as "left" | "right",
    moved: false,
  }));
  const order = anchors.map((_, i) => i).sort((a, b) => anchors[a].x - anchors[b].x);
  const offsets = [0, 1, -1, 2, -2, 3, -3, 4, -4].map((k) => k * lineHeight);
  for (const i of order) {
    const { x, y, width } = anchors[i];
    let best: { x: number; y: number; side: "left" | "right"; moved: boolean } | undefined;
    search: for (const dy of offsets) {
      for (const side of ["right", "left"] as const) {
        const x1 = side === "right" ? x + gap : x - gap - width;
        const box = { x1, x2: x1 + width, y1: y + dy - 8, y2: y + dy + 6 };
        if (box.x1 < bounds.left || box.x2 > bounds.right) continue;
        if (box.y1 < bounds.top || box.y2 > bounds.bottom) continue;
        if (boxes.some((b) => b.x1 < box.x2 && box.x1 < b.x2 && b.y1 < box.y2 && box.y1 < b.y2)) {
          continue;
        }
        best = { x: side === "right" ? x1 : x1 + width, y: y + dy, side, moved: dy !== 0 };
        break search;
      }
    }
    best ??= { x: x + gap, y, side: "right", moved: false }; // crowded: overlap rather than vanish
    const x1 = best.side === "right" ? best.x : best.x - width;
    boxes.push({ x1, x2: x1 + width, y1: best.y - 8, y2: best.y + 6 });
    result[i] = best;
  }
  return result;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

// 1,234 / 123 / 12.3 / 1.23 / 0.012: three significant digits at most, never exponents.
function formatNumber(value: number): string {
  const size = Math.abs(value);
  if (size >= 100) return formatCount(value);
  if (size >= 10) return String(Math.round(value * 10) / 10);
  if (size >= 1) return String(Math.round(value * 100) / 100);
  if (size === 0) return "0";
  return String(Number(value.toPrecision(2)));
}

function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

function formatShare(fraction: number): string {
  const percent = fraction * 100;
  if (percent > 0 && percent < 0.1) return "<0.1%";
  return `${percent >= 10 ? percent.toFixed(0) : percent.toFixed(1)}%`;
}

// 518 / 7.1k / 670k / 1.2M: for axes of parameter counts.
function formatCompact(value: number): string {
  const size = Math.abs(value);
  if (size >= 1e6) return `${Number((value / 1e6).toFixed(1))}M`;
  if (size >= 1e3) return `${Number((value / 1e3).toFixed(1))}k`;
  return formatNumber(value);
}

function shortLabel(label: string): string {
  return label.replace(/^the /, "");
}

// ---------------------------------------------------------------------------------------------
// Digit images as small PNGs (Plot.raster needs a canvas, which linkedom lacks; one rect per
// pixel would make a 40-digit grid weigh megabytes).

function digitDataUri(images: Float32Array, index: number): string {
  const pixels = IMAGE_SIDE * IMAGE_SIDE;
  const gray = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const ink = Math.min(1, Math.max(0, images[index * pixels + i] || 0));
    gray[i] = Math.round(PAPER * (1 - ink));
  }
  return `data:image/png;base64,${toBase64(encodeGrayPng(gray, IMAGE_SIDE, IMAGE_SIDE))}`;
}

const PAPER = 242; // light gray, so that each 28x28 square shows its edges on the white page

/** Encodes 8-bit grayscale pixels, row by row, as a PNG file. */
export function encodeGrayPng(gray: Uint8Array, width: number, height: number): Uint8Array {
  const raw = new Uint8Array((width + 1) * height); // each row: filter byte 0, then pixels
  for (let row = 0; row < height; row++) {
    raw.set(gray.subarray(row * width, (row + 1) * width), row * (width + 1) + 1);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 0, 0, 0, 0], 8); // 8 bits, grayscale, deflate, adaptive filter, no interlace
  return concat([
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk("IHDR", header),
    pngChunk("IDAT", new Uint8Array(deflateSync(raw))),
    pngChunk("IEND", new Uint8Array(0)),
  ]);
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) chunk[4 + i] = type.charCodeAt(i);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  return chunk;
}

let crcTable: Uint32Array | undefined;

function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
