/**
 * Digit images as small PNG data URIs, and the captioned grid that lays them out (the digit
 * grid and the gallery of mistakes). Plot.raster needs a canvas, which linkedom lacks; one
 * rect per pixel would make a 40-digit grid weigh megabytes.
 */
import * as Plot from "@observablehq/plot";
import { Buffer } from "node:buffer";
import { encode } from "fast-png";
import { base, MAX_CHART_WIDTH, range } from "./frame.ts";

/** Pixels per side of an MNIST image. */
export const IMAGE_SIDE = 28;
const DIGIT_PIXELS = 56; // each 28x28 image drawn at 2x

const GALLERY_MARGIN = 20; // 10 px left and right of the cells

/**
 * How many columns a gallery of `count` cells gets: the number asked for, at most `count`, and
 * no more than fit in `MAX_CHART_WIDTH`; the rest wrap into more rows.
 */
export function galleryColumns(requested: number, count: number, cellWidth: number): number {
  const fit = Math.floor((MAX_CHART_WIDTH - GALLERY_MARGIN) / cellWidth);
  return Math.max(1, Math.min(requested, count || 1, fit));
}

/** Digit images in a grid, each with a caption underneath (the digit grid, the mistakes). */
export function digitGallery(
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
    width: columns * cellWidth + GALLERY_MARGIN,
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

/** Image `index` of `images` (ink 0-1) as a grayscale PNG data URI, ink dark on light paper. */
export function digitDataUri(images: Float32Array, index: number): string {
  const pixels = IMAGE_SIDE * IMAGE_SIDE;
  const gray = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const ink = Math.min(1, Math.max(0, images[index * pixels + i] || 0));
    gray[i] = Math.round(PAPER * (1 - ink));
  }
  return `data:image/png;base64,${
    Buffer.from(encodeGrayPng(gray, IMAGE_SIDE, IMAGE_SIDE)).toString("base64")
  }`;
}

const PAPER = 242; // light gray, so that each 28x28 square shows its edges on the white page

/** Encodes 8-bit grayscale pixels, row by row, as a PNG file. */
export function encodeGrayPng(gray: Uint8Array, width: number, height: number): Uint8Array {
  if (gray.length !== width * height) {
    throw new Error(
      `encodeGrayPng() got ${gray.length} pixels for a ${width} × ${height} image; ` +
        `pass width × height = ${width * height} gray values, row by row`,
    );
  }
  // Level 9: a 40-digit grid's SVG is 2% smaller than with node:zlib's default, 5% than level 3.
  return encode({ width, height, data: gray, depth: 8, channels: 1 }, { zlib: { level: 9 } });
}
