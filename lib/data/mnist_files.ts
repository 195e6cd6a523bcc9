/**
 * Gets the four MNIST .gz files into a folder and checks them against the SHA-256 sums in
 * the committed data/SHA256SUMS. The only module here that downloads or moves data files.
 */
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readSetting } from "../common/settings.ts";

/** The four original MNIST files, gzip-compressed IDX. */
export const MNIST_FILES = {
  trainImages: "train-images-idx3-ubyte.gz",
  trainLabels: "train-labels-idx1-ubyte.gz",
  testImages: "t10k-images-idx3-ubyte.gz",
  testLabels: "t10k-labels-idx1-ubyte.gz",
} as const;

/** One of the four MNIST file names. */
export type MnistFileName = typeof MNIST_FILES[keyof typeof MNIST_FILES];

/** The four MNIST file names, in the order they are fetched. */
export const MNIST_FILE_NAMES: readonly MnistFileName[] = Object.values(MNIST_FILES);

/** Public copies of the original files, tried in this order when no mirror is given. */
export const PUBLIC_MIRRORS: readonly string[] = [
  "https://storage.googleapis.com/cvdf-datasets/mnist/", // the copy tf.keras downloads
  "https://ossci-datasets.s3.amazonaws.com/mnist/", // the copy torchvision downloads
  "http://yann.lecun.com/exdb/mnist/", // the original; often down or behind a login
];

const PROJECT_ROOT = resolve(fileURLToPath(new URL("../../", import.meta.url)));
const SUMS_PATH = join(PROJECT_ROOT, "data", "SHA256SUMS");
/** A download gives up when no byte arrives for this long (headers included), by default. */
export const STALL_TIMEOUT_MS = 30_000;

/** The folder the data lives in unless told otherwise: <project root>/data/mnist. */
export function defaultMnistDir(): string {
  return join(PROJECT_ROOT, "data", "mnist");
}

/** Options of `ensureMnistFiles`. */
export interface EnsureMnistOptions {
  /** Folder to keep the files in; default `defaultMnistDir()`. Created when missing. */
  dir?: string;
  /** One place to fetch missing files from: a local folder or an http(s) URL base. Default: env MNIST_MIRROR, else the public mirrors. */
  mirror?: string;
  /** Internal (tests): the full list of places to try in order, overriding `mirror`, MNIST_MIRROR and the public mirrors. */
  mirrors?: readonly string[];
  /** Give up on a mirror when no byte arrives for this many ms; default `STALL_TIMEOUT_MS`. */
  stallTimeoutMs?: number;
  /** Called as a file arrives (about every 64 KB), e.g. to draw a progress line. */
  onProgress?: (progress: DownloadProgress) => void;
}

/** How far one file's download has come. */
export interface DownloadProgress {
  name: MnistFileName;
  source: string;
  bytes: number;
  /** The size the mirror announced, if it did. */
  totalBytes?: number;
}

/** What `ensureMnistFiles` did for one file. */
export interface MnistFileReport {
  name: MnistFileName;
  /** Absolute path of the verified file. */
  path: string;
  /** "present": it was already there; "fetched": it was copied or downloaded now. */
  status: "present" | "fetched";
  /** Where a fetched file came from (URL or path). */
  source?: string;
  /** Places tried before `source`, each with the reason it failed. */
  failedAttempts: string[];
  /** The file's SHA-256, equal to the one in data/SHA256SUMS. */
  sha256: string;
}

/** Makes sure the four MNIST files are in `dir`, fetching missing ones, and verifies every one. */
export async function ensureMnistFiles(
  options: EnsureMnistOptions = {},
): Promise<MnistFileReport[]> {
  const dir = resolve(options.dir ?? defaultMnistDir());
  const sums = await readExpectedSums();
  const mirrors = chooseMirrors(options);
  const stallTimeoutMs = options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  if (!(stallTimeoutMs > 0)) {
    throw new Error(`stallTimeoutMs must be a positive number of ms, got ${stallTimeoutMs}`);
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new Error(`Cannot create the MNIST folder ${dir}: ${messageOf(error)}`, { cause: error });
  }
  await removeStaleTemporaryFiles(dir, 2 * stallTimeoutMs);
  const reports: MnistFileReport[] = [];
  for (const name of MNIST_FILE_NAMES) {
    const path = join(dir, name);
    const expected = sums.get(name)!;
    const bytes = await readIfPresent(path);
    if (bytes !== undefined) {
      await verifyOrMoveAside(bytes, { dir, name, expected });
      reports.push({ name, path, status: "present", failedAttempts: [], sha256: expected });
    } else {
      reports.push(
        await fetchFile(name, {
          dir,
          mirrors,
          expected,
          stallTimeoutMs,
          onProgress: options.onProgress,
        }),
      );
    }
  }
  return reports;
}

/** Reads one MNIST file from `dir`, checks its SHA-256 and returns it gunzipped (raw IDX bytes). */
export async function readMnistFile(dir: string, name: MnistFileName): Promise<Uint8Array> {
  const sums = await readExpectedSums();
  const expected = sums.get(name);
  if (expected === undefined) {
    throw new Error(`Unknown MNIST file "${name}"; use one of: ${MNIST_FILE_NAMES.join(", ")}`);
  }
  const absoluteDir = resolve(dir);
  const bytes = await readIfPresent(join(absoluteDir, name));
  if (bytes === undefined) {
    throw new Error(
      `Cannot read ${shownPath(absoluteDir, name)}: the file is missing; ` +
        `run "${fetchCommand(absoluteDir)}" to fetch it`,
    );
  }
  await verifyOrMoveAside(bytes, { dir: absoluteDir, name, expected });
  return gunzip(bytes, name, { fix: refetchHint(absoluteDir, name) });
}

/** Options of `gunzip`. */
export interface GunzipOptions {
  /** What the reader should do about a bad file; default: delete it and run "deno task data". */
  fix?: string;
}

/** Decompresses gzip data; a truncated or corrupt stream throws an error naming `fileName`. */
export async function gunzip(
  bytes: Uint8Array<ArrayBuffer>,
  fileName: string,
  options: GunzipOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  try {
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    const fix = options.fix ?? `delete it and run "deno task data"`;
    throw new Error(
      `Cannot unpack ${fileName}: its gzip data is truncated or corrupt ` +
        `(${messageOf(error)}); ${fix}`,
      { cause: error },
    );
  }
}

/** Hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Parses `sha256sum` output (`<sha>  <name>` per line) into a map from name to sum. */
export function parseSha256Sums(text: string, fileName: string): Map<string, string> {
  const sums = new Map<string, string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (match === null) {
      throw new Error(
        `Cannot parse ${fileName}: line ${i + 1} is not "<sha256>  <file name>"; ` +
          `restore it with "git checkout data/SHA256SUMS"`,
      );
    }
    sums.set(match[2], match[1].toLowerCase());
  }
  return sums;
}

/** The expected SHA-256 of each MNIST file, from the committed data/SHA256SUMS. */
export async function readExpectedSums(): Promise<Map<MnistFileName, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(SUMS_PATH);
  } catch (error) {
    throw new Error(
      `Cannot read ${SUMS_PATH} (${messageOf(error)}); it is committed with the project: ` +
        `restore it with "git checkout data/SHA256SUMS"`,
      { cause: error },
    );
  }
  const parsed = parseSha256Sums(text, "data/SHA256SUMS");
  const sums = new Map<MnistFileName, string>();
  for (const name of MNIST_FILE_NAMES) {
    const sum = parsed.get(name);
    if (sum === undefined) {
      throw new Error(
        `data/SHA256SUMS has no sum for ${name}; restore it with "git checkout data/SHA256SUMS"`,
      );
    }
    sums.set(name, sum);
  }
  return sums;
}

/** What to do about a bad file in `dir`: delete it and fetch it again. */
export function refetchHint(dir: string, name: string): string {
  return `delete ${shownPath(resolve(dir), name)} and run "${fetchCommand(resolve(dir))}"`;
}

function chooseMirrors(options: EnsureMnistOptions): readonly string[] {
  if (options.mirrors !== undefined) return options.mirrors;
  if (options.mirror !== undefined && options.mirror !== "") return [options.mirror];
  const fromEnv = readSetting("mnistMirror");
  if (fromEnv !== undefined && fromEnv !== "") return [fromEnv];
  return PUBLIC_MIRRORS;
}

interface FetchPlan {
  dir: string;
  mirrors: readonly string[];
  expected: string;
  stallTimeoutMs: number;
  onProgress?: (progress: DownloadProgress) => void;
}

// Tries each mirror in turn; a file lands under its real name only once its sum is right.
async function fetchFile(name: MnistFileName, plan: FetchPlan): Promise<MnistFileReport> {
  const failedAttempts: string[] = [];
  for (const mirror of plan.mirrors) {
    const source = sourceOf(mirror, name);
    const temp = join(plan.dir, `${name}.${crypto.randomUUID().slice(0, 8)}.tmp`);
    try {
      await copyTo(source, temp, {
        stallTimeoutMs: plan.stallTimeoutMs,
        onProgress: (bytes, totalBytes) => plan.onProgress?.({ name, source, bytes, totalBytes }),
      });
    } catch (error) {
      await removeIfPresent(temp);
      failedAttempts.push(`${source}: ${describeFailure(error)}`);
      continue;
    }
    const actual = await sha256Hex(await Deno.readFile(temp));
    if (actual !== plan.expected) {
      const aside = await moveAside(temp, { dir: plan.dir, name });
      failedAttempts.push(
        `${source}: SHA-256 mismatch (expected ${plan.expected}, got ${actual}; kept as ${aside})`,
      );
      continue;
    }
    const path = join(plan.dir, name);
    await Deno.rename(temp, path); // atomic: no half-written file under the real name
    await syncFolder(plan.dir); // and durable: the rename survives a power cut
    return { name, path, status: "fetched", source, failedAttempts, sha256: actual };
  }
  const tried = failedAttempts.map((line) => `  - ${line}`).join("\n");
  throw new Error(
    `Cannot get ${name}: no mirror had a good copy. Tried:\n${tried}\n` +
      `Set MNIST_MIRROR to a folder or an http(s) URL that holds the four MNIST .gz files, ` +
      `or copy them into ${plan.dir}, then run "${fetchCommand(plan.dir)}" again`,
  );
}

function sourceOf(mirror: string, name: string): string {
  if (/^https?:\/\//i.test(mirror)) {
    return new URL(name, mirror.endsWith("/") ? mirror : `${mirror}/`).href;
  }
  const folder = mirror.startsWith("file:") ? fileURLToPath(mirror) : mirror;
  return join(resolve(folder), name);
}

interface CopyOptions {
  stallTimeoutMs: number;
  onProgress: (bytes: number, totalBytes?: number) => void;
}

// Copies or downloads `source` into `temp`, synced to disk before it is renamed. A download
// gives up when no byte arrives for `stallTimeoutMs` (waiting for the headers included).
async function copyTo(source: string, temp: string, options: CopyOptions): Promise<void> {
  if (!/^https?:\/\//i.test(source)) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(source);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw new Error("no such file");
      throw error;
    }
    await writeSynced(temp, [bytes]);
    return;
  }
  const { stallTimeoutMs } = options;
  const controller = new AbortController();
  let received = 0;
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      controller.abort(new Error("stalled"));
    }, stallTimeoutMs);
  };
  const stallError = () =>
    new Error(
      received === 0
        ? `no answer within ${stallTimeoutMs / 1000} s`
        : `no data for ${stallTimeoutMs / 1000} s after ${received.toLocaleString("en-US")} ` +
          `bytes (the mirror stalled)`,
    );
  watch();
  try {
    const response = await fetch(source, { signal: controller.signal });
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    const announced = Number(response.headers.get("content-length") ?? NaN);
    const totalBytes = Number.isFinite(announced) ? announced : undefined;
    const file = await Deno.open(temp, { write: true, createNew: true });
    try {
      let reported = 0;
      for await (const chunk of response.body) {
        watch();
        await writeAll(file, chunk);
        received += chunk.length;
        if (received - reported >= 65_536) {
          options.onProgress(received, totalBytes);
          reported = received;
        }
      }
      options.onProgress(received, totalBytes);
      await file.sync();
    } finally {
      file.close();
    }
  } catch (error) {
    if (stalled) throw stallError();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function writeSynced(path: string, chunks: Uint8Array[]): Promise<void> {
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    for (const chunk of chunks) await writeAll(file, chunk);
    await file.sync();
  } finally {
    file.close();
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await file.write(bytes.subarray(written));
  }
}

async function syncFolder(dir: string): Promise<void> {
  const folder = await Deno.open(dir, { read: true });
  try {
    await folder.sync();
  } catch {
    // A filesystem that cannot sync a folder: the rename is as durable as it allows.
  } finally {
    folder.close();
  }
}

/**
 * Removes the temporary files (`<MNIST file>.<id>.tmp`) that an interrupted run left in `dir`:
 * those unchanged for `olderThanMs` (a live download writes to its file all the time).
 */
async function removeStaleTemporaryFiles(dir: string, olderThanMs: number): Promise<void> {
  const now = Date.now();
  for await (const entry of Deno.readDir(dir)) {
    const isOurs = MNIST_FILE_NAMES.some((name) =>
      entry.name.startsWith(`${name}.`) && entry.name.endsWith(".tmp")
    );
    if (!entry.isFile || !isOurs) continue;
    const path = join(dir, entry.name);
    const modified = (await Deno.stat(path)).mtime?.getTime() ?? 0;
    if (now - modified >= olderThanMs) await removeIfPresent(path);
  }
}

interface FileRef {
  dir: string;
  name: string;
}

async function verifyOrMoveAside(
  bytes: Uint8Array<ArrayBuffer>,
  file: FileRef & { expected: string },
): Promise<void> {
  const actual = await sha256Hex(bytes);
  if (actual === file.expected) return;
  const aside = await moveAside(join(file.dir, file.name), file);
  throw new Error(
    `Cannot use ${file.name}: SHA-256 mismatch (expected ${file.expected}, got ${actual}); ` +
      `moved it aside to ${aside}; run "${fetchCommand(file.dir)}" to fetch a good copy`,
  );
}

// Bad files are kept for inspection, never deleted.
async function moveAside(path: string, file: FileRef): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  for (let attempt = 0;; attempt++) {
    const suffix = attempt === 0 ? "" : `-${attempt}`;
    const aside = join(file.dir, `${file.name}.bad-${stamp}${suffix}`);
    if (!(await exists(aside))) {
      await Deno.rename(path, aside);
      return aside;
    }
  }
}

async function readIfPresent(path: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function shownPath(dir: string, name: string): string {
  const path = join(dir, name);
  const fromRoot = relative(PROJECT_ROOT, path);
  return fromRoot.startsWith("..") ? path : fromRoot;
}

function fetchCommand(dir: string): string {
  if (dir === defaultMnistDir()) return "deno task data";
  return `deno task data --dir ${/\s/.test(dir) ? `'${dir}'` : dir}`;
}

// fetch's own message is just "fetch failed"; the reason (DNS, refused, TLS) is in its cause.
function describeFailure(error: unknown): string {
  const message = messageOf(error);
  if (!(error instanceof Error) || !(error.cause instanceof Error)) return message;
  const reason = error.cause.message.replace(/^error sending request for url \([^)]*\): /, "");
  return `${message} (${reason})`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
