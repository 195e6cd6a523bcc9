/**
 * Jupyter notebooks as data: listing, reading, checking for errors, counting outputs,
 * cleaning (nbdev's `clean_nb` idea) and writing them the way Jupyter does. It also runs
 * them through `jupyter nbconvert`, the one place here that starts Jupyter processes.
 */
import { basename, join, resolve } from "node:path";
import { captureCommand } from "./command.ts";

/** A notebook in nbformat 4; fields this module does not know are kept as they are. */
export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
  [key: string]: unknown;
}

/** One cell: markdown, code or raw. Source and texts are a string or a list of lines. */
export interface NotebookCell {
  cell_type: string;
  id?: string;
  metadata: Record<string, unknown>;
  source: string | string[];
  execution_count?: number | null;
  outputs?: NotebookOutput[];
  [key: string]: unknown;
}

/** One output of a code cell: a stream, a rich result (MIME bundle) or an error. */
export interface NotebookOutput {
  output_type: string;
  /** stream: "stdout" or "stderr". */
  name?: string;
  /** stream: the text written. */
  text?: string | string[];
  /** execute_result, display_data: the MIME bundle. */
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  execution_count?: number | null;
  /** error: the exception's class name, message and traceback lines. */
  ename?: string;
  evalue?: string;
  traceback?: string[];
  [key: string]: unknown;
}

/** An error a notebook showed: an error output, or stderr text that reads as an uncaught error. */
export interface NotebookError {
  /** Index of the cell in `notebook.cells` (0-based, markdown cells counted). */
  cellIndex: number;
  /** The cell's execution count when it has one. */
  executionCount: number | null;
  /** Where it came from: an `error` output or a `stderr` stream. */
  kind: "error" | "stderr";
  ename: string;
  evalue: string;
  /** The traceback (or the stderr text), ANSI colour codes removed. */
  traceback: string;
}

/** Minimum number of outputs of each MIME type a notebook must show, per notebook file. */
export type ExpectedOutputs = Record<string, Record<string, number>>;

/** File names the project's notebooks have: two digits, an underscore, a name. */
export const NOTEBOOK_NAME = /^\d\d_.+\.ipynb$/;

/** Paths of the notebooks `NN_*.ipynb` in `dir`, sorted by name; none when `dir` is missing. */
export async function listNotebooks(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && NOTEBOOK_NAME.test(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return names.sort().map((name) => join(dir, name));
}

/** Reads and parses a notebook file; a file that is not an nbformat 4 notebook throws. */
export async function readNotebook(path: string): Promise<Notebook> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`Cannot read notebook ${path}: ${messageOf(error)}`, { cause: error });
  }
  return parseNotebook(text, path);
}

/** Parses notebook JSON; `name` is used in error messages. */
export function parseNotebook(text: string, name: string): Notebook {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `Cannot parse notebook ${name}: not valid JSON (${messageOf(error)}); ` +
        `restore it from git or re-save it from Jupyter`,
      { cause: error },
    );
  }
  const notebook = value as Partial<Notebook> | null;
  if (
    notebook === null || typeof notebook !== "object" || !Array.isArray(notebook.cells) ||
    notebook.nbformat !== 4
  ) {
    throw new Error(
      `Cannot use notebook ${name}: expected nbformat 4 JSON with a "cells" list; ` +
        `open and save it in Jupyter 6 or later to convert it`,
    );
  }
  return { metadata: {}, nbformat_minor: 0, ...notebook } as Notebook;
}

// Deno prints "error: Uncaught (in promise) TypeError: …"; Node-style output is "TypeError: …".
const STDERR_ERROR =
  /^(?:error: )?(?:Uncaught (?:\(in promise\) )?)?((?:[A-Z]\w*)?(?:Error|Exception))(?: \[\w+\])?: (.*)$|^(?:error: )?(Uncaught|Unhandled\w*)\b:? ?(.*)$/m;

/** Every error the notebook shows: `error` outputs, and stderr streams that read as uncaught errors. */
export function notebookErrors(notebook: Notebook): NotebookError[] {
  const errors: NotebookError[] = [];
  notebook.cells.forEach((cell, cellIndex) => {
    const executionCount = cell.execution_count ?? null;
    for (const output of cell.outputs ?? []) {
      if (output.output_type === "error") {
        const traceback = stripAnsi((output.traceback ?? []).join("\n"));
        errors.push({
          cellIndex,
          executionCount,
          kind: "error",
          ename: output.ename ?? "Error",
          evalue: stripAnsi(output.evalue ?? ""),
          traceback: traceback === "" ? `${output.ename}: ${output.evalue}` : traceback,
        });
      } else if (output.output_type === "stream" && output.name === "stderr") {
        const text = stripAnsi(joinText(output.text));
        const match = STDERR_ERROR.exec(text);
        if (match === null) continue;
        errors.push({
          cellIndex,
          executionCount,
          kind: "stderr",
          ename: match[1] ?? match[3],
          evalue: (match[2] ?? match[4]).trim(),
          traceback: text.trim(),
        });
      }
    }
  });
  return errors;
}

/** A readable multi-line description of one notebook error, for test failures and reports. */
export function describeNotebookError(error: NotebookError): string {
  const count = error.executionCount === null ? "" : ` [${error.executionCount}]`;
  const where = `cell ${error.cellIndex}${count}`;
  const what = error.kind === "stderr" ? "wrote an error to stderr" : "raised";
  return `${where} ${what}: ${error.ename}: ${error.evalue}\n${indent(error.traceback)}`;
}

/** How many rich outputs (execute_result, display_data) carry each MIME type, e.g. `image/svg+xml`. */
export function outputMimeCounts(notebook: Notebook): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const cell of notebook.cells) {
    for (const output of cell.outputs ?? []) {
      if (output.output_type !== "execute_result" && output.output_type !== "display_data") {
        continue;
      }
      for (const mime of Object.keys(output.data ?? {})) counts[mime] = (counts[mime] ?? 0) + 1;
    }
  }
  return counts;
}

/** What falls short of `expected` (minimum counts per MIME type), one line each; empty when all is there. */
export function missingOutputs(
  counts: Record<string, number>,
  expected: Record<string, number>,
): string[] {
  const missing: string[] = [];
  for (const [mime, minimum] of Object.entries(expected)) {
    const actual = counts[mime] ?? 0;
    if (actual < minimum) missing.push(`${mime}: expected at least ${minimum}, got ${actual}`);
  }
  return missing;
}

/** Checks and returns the parsed content of an expected-outputs manifest. */
export function parseExpectedOutputs(text: string, name: string): ExpectedOutputs {
  const fix = `fix ${name}: it maps notebook files to {"<MIME type>": <minimum count>}`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`Cannot parse ${name}: ${messageOf(error)}; ${fix}`, { cause: error });
  }
  if (!isRecord(value)) throw new Error(`Cannot use ${name}: not a JSON object; ${fix}`);
  for (const [notebook, counts] of Object.entries(value)) {
    if (!isRecord(counts)) {
      throw new Error(`Cannot use ${name}: the entry for "${notebook}" is not an object; ${fix}`);
    }
    for (const [mime, count] of Object.entries(counts)) {
      if (!Number.isInteger(count) || (count as number) < 0) {
        throw new Error(
          `Cannot use ${name}: "${notebook}" expects ${JSON.stringify(count)} of ${mime}, ` +
            `not a count; ${fix}`,
        );
      }
    }
  }
  return value as ExpectedOutputs;
}

/** Reads an expected-outputs manifest (see `parseExpectedOutputs`). */
export async function readExpectedOutputs(path: string): Promise<ExpectedOutputs> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(
      `Cannot read ${path} (${messageOf(error)}); it lists the outputs each notebook must ` +
        `show, as {"01_data.ipynb": {"image/svg+xml": 2}}: restore it from git`,
      { cause: error },
    );
  }
  return parseExpectedOutputs(text, path);
}

/**
 * Everything wrong with an executed notebook, one message each: its errors (see
 * `notebookErrors`) and outputs it falls short of (`expected`: minimum counts per MIME type).
 */
export function notebookProblems(
  notebook: Notebook,
  expected: Record<string, number> = {},
): string[] {
  const problems = notebookErrors(notebook).map(describeNotebookError);
  const missing = missingOutputs(outputMimeCounts(notebook), expected);
  if (missing.length > 0) {
    problems.push(
      `too few outputs (a cell that fails without an error, e.g. an un-awaited promise, ` +
        `shows nothing):\n${missing.map((line) => `    ${line}`).join("\n")}`,
    );
  }
  return problems;
}

// Notebook-level metadata worth keeping; everything else (widgets state, papermill, vscode,
// kernel session ids written by some front ends) changes from run to run or machine to machine.
const KEPT_NOTEBOOK_METADATA = ["kernelspec", "language_info", "title", "authors"];
const KEPT_KERNELSPEC = ["display_name", "language", "name"];
// language_info.version is the TypeScript version inside Deno: it changes with every upgrade.
const KEPT_LANGUAGE_INFO = [
  "codemirror_mode",
  "file_extension",
  "mimetype",
  "name",
  "nbconvert_exporter",
  "pygments_lexer",
];
// Cell metadata written by running or viewing a notebook, not by its author.
const VOLATILE_CELL_METADATA = [
  "execution",
  "ExecuteTime",
  "papermill",
  "collapsed",
  "scrolled",
  "widgets",
  "vscode",
];
// nbformat 4.5: ids are 1-64 characters of letters, digits, "-" and "_".
const CELL_ID = /^[a-zA-Z0-9_-]{1,64}$/;
// nbformat splits these MIME types into lines too, besides every text/* type.
const SPLIT_MIME_TYPES = new Set(["application/javascript", "image/svg+xml"]);

/**
 * A copy of `notebook` without volatile metadata: no execution timestamps, widget state or
 * session data, minimal kernelspec and language_info, execution counts renumbered 1..n in
 * cell order, a valid unique `id` on every cell (`cell-<index>` when missing), and texts
 * split into lines as Jupyter saves them. Outputs are kept. Cleaning twice changes nothing.
 */
export function cleanNotebook(notebook: Notebook): Notebook {
  const metadata = pick(notebook.metadata, KEPT_NOTEBOOK_METADATA);
  if (isRecord(metadata.kernelspec)) {
    metadata.kernelspec = pick(metadata.kernelspec, KEPT_KERNELSPEC);
  }
  if (isRecord(metadata.language_info)) {
    metadata.language_info = pick(metadata.language_info, KEPT_LANGUAGE_INFO);
  }
  const usedIds = new Set<string>();
  let executionCount = 0;
  const cells = notebook.cells.map((cell, index) => {
    const cleaned: NotebookCell = { ...structuredClone(cell) };
    cleaned.metadata = omit(cell.metadata ?? {}, VOLATILE_CELL_METADATA);
    cleaned.id = uniqueId(cell.id, index, usedIds);
    cleaned.source = splitLines(cell.source ?? "");
    if (cell.cell_type === "code") {
      const count = typeof cell.execution_count === "number" ? ++executionCount : null;
      cleaned.execution_count = count;
      cleaned.outputs = (cleaned.outputs ?? []).map((output) => cleanOutput(output, count));
    }
    return cleaned;
  });
  return {
    ...notebook,
    cells,
    metadata,
    nbformat: 4,
    nbformat_minor: Math.max(5, notebook.nbformat_minor ?? 0),
  };
}

/** The notebook as Jupyter writes it: keys sorted, one-space indent, trailing newline. */
export function formatNotebook(notebook: Notebook): string {
  return `${JSON.stringify(sortKeys(notebook), null, 1)}\n`;
}

/** Writes `notebook` to `path` with `formatNotebook`, atomically (through a .tmp file). */
export async function writeNotebook(path: string, notebook: Notebook): Promise<void> {
  const temp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeTextFile(temp, formatNotebook(notebook));
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** The path of the program the `deno` kernelspec starts, from `jupyter kernelspec list --json`. */
export function denoKernelProgram(
  kernelspecListJson: string,
  kernelName = "deno",
): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(kernelspecListJson);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || !isRecord(value.kernelspecs)) return undefined;
  const kernel = value.kernelspecs[kernelName];
  if (!isRecord(kernel) || !isRecord(kernel.spec) || !Array.isArray(kernel.spec.argv)) {
    return undefined;
  }
  const program = kernel.spec.argv[0];
  return typeof program === "string" ? program : undefined;
}

/** The command that installs Jupyter and registers the Deno kernel. */
export const SETUP_COMMAND = "deno task setup";

/**
 * Why notebooks cannot run here (no `jupyter`, no nbconvert, no `deno` kernelspec), with
 * what to do; undefined when they can.
 */
export async function jupyterProblem(): Promise<string | undefined> {
  const nbconvert = await captureCommand("jupyter", ["nbconvert", "--version"]);
  if (nbconvert === undefined) {
    return `Jupyter is not installed (no "jupyter" on PATH); run "${SETUP_COMMAND}"`;
  }
  if (!nbconvert.success) {
    return `"jupyter nbconvert" does not run (${lastLine(nbconvert.stderr)}); ` +
      `run "${SETUP_COMMAND}" to install it`;
  }
  const list = await captureCommand("jupyter", ["kernelspec", "list", "--json"]);
  const program = list?.success ? denoKernelProgram(list.stdout) : undefined;
  if (program === undefined) {
    return `Jupyter has no "deno" kernel; run "${SETUP_COMMAND}" to register it`;
  }
  try {
    await Deno.stat(program);
  } catch {
    return `The "deno" kernel starts ${program}, which is missing; run "${SETUP_COMMAND}" ` +
      `to register the kernel again`;
  }
  return undefined;
}

/** Options of `executeNotebook`. */
export interface ExecuteOptions {
  /** Folder the executed notebook goes to (same file name); created when missing. */
  outputDir: string;
  /** Extra environment for nbconvert and so for the kernel (e.g. SIZEWISE_PRESET). */
  env?: Record<string, string>;
  /** Seconds one cell may run; default 1800. */
  cellTimeoutSeconds?: number;
}

/** What `executeNotebook` or `convertToHtml` wrote. */
export interface NbconvertResult {
  /** The written file: `<outputDir>/<name>.ipynb` or `<outputDir>/<name>.html`. */
  outputPath: string;
  /** Wall-clock seconds nbconvert took, kernel start included. */
  seconds: number;
}

/**
 * Runs every cell of a notebook top to bottom with `jupyter nbconvert --to notebook` and
 * the `deno` kernel, started in the notebook's own folder (so `../lib/x.ts` imports and the
 * project's deno.json work), and writes the result into `outputDir`. A cell that throws, a
 * timeout or a dead kernel throws an error naming the notebook, the cell and the error;
 * execution stops at the first failing cell, and the notebook as far as it ran is kept in
 * `outputDir` as `<name>.partial.ipynb` (the error says where). Outputs the Deno kernel sends just after it reports idle
 * are kept (see `DENO_EXECUTE_PREPROCESSOR`).
 */
export async function executeNotebook(
  path: string,
  options: ExecuteOptions,
): Promise<NbconvertResult> {
  const moduleDir = await Deno.makeTempDir({ prefix: "sizewise-nbexec-" });
  try {
    await Deno.writeTextFile(join(moduleDir, "sizewise_nbexec.py"), DENO_EXECUTE_PREPROCESSOR);
    const pythonPath = Deno.env.get("PYTHONPATH");
    const env = {
      ...options.env,
      PYTHONPATH: pythonPath ? `${moduleDir}:${pythonPath}` : moduleDir,
    };
    const timeout = options.cellTimeoutSeconds ?? 1800;
    const partial = partialOutputPath(options.outputDir, path);
    await Deno.remove(partial).catch(() => {}); // an older run's copy must not pass for this one's
    try {
      return await nbconvert(path, {
        outputDir: options.outputDir,
        extension: ".ipynb",
        env,
        args: [
          "--to=notebook",
          // Instead of --execute, which would run nbclient's own ExecutePreprocessor.
          "--NotebookExporter.preprocessors=sizewise_nbexec.DenoExecutePreprocessor",
          "--DenoExecutePreprocessor.kernel_name=deno",
          `--DenoExecutePreprocessor.timeout=${timeout}`,
          `--DenoExecutePreprocessor.partial_output=${partial}`,
        ],
      });
    } catch (error) {
      const kept = await Deno.stat(partial).then(() => true, () => false);
      if (!kept) throw error;
      throw new Error(
        `${messageOf(error)}\nThe executed copy, as far as it ran, is kept in ${partial}`,
        { cause: error },
      );
    }
  } finally {
    await Deno.remove(moduleDir, { recursive: true });
  }
}

/** Where `executeNotebook` keeps a failed notebook as far as it ran: `<name>.partial.ipynb`. */
export function partialOutputPath(outputDir: string, path: string): string {
  return join(resolve(outputDir), basename(path).replace(/\.ipynb$/, "") + ".partial.ipynb");
}

/** Writes a notebook as it is (no execution) as a standalone HTML page into `outputDir`. */
export async function convertToHtml(
  path: string,
  options: { outputDir: string },
): Promise<NbconvertResult> {
  // nbconvert's HTML templates pass SVG outputs through lxml's clean_html, which strips every
  // element but the root <svg> and leaves an empty box; a copy that also offers each chart as
  // text/html (shown first, and not cleaned) keeps the charts.
  const copyDir = await Deno.makeTempDir({ prefix: "sizewise-html-" });
  try {
    const copy = join(copyDir, basename(path));
    await writeNotebook(copy, svgOutputsAsHtml(await readNotebook(path)));
    return await nbconvert(copy, {
      outputDir: options.outputDir,
      extension: ".html",
      args: ["--to=html"],
    });
  } finally {
    await Deno.remove(copyDir, { recursive: true });
  }
}

/** A copy of `nb` whose SVG outputs are also offered as `text/html`, the same markup. */
export function svgOutputsAsHtml(nb: Notebook): Notebook {
  return {
    ...nb,
    cells: nb.cells.map((cell) => ({
      ...cell,
      ...(cell.outputs
        ? {
          outputs: cell.outputs.map((output) => {
            const svg = isRecord(output.data) ? output.data["image/svg+xml"] : undefined;
            if (svg === undefined || (output.data as Record<string, unknown>)["text/html"]) {
              return output;
            }
            return { ...output, data: { ...(output.data as object), "text/html": svg } };
          }),
        }
        : {}),
    })),
  };
}

/**
 * The Python module `executeNotebook` hands to nbconvert. Deno's kernel (2.9) sometimes
 * publishes a cell's `execute_result` (or an un-awaited `Deno.jupyter.display`) a
 * millisecond after its "idle" status: measured here in 4 of 40 plain cells and 14 of 40
 * cells that awaited something. nbclient stops listening at "idle", so the output was lost
 * (a Jupyter front end can drop it the same way). This subclass keeps listening for
 * `late_output_grace` seconds after "idle" and records what still comes for the cell.
 */
export const DENO_EXECUTE_PREPROCESSOR =
  `"""nbconvert ExecutePreprocessor that keeps outputs sent just after the kernel's idle status."""
from queue import Empty

import nbformat
from nbclient.exceptions import CellExecutionComplete
from nbclient.util import ensure_async
from nbconvert.preprocessors import ExecutePreprocessor
from traitlets import Float, Unicode


class DenoExecutePreprocessor(ExecutePreprocessor):
    late_output_grace = Float(0.2, help="Seconds to keep listening after idle.").tag(config=True)
    partial_output = Unicode("", help="Where to write the notebook as far as it ran if a cell fails.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        try:
            return super().preprocess(nb, resources, km)
        except BaseException:
            if self.partial_output:
                nbformat.write(nb, self.partial_output)
            raise

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
        while True:
            try:
                msg = await ensure_async(
                    self.kc.iopub_channel.get_msg(timeout=self.late_output_grace)
                )
            except Empty:
                return
            if msg["parent_header"].get("msg_id") != parent_msg_id or msg["msg_type"] == "status":
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                pass
`;

interface NbconvertCall {
  outputDir: string;
  extension: ".ipynb" | ".html";
  args: string[];
  env?: Record<string, string>;
}

async function nbconvert(path: string, call: NbconvertCall): Promise<NbconvertResult> {
  const outputDir = resolve(call.outputDir);
  await Deno.mkdir(outputDir, { recursive: true });
  const args = ["nbconvert", ...call.args, `--output-dir=${outputDir}`, resolve(path)];
  const started = performance.now();
  const result = await captureCommand("jupyter", args, call.env);
  const seconds = (performance.now() - started) / 1000;
  if (result === undefined) {
    throw new Error(
      `Cannot run ${basename(path)}: "jupyter" is not on PATH; run "${SETUP_COMMAND}"`,
    );
  }
  if (!result.success) {
    throw new Error(
      `${basename(path)} failed after ${seconds.toFixed(1)} s: ${nbconvertFailure(result.stderr)}`,
    );
  }
  const outputPath = join(outputDir, basename(path).replace(/\.ipynb$/, "") + call.extension);
  return { outputPath, seconds };
}

/** The useful part of nbconvert's stderr after a failure: the cell and its error, not Python's stack. */
export function nbconvertFailure(stderr: string): string {
  const text = stripAnsi(stderr);
  const cellError = text.indexOf("An error occurred while executing the following cell:");
  if (cellError >= 0) return text.slice(cellError).trim();
  const lines = text.trimEnd().split("\n");
  // The last exception line Python printed (CellTimeoutError, DeadKernelError, NoSuchKernel …).
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^[\w.]+(Error|Exception|Kernel)\b.*:/.test(lines[i])) return lines.slice(i).join("\n");
  }
  return lines.slice(-10).join("\n");
}

function cleanOutput(output: NotebookOutput, count: number | null): NotebookOutput {
  const cleaned = { ...output };
  if (cleaned.output_type === "execute_result") cleaned.execution_count = count;
  if (cleaned.output_type === "stream" && cleaned.text !== undefined) {
    cleaned.text = splitLines(cleaned.text);
  }
  if (isRecord(cleaned.data)) {
    const data: Record<string, unknown> = {};
    for (const [mime, value] of Object.entries(cleaned.data)) {
      const split = mime.startsWith("text/") || SPLIT_MIME_TYPES.has(mime);
      data[mime] = split && (typeof value === "string" || Array.isArray(value))
        ? splitLines(value as string | string[])
        : value;
    }
    cleaned.data = data;
  }
  return cleaned;
}

function uniqueId(id: string | undefined, index: number, used: Set<string>): string {
  let chosen = id !== undefined && CELL_ID.test(id) && !used.has(id) ? id : `cell-${index}`;
  for (let k = 1; used.has(chosen); k++) chosen = `cell-${index}-${k}`;
  used.add(chosen);
  return chosen;
}

// Like Python's str.splitlines(True) on "\n": every line keeps its newline.
function splitLines(text: string | string[]): string[] {
  const joined = joinText(text);
  if (joined === "") return [];
  return joined.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function joinText(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join("") : text ?? "";
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isRecord(value)) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key]);
  return sorted;
}

function pick(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (key in record) picked[key] = structuredClone(record[key]);
  return picked;
}

function omit(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (!keys.includes(key)) kept[key] = structuredClone(value);
  }
  return kept;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");
}

function indent(text: string): string {
  return text.split("\n").map((line) => `    ${line}`).join("\n");
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines[lines.length - 1] ?? "";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
