/** Charts of a model's mistakes (chapter 7): the confusion matrix and a gallery of mistakes. */
import * as Plot from "@observablehq/plot";
import type { Mistake } from "../measure/mistakes.ts";
import type { MnistSplit } from "../data/mnist.ts";
import { formatCount, formatPercent } from "../common/format.ts";
import { base, composeChart, range, type SvgChart } from "./frame.ts";
import { digitDataUri, digitGallery, galleryColumns } from "./digit_png.ts";

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
  /** Images per row. Default 4, the most that fit an 800-px notebook column; more wrap. */
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
  const cellWidth = 168; // room for the caption at 11px
  const columns = galleryColumns(options.columns ?? 4, count, cellWidth);
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
