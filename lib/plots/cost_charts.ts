/** Charts of cost (chapter 4): one cost per model as bars, with reference figures beside. */
import * as Plot from "@observablehq/plot";
import { modelColor } from "../models/registry.ts";
import { formatNumber } from "../common/format.ts";
import {
  base,
  composeChart,
  type LegendItem,
  powersOfTen,
  rowChartFrame,
  shortLabel,
  type SvgChart,
  X_LABEL,
} from "./frame.ts";

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

/**
 * Horizontal bars of one cost per model; `null` means it does not fit, shown as the row's
 * `note` (e.g. "exceeds the 4 GB wasm heap (estimate: 3.1 GB)") or "does not fit".
 */
export function plotCostBars(
  rows: { model: string; value: number | null; note?: string }[],
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
    const ours = r.value === null ? r.note ?? "does not fit" : `${formatNumber(r.value)}${unit}`;
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
