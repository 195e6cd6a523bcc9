/** Charts of the data (chapter 1): the first digits with their labels, and the class balance. */
import * as Plot from "@observablehq/plot";
import type { MnistSplit } from "../data/mnist.ts";
import { formatCount, formatNumber } from "../common/format.ts";
import { base, BOTTOM, composeChart, NEUTRAL, type SvgChart, X_LABEL } from "./frame.ts";
import { digitDataUri, digitGallery, galleryColumns, IMAGE_SIDE } from "./digit_png.ts";

/** Options of `plotDigitGrid`. */
export interface DigitGridOptions {
  /** How many images, from the first. Default 40. */
  count?: number;
  /** Images per row. Default 10; at most 13, which fill an 800-px notebook column. */
  columns?: number;
  title?: string;
}

/** The first `count` images of a split in a grid, each with its label underneath. */
export function plotDigitGrid(split: MnistSplit, options: DigitGridOptions = {}): SvgChart {
  const count = Math.max(0, Math.min(options.count ?? 40, split.count));
  const cellWidth = 60;
  const columns = galleryColumns(options.columns ?? 10, count, cellWidth);
  const plot = digitGallery(
    Array.from({ length: count }, (_, i) => ({
      src: digitDataUri(split.images, i),
      caption: String(split.labels[i]),
    })),
    {
      columns,
      cellWidth,
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
