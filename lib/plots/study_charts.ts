/** Charts of the studies (chapter 9): the spread over seeds, and what the batch size changes. */
import * as Plot from "@observablehq/plot";
import { modelColor } from "../models/registry.ts";
import { formatNumber, formatPercent } from "../common/format.ts";
import { base, BOTTOM, composeChart, rowChartFrame, type SvgChart, X_LABEL } from "./frame.ts";

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
