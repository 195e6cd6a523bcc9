/**
 * Digit images as small PNG data URIs, and the captioned grid that lays them out (the digit
 * grid and the gallery of mistakes). Plot.raster needs a canvas, which linkedom lacks; one
 * rect per pixel would make a 40-digit grid weigh megabytes.
 */
import * as Plot from "@observablehq/plot";
import { deflateSync } from "node:zlib";
import { base, range } from "./frame.ts";

/** Pixels per side of an MNIST image. */
export const IMAGE_SIDE = 28;
const DIGIT_PIXELS = 56; // each 28x28 image drawn at 2x

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

/** Image `index` of `images` (ink 0-1) as a grayscale PNG data URI, ink dark on light paper. */
export function digitDataUri(images: Float32Array, index: number): string {
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
