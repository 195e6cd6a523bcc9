/**
 * Charts of the search for a size (chapters 5, 6 and 8): accuracy against parameters, and the
 * frontier's test error against parameters with its seeds' intervals.
 */
import * as Plot from "@observablehq/plot";
import { modelColor } from "../models/registry.ts";
import { formatCompact, formatNumber } from "../common/format.ts";
import {
  base,
  BOTTOM,
  composeChart,
  oneTwoFive,
  powersOfTen,
  type SvgChart,
  textWidth,
  X_LABEL,
} from "./frame.ts";

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
    ...paramsFrame(width, height, margin, xDomain),
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
      ...labelMarks(labels, "percent", { muted: "#777", bold: highlight.size > 0 }),
    ],
  });
  return composeChart([plot], {
    title: options.title ?? "Accuracy against size",
    subtitle: options.subtitle ??
      "Each dot is one trained model; further right is more parameters (each step ×10), " +
        "higher is more accurate.",
  });
}

/** A point of `plotFrontierErrors`: a frontier model's test accuracy over its seeds. */
export interface FrontierErrorPoint {
  label: string;
  params: number;
  /** Mean test accuracy over the seeds, 0-1. */
  accuracy: number;
  /** The 95% interval of that mean, 0-1, where there is more than one seed. */
  low?: number;
  high?: number;
}

/**
 * The frontier as test error (100 - accuracy, %) against parameters, both on log scales (error
 * falling upwards, so that higher is better as on the accuracy charts): a
 * staircase through the frontier points (each holds until the next, larger one) with each one's
 * seed interval as a bar, and the
 * reference models (the article's) as bold dots. On an accuracy axis the top end (99.0% against
 * 99.4%) is a hair apart; as error it is 1.0% against 0.6%, the difference a reader weighs.
 */
export function plotFrontierErrors(
  frontier: FrontierErrorPoint[],
  references: { model: string; params: number; accuracy: number; label?: string }[],
  options: { title?: string; subtitle?: string } = {},
): SvgChart {
  const width = 640;
  const height = 440;
  const margin = { left: 56, right: 24, top: 30, bottom: BOTTOM };
  const error = (accuracy: number) => Math.max(0.01, (1 - accuracy) * 100);
  const sorted = [...frontier].sort((a, b) => a.params - b.params);
  const all = [...sorted, ...references];
  const params = all.map((p) => p.params);
  const xDomain: [number, number] = all.length > 0
    ? [Math.min(...params) / 2, Math.max(...params) * 2]
    : [100, 1e6];
  const errors = [
    ...all.map((p) => error(p.accuracy)),
    ...sorted.flatMap((p) => p.low === undefined ? [] : [error(p.low), error(p.high!)]),
  ];
  const yDomain: [number, number] = errors.length > 0
    ? [Math.min(...errors) / 1.6, Math.max(...errors) * 1.3] // room for labels at the top
    : [0.1, 10];
  const fraction = (v: number, [a, b]: [number, number]) => Math.log(v / a) / Math.log(b / a);
  const toPixel = (p: { params: number; accuracy: number }) => ({
    x: margin.left + fraction(p.params, xDomain) * (width - margin.left - margin.right),
    y: margin.top + fraction(error(p.accuracy), yDomain) * (height - margin.top - margin.bottom),
  });
  const fromPixel = (x: number, y: number) => ({
    x: xDomain[0] *
      (xDomain[1] / xDomain[0]) ** ((x - margin.left) / (width - margin.left - margin.right)),
    y: yDomain[0] *
      (yDomain[1] / yDomain[0]) ** ((y - margin.top) / (height - margin.top - margin.bottom)),
  });
  const points = [
    ...sorted.map((p) => ({ ...p, strong: false, color: FRONTIER_COLOR })),
    ...references.map((r) => ({
      ...r,
      label: r.label ?? r.model,
      strong: true,
      color: modelColor(r.model),
    })),
  ].map((p) => ({ ...p, error: error(p.accuracy) }));
  const placed = placeLabels(
    points.map((p) => ({ ...toPixel(p), width: textWidth(p.label, 12) * (p.strong ? 1.12 : 1) })),
    {
      left: margin.left,
      right: width - margin.right,
      top: margin.top,
      bottom: height - margin.bottom,
    },
  );
  const labels = points.map((p, i) => {
    const at = fromPixel(placed[i].x, placed[i].y);
    return { ...p, labelX: at.x, labelY: at.y, side: placed[i].side, moved: placed[i].moved };
  });
  const bars = sorted.filter((p) => p.low !== undefined)
    .map((p) => ({ params: p.params, from: error(p.high!), to: error(p.low!) }));
  // The staircase: the best error so far holds until the next, larger frontier point.
  const steps = sorted.flatMap((p, i) => {
    const next = sorted[i + 1]?.params ?? xDomain[1];
    return [{ params: p.params, error: error(p.accuracy) }, {
      params: next,
      error: error(p.accuracy),
    }];
  });
  const plot = Plot.plot({
    ...paramsFrame(width, height, margin, xDomain),
    y: {
      type: "log",
      domain: yDomain,
      ticks: oneTwoFive(yDomain[0], yDomain[1]),
      tickFormat: (v: number) => `${formatNumber(v)}%`,
      // Reversed, so that higher is better here too, as on every accuracy chart.
      reverse: true,
      label: "test error, % (log scale)",
      labelArrow: "none",
      grid: true,
    },
    marks: [
      Plot.line(steps, { x: "params", y: "error", stroke: FRONTIER_COLOR, strokeOpacity: 0.6 }),
      Plot.ruleX(bars, {
        x: "params",
        y1: "from",
        y2: "to",
        stroke: FRONTIER_COLOR,
        strokeWidth: 2,
      }),
      Plot.dot(points, {
        x: "params",
        y: "error",
        fill: "color",
        r: (d: { strong: boolean }) => (d.strong ? 6 : 4),
        stroke: (d: { strong: boolean }) => (d.strong ? "#222" : "white"),
      }),
      ...labelMarks(labels, "error", { muted: "#555", bold: true }),
    ],
  });
  return composeChart([plot], {
    title: options.title ?? "Test error against size",
    subtitle: options.subtitle ??
      "The line follows the model chosen (on validation) at each size, at its test error; " +
        "higher is better; bars span the seeds' 95% interval. Bold: reference models.",
  });
}

// The frontier's own colour: a teal none of the registry's models use.
const FRONTIER_COLOR = "#2a9d8f";

// The frame both charts share: size, margins, and trainable parameters on a log x axis.
function paramsFrame(
  width: number,
  height: number,
  margin: { left: number; right: number; top: number; bottom: number },
  xDomain: [number, number],
) {
  return {
    ...base(),
    width,
    height,
    marginLeft: margin.left,
    marginRight: margin.right,
    marginTop: margin.top,
    marginBottom: margin.bottom,
    x: {
      type: "log" as const,
      domain: xDomain,
      ticks: powersOfTen(xDomain[0], xDomain[1]),
      tickFormat: formatCompact,
      label: "trainable parameters (log scale)",
      ...X_LABEL,
    },
  };
}

// The labels `placeLabels` placed: leaders from a dot to its label where the label had to move
// away from it, then the text, strong labels dark (and bold if `bold`), the others `muted`.
function labelMarks(
  labels: {
    params: number;
    labelX: number;
    labelY: number;
    label: string;
    side: "left" | "right";
    strong: boolean;
    moved: boolean;
  }[],
  y: string,
  style: { muted: string; bold: boolean },
) {
  return [
    Plot.link(labels.filter((l) => l.moved), {
      x1: "params",
      y1: y,
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
          fill: strong ? "#111" : style.muted,
          fontWeight: strong && style.bold ? "bold" : "normal",
        })
      )
    ),
  ];
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
