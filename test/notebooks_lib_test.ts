import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import {
  cleanNotebook,
  denoKernelProgram,
  formatNotebook,
  listNotebooks,
  missingOutputs,
  nbconvertFailure,
  type Notebook,
  notebookErrors,
  notebookProblems,
  outputMimeCounts,
  parseExpectedOutputs,
  parseNotebook,
  readNotebook,
  writeNotebook,
} from "../scripts/common/notebooks.ts";

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>';

// A notebook as nbconvert leaves it after a run, with the volatile parts cleaning removes.
function executedNotebook(): Notebook {
  return {
    cells: [
      { cell_type: "markdown", metadata: {}, source: "# Title\n\nText." },
      {
        cell_type: "code",
        id: "load",
        execution_count: 7,
        metadata: {
          execution: {
            "iopub.execute_input": "2026-11-29T16:44:08.995000Z",
            "iopub.status.idle": "2026-11-29T16:44:08.999000Z",
          },
          ExecuteTime: { end_time: "2026-11-29T16:44:09" },
          tags: ["keep-me"],
        },
        source: "const x = 1;\nx",
        outputs: [
          { output_type: "stream", name: "stdout", text: "line 1\nline 2\n" },
          {
            output_type: "execute_result",
            execution_count: 7,
            metadata: {},
            data: { "text/plain": "\u001b[33m1\u001b[39m" },
          },
        ],
      },
      {
        cell_type: "code",
        id: "load", // a duplicate id: must be replaced
        execution_count: 12,
        metadata: { scrolled: true },
        source: ["chart"],
        outputs: [
          { output_type: "display_data", metadata: {}, data: { "image/svg+xml": SVG } },
          {
            output_type: "execute_result",
            execution_count: 12,
            metadata: {},
            data: { "text/markdown": "**bold**", "text/plain": "bold" },
          },
        ],
      },
      { cell_type: "code", execution_count: null, metadata: {}, source: "", outputs: [] },
    ],
    metadata: {
      kernelspec: { display_name: "Deno", language: "typescript", name: "deno", env: { A: "1" } },
      language_info: {
        codemirror_mode: "typescript",
        file_extension: ".ts",
        mimetype: "text/x.typescript",
        name: "typescript",
        nbconvert_exporter: "script",
        pygments_lexer: "typescript",
        version: "6.0.3",
      },
      widgets: { "application/vnd.jupyter.widget-state+json": { state: {} } },
      papermill: { start_time: "2026-11-29T16:44:00" },
      vscode: { interpreter: { hash: "abc" } },
      title: "Sample",
    },
    nbformat: 4,
    nbformat_minor: 4,
  };
}

function notebookWithOutputs(...outputs: Notebook["cells"][number]["outputs"][]): Notebook {
  return {
    cells: outputs.map((cellOutputs, index) => ({
      cell_type: "code",
      id: `c${index}`,
      execution_count: index + 1,
      metadata: {},
      source: "",
      outputs: cellOutputs,
    })),
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5,
  };
}

Deno.test("listNotebooks() lists NN_*.ipynb files sorted by name, and nothing for a missing folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const names = ["10_last.ipynb", "01_data.ipynb", "02_models.ipynb", "sample.ipynb"];
    for (const name of [...names, "3_short.ipynb", "01_data.ipynb.bak", "expected.json"]) {
      await Deno.writeTextFile(join(dir, name), "{}");
    }
    await Deno.mkdir(join(dir, "04_folder.ipynb"));
    assertEquals(await listNotebooks(dir), [
      join(dir, "01_data.ipynb"),
      join(dir, "02_models.ipynb"),
      join(dir, "10_last.ipynb"),
    ]);
    assertEquals(await listNotebooks(join(dir, "missing")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseNotebook() rejects invalid JSON and non-nbformat-4 files, naming the file", () => {
  assertThrows(() => parseNotebook("{", "broken.ipynb"), /Cannot parse notebook broken\.ipynb/);
  assertThrows(
    () => parseNotebook('{"nbformat": 3, "worksheets": []}', "old.ipynb"),
    /old\.ipynb: expected nbformat 4/,
  );
  const notebook = parseNotebook('{"nbformat": 4, "cells": []}', "bare.ipynb");
  assertEquals(notebook.metadata, {});
  assertEquals(notebook.cells, []);
});

Deno.test("notebookErrors() finds error outputs and uncaught errors written to stderr", () => {
  const notebook = notebookWithOutputs(
    [{ output_type: "stream", name: "stdout", text: "TypeError: only printed\n" }],
    [{
      output_type: "stream",
      name: "stderr",
      text: "\n====\nHi, looks like you are running TensorFlow.js in Node.js.\n====\n",
    }],
    [{
      output_type: "error",
      ename: "RangeError",
      evalue: "boom",
      traceback: ["\u001b[31mRangeError\u001b[0m: boom", "    at <anonymous>:1:28"],
    }],
    [{
      output_type: "stream",
      name: "stderr",
      text: ["epoch 1\n", "error: Uncaught (in promise) TypeError: x is not a function\n"],
    }],
    [{ output_type: "stream", name: "stderr", text: "Error: no data in data/mnist\n" }],
  );
  const errors = notebookErrors(notebook);
  assertEquals(errors.map((e) => [e.cellIndex, e.kind, e.ename, e.evalue]), [
    [2, "error", "RangeError", "boom"],
    [3, "stderr", "TypeError", "x is not a function"],
    [4, "stderr", "Error", "no data in data/mnist"],
  ]);
  assertEquals(errors[0].traceback, "RangeError: boom\n    at <anonymous>:1:28");
  assertEquals(errors[0].executionCount, 3);
  assertEquals(notebookErrors(notebookWithOutputs([])), []);
});

Deno.test("outputMimeCounts() counts rich outputs per MIME type, not streams or errors", () => {
  const notebook = executedNotebook();
  notebook.cells[1].outputs!.push({ output_type: "error", ename: "E", evalue: "", traceback: [] });
  assertEquals(outputMimeCounts(notebook), {
    "text/plain": 2,
    "image/svg+xml": 1,
    "text/markdown": 1,
  });
});

Deno.test("missingOutputs() lists each MIME type below its minimum", () => {
  const counts = { "image/svg+xml": 1, "text/markdown": 3 };
  assertEquals(missingOutputs(counts, { "image/svg+xml": 1, "text/markdown": 2 }), []);
  assertEquals(missingOutputs(counts, { "image/svg+xml": 2, "text/html": 1 }), [
    "image/svg+xml: expected at least 2, got 1",
    "text/html: expected at least 1, got 0",
  ]);
});

Deno.test("notebookProblems() reports errors and missing outputs together", () => {
  const notebook = notebookWithOutputs([
    { output_type: "error", ename: "TypeError", evalue: "bad", traceback: ["TypeError: bad"] },
  ]);
  const problems = notebookProblems(notebook, { "image/svg+xml": 1 });
  assertEquals(problems.length, 2);
  assertMatch(problems[0], /^cell 0 \[1\] raised: TypeError: bad/);
  assertMatch(problems[1], /too few outputs[\s\S]*image\/svg\+xml: expected at least 1, got 0/);
  assertEquals(notebookProblems(executedNotebook(), { "image/svg+xml": 1 }), []);
});

Deno.test("cleanNotebook() removes volatile metadata and keeps a minimal kernelspec", () => {
  const cleaned = cleanNotebook(executedNotebook());
  assertEquals(cleaned.metadata, {
    kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
    language_info: {
      codemirror_mode: "typescript",
      file_extension: ".ts",
      mimetype: "text/x.typescript",
      name: "typescript",
      nbconvert_exporter: "script",
      pygments_lexer: "typescript",
    },
    title: "Sample",
  });
  assertEquals(cleaned.cells[1].metadata, { tags: ["keep-me"] });
  assertEquals(cleaned.cells[2].metadata, {});
  assertEquals(cleaned.nbformat_minor, 5);
});

Deno.test("cleanNotebook() renumbers execution counts 1..n and gives every cell a unique id", () => {
  const cleaned = cleanNotebook(executedNotebook());
  assertEquals(cleaned.cells.map((cell) => cell.id), ["cell-0", "load", "cell-2", "cell-3"]);
  assertEquals(cleaned.cells.map((cell) => cell.execution_count), [undefined, 1, 2, null]);
  assertEquals(cleaned.cells[1].outputs![1].execution_count, 1);
  assertEquals(cleaned.cells[2].outputs![1].execution_count, 2);
  assert(!("execution_count" in cleaned.cells[0]), "markdown cells get no execution count");
});

Deno.test("cleanNotebook() keeps outputs, split into lines as Jupyter saves them", () => {
  const cleaned = cleanNotebook(executedNotebook());
  assertEquals(cleaned.cells[0].source, ["# Title\n", "\n", "Text."]);
  assertEquals(cleaned.cells[1].outputs, [
    { output_type: "stream", name: "stdout", text: ["line 1\n", "line 2\n"] },
    {
      output_type: "execute_result",
      execution_count: 1,
      metadata: {},
      data: { "text/plain": ["\u001b[33m1\u001b[39m"] },
    },
  ]);
  assertEquals(cleaned.cells[2].outputs![0].data, { "image/svg+xml": [SVG] });
  assertEquals(cleaned.cells[3].source, []);
});

Deno.test("cleanNotebook() is idempotent and leaves its input unchanged", () => {
  const original = executedNotebook();
  const once = cleanNotebook(original);
  assertEquals(cleanNotebook(once), once);
  assertEquals(formatNotebook(cleanNotebook(once)), formatNotebook(once));
  assertEquals(original, executedNotebook());
});

Deno.test("formatNotebook() writes sorted keys with a one-space indent and a final newline", () => {
  const text = formatNotebook({
    nbformat_minor: 5,
    nbformat: 4,
    metadata: { b: 1, a: "é" },
    cells: [],
  });
  assertEquals(
    text,
    '{\n "cells": [],\n "metadata": {\n  "a": "é",\n  "b": 1\n },\n "nbformat": 4,\n "nbformat_minor": 5\n}\n',
  );
});

Deno.test("writeNotebook() and readNotebook() round-trip without leaving temporary files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "01_round_trip.ipynb");
    const cleaned = cleanNotebook(executedNotebook());
    await writeNotebook(path, cleaned);
    assertEquals(await readNotebook(path), JSON.parse(formatNotebook(cleaned)));
    assertEquals(await Deno.readTextFile(path), formatNotebook(cleaned));
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assertEquals(names, ["01_round_trip.ipynb"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("denoKernelProgram() reads the deno kernel's program from `jupyter kernelspec list --json`", () => {
  const list = JSON.stringify({
    kernelspecs: {
      deno: {
        resource_dir: "/root/.local/share/jupyter/kernels/deno",
        spec: { argv: ["/usr/bin/deno", "jupyter", "--kernel", "--conn", "{connection_file}"] },
      },
      python3: { spec: { argv: ["/usr/bin/python3", "-m", "ipykernel_launcher"] } },
    },
  });
  assertEquals(denoKernelProgram(list), "/usr/bin/deno");
  assertEquals(denoKernelProgram(list, "python3"), "/usr/bin/python3");
  assertEquals(denoKernelProgram(list, "julia"), undefined);
  assertEquals(denoKernelProgram("not json"), undefined);
});

Deno.test("nbconvertFailure() keeps the failing cell and its error, not Python's stack", () => {
  const stderr = [
    "[NbConvertApp] Converting notebook 01_data.ipynb to notebook",
    "Traceback (most recent call last):",
    '  File "/usr/bin/jupyter-nbconvert", line 33, in <module>',
    "nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:",
    "------------------",
    'throw new RangeError("boom")',
    "------------------",
    "",
    "RangeError: boom",
  ].join("\n");
  assertEquals(
    nbconvertFailure(stderr),
    'An error occurred while executing the following cell:\n------------------\nthrow new RangeError("boom")\n------------------\n\nRangeError: boom',
  );
  const dead =
    "Traceback (most recent call last):\n  File x\nnbclient.exceptions.DeadKernelError: Kernel died\n";
  assertEquals(nbconvertFailure(dead), "nbclient.exceptions.DeadKernelError: Kernel died");
});

Deno.test("parseExpectedOutputs() accepts minimum counts and rejects anything else", () => {
  assertEquals(parseExpectedOutputs('{"01_data.ipynb": {"image/svg+xml": 2}}', "m.json"), {
    "01_data.ipynb": { "image/svg+xml": 2 },
  });
  assertThrows(() => parseExpectedOutputs("[]", "m.json"), /m\.json: not a JSON object/);
  assertThrows(
    () => parseExpectedOutputs('{"01_data.ipynb": {"image/svg+xml": -1}}', "m.json"),
    /expects -1 of image\/svg\+xml/,
  );
  assertThrows(() => parseExpectedOutputs('{"01_data.ipynb": 2}', "m.json"), /not an object/);
});

Deno.test("svgOutputsAsHtml() offers every chart as text/html too, and leaves the rest alone", async () => {
  const { svgOutputsAsHtml } = await import("../scripts/common/notebooks.ts");
  const svg = '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>';
  const nb = {
    cells: [
      { cell_type: "markdown", metadata: {}, source: "# title" },
      {
        cell_type: "code",
        metadata: {},
        source: "chart",
        outputs: [
          { output_type: "execute_result", data: { "image/svg+xml": svg }, metadata: {} },
          { output_type: "stream", name: "stdout", text: "hi" },
        ],
      },
    ],
    metadata: {},
    nbformat: 4,
    nbformat_minor: 5,
  };
  const copy = svgOutputsAsHtml(nb);
  const outputs = copy.cells[1].outputs!;
  assertEquals(outputs[0].data, { "image/svg+xml": svg, "text/html": svg });
  assertEquals(outputs[1], nb.cells[1].outputs![1]);
  assertEquals(copy.cells[0], nb.cells[0]);
  assertEquals(nb.cells[1].outputs![0].data, { "image/svg+xml": svg }, "the original is unchanged");
});
