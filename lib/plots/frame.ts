/**
 * The frame every chart shares: the SVG types, Plot's linkedom document and base options,
 * `composeChart` (title, subtitle and legend above Plot's panels, in one standalone `<svg>`),
 * the row-chart frame, axis helpers and a text-width estimate.
 */
import { parseHTML } from "linkedom";

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

/**
 * The widest a chart may be: Jupyter Notebook's page gives an output about 800 px, and a wider
 * chart is cut off there (the sixth column of the gallery of mistakes was).
 */
export const MAX_CHART_WIDTH = 800;

/** The grey of bars that stand for no model (the digit counts). */
export const NEUTRAL = "#6b7b8c";
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif";

// linkedom's document; typed by hand, as Deno's type library has no DOM.
const { document } = parseHTML("<html><body></body></html>") as unknown as {
  document: { createElementNS(namespace: string, name: string): SvgChart };
};

/** Options every Plot.plot call starts from: linkedom's document, the font, visible overflow. */
export function base() {
  return { document, style: { fontSize: "12px", fontFamily: FONT, overflow: "visible" } };
}

/** An epoch axis with whole-number ticks, at most `maxTicks`; one epoch gets a centred dot. */
export function epochAxis(first: number, last: number, maxTicks: number) {
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

/** Axis labels centred under the ticks (Plot puts them at the right end, on the last tick). */
export const X_LABEL = { labelAnchor: "center", labelOffset: 36 } as const;
/** The bottom margin that fits the x axis's ticks and its centred label. */
export const BOTTOM = 44;

/** The powers of ten from `low` to `high`: the ticks of a log axis. */
export function powersOfTen(low: number, high: number): number[] {
  const ticks = [];
  for (let e = Math.ceil(Math.log10(low)); e <= Math.floor(Math.log10(high)); e++) {
    ticks.push(10 ** e);
  }
  return ticks;
}

/**
 * 0.01, 0.02, 0.05, 0.1, ...: readable ticks for a log axis; 1, 2 per decade over more than
 * two decades (Plot blanks the labels of ticks it finds too dense on a log axis).
 */
export function oneTwoFive(low: number, high: number): number[] {
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
export interface LegendItem {
  label: string;
  color: string;
  shape: "line" | "square" | "dash" | "diamond";
}

/** What `composeChart` writes above the panels. */
export interface Header {
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

/**
 * Puts Plot's svgs side by side under a title, subtitle and legend, in one svg: one image that
 * JupyterLab, a browser and rsvg-convert all draw the same, on a white background so that it
 * stays readable in dark themes. Plot's svgs become groups (nested <svg>s with CSS height:
 * auto collapse in some browsers).
 */
export function composeChart(panels: SvgChart[], header: Header): SvgChart {
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
  // A short horizontal stroke in the item's color, for the line and dash shapes.
  const stroke = (style: Record<string, string | number>) =>
    svgElement("line", { x1: x, x2: x + 18, y1: y, y2: y, stroke: item.color, ...style });
  switch (item.shape) {
    case "line":
      return stroke({ "stroke-width": 3, "stroke-linecap": "round" });
    case "dash":
      return stroke({ "stroke-width": 1.5, "stroke-dasharray": "5,3" });
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

/**
 * The frame of a chart with one labelled row per item: a left margin that fits the longest
 * label, and a height that grows with the rows.
 */
export function rowChartFrame(
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

/**
 * Width of `text` in a proportional sans-serif, estimated per character (no layout engine
 * here); generous so that labels do not collide.
 */
export function textWidth(text: string, fontSize: number): number {
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

/** 0, 1, ..., n - 1. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A label without its leading "the ": "the article" -> "article". */
export function shortLabel(label: string): string {
  return label.replace(/^the /, "");
}
