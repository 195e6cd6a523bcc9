/** Charts of a model's size (chapter 2): trainable parameters per layer. */
import * as Plot from "@observablehq/plot";
import type { ModelSummary } from "../models/summary.ts";
import { modelColor } from "../models/registry.ts";
import { formatCompact, formatCount, formatShare } from "../common/format.ts";
import { base, composeChart, powersOfTen, rowChartFrame, type SvgChart, X_LABEL } from "./frame.ts";

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
