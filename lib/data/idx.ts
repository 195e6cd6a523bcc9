/**
 * Parsing of MNIST's IDX files: a big-endian header, then unsigned bytes. Pure functions,
 * no I/O, so tests can feed them tiny hand-made buffers. Format: yann.lecun.com/exdb/mnist.
 */

/** Magic number of an IDX image file: unsigned bytes in 3 dimensions (0x00000803). */
export const IMAGE_MAGIC = 2051;
/** Magic number of an IDX label file: unsigned bytes in 1 dimension (0x00000801). */
export const LABEL_MAGIC = 2049;
/** Rows of pixels in one MNIST image. */
export const IMAGE_ROWS = 28;
/** Columns of pixels in one MNIST image. */
export const IMAGE_COLS = 28;
/** Pixels in one MNIST image (28 × 28). */
export const IMAGE_SIZE = IMAGE_ROWS * IMAGE_COLS;
/** Bytes before the first pixel: magic, count, rows, cols, 4 bytes each. */
export const IMAGE_HEADER_BYTES = 16;
/** Bytes before the first label: magic, count, 4 bytes each. */
export const LABEL_HEADER_BYTES = 8;
/** Number of classes: the digits 0-9. */
export const NUM_CLASSES = 10;

/** The contents of an IDX image file: `count` images of rows × cols pixels, one after another. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count × rows × cols bytes, row by row; 0 is background, 255 full ink. */
  pixels: Uint8Array;
}

/** Options of the parsers. */
export interface IdxParseOptions {
  /** What the reader should do about a bad file; default: delete data/mnist/<file> and refetch. */
  fix?: string;
}

/** Parses an uncompressed IDX image file of 28×28 images; throws a clear error on a bad file. */
export function parseIdxImages(
  bytes: Uint8Array,
  fileName: string,
  options: IdxParseOptions = {},
): IdxImages {
  const fail = failWith(fileName, options);
  const view = readHeader(bytes, fail, "image", IMAGE_HEADER_BYTES, IMAGE_MAGIC);
  const count = view.getUint32(4);
  const rows = view.getUint32(8);
  const cols = view.getUint32(12);
  if (rows !== IMAGE_ROWS || cols !== IMAGE_COLS) {
    throw fail(`its images are ${rows}x${cols} pixels, expected ${IMAGE_ROWS}x${IMAGE_COLS}`);
  }
  const bodyProblem = checkBodyLength(
    bytes.length - IMAGE_HEADER_BYTES,
    count * rows * cols,
    `${count} images of ${rows}x${cols} pixels`,
  );
  if (bodyProblem) throw fail(bodyProblem);
  return { count, rows, cols, pixels: bytes.subarray(IMAGE_HEADER_BYTES) };
}

/** Parses an uncompressed IDX label file of digits 0-9; throws a clear error on a bad file. */
export function parseIdxLabels(
  bytes: Uint8Array,
  fileName: string,
  options: IdxParseOptions = {},
): Uint8Array {
  const fail = failWith(fileName, options);
  const view = readHeader(bytes, fail, "label", LABEL_HEADER_BYTES, LABEL_MAGIC);
  const count = view.getUint32(4);
  const bodyProblem = checkBodyLength(bytes.length - LABEL_HEADER_BYTES, count, `${count} labels`);
  if (bodyProblem) throw fail(bodyProblem);
  const labels = bytes.subarray(LABEL_HEADER_BYTES);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= NUM_CLASSES) {
      throw fail(`label ${labels[i]} at index ${i} is outside 0-${NUM_CLASSES - 1}`);
    }
  }
  return labels;
}

/** The two file names that `checkSameCount` names in its error. */
export interface PairNames {
  imagesFile: string;
  labelsFile: string;
}

/** Throws unless an image file and its label file hold the same number of examples. */
export function checkSameCount(
  images: Pick<IdxImages, "count">,
  labels: ArrayLike<number>,
  names: PairNames,
): void {
  if (images.count === labels.length) return;
  throw new Error(
    `${names.imagesFile} holds ${images.count} images but ${names.labelsFile} holds ` +
      `${labels.length} labels, and they must pair one to one; delete both and run ` +
      `"deno task data" to fetch matching copies`,
  );
}

function failWith(fileName: string, options: IdxParseOptions): (problem: string) => Error {
  const fix = options.fix ?? `delete data/mnist/${fileName} and run "deno task data"`;
  return function fail(problem: string): Error {
    return new Error(`Cannot parse ${fileName}: ${problem}; ${fix}`);
  };
}

function wrongMagic(magic: number, expected: number, kind: string): string {
  const known = magic === IMAGE_MAGIC
    ? " (that of an image file)"
    : magic === LABEL_MAGIC
    ? " (that of a label file)"
    : "";
  return `wrong magic number ${magic}${known}; an IDX ${kind} file starts with ${expected}`;
}

function checkBodyLength(actual: number, expected: number, what: string): string | undefined {
  if (actual < expected) {
    return `the file is truncated: its header promises ${what} (${expected} bytes) but only ` +
      `${actual} bytes follow`;
  }
  if (actual > expected) {
    return `${actual - expected} unexpected bytes follow the ${what} its header promises`;
  }
  return undefined;
}

// The checks both kinds of file share: a whole header and the right magic number.
function readHeader(
  bytes: Uint8Array,
  fail: (problem: string) => Error,
  kind: "image" | "label",
  headerBytes: number,
  magic: number,
): DataView {
  if (bytes.length < headerBytes) {
    throw fail(
      `the header is cut short (${bytes.length} bytes; ${kind === "image" ? "an" : "a"} ${kind} ` +
        `file's header has ${headerBytes})`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0); // DataView reads big-endian by default, as IDX is
  if (found !== magic) throw fail(wrongMagic(found, magic, kind));
  return view;
}
