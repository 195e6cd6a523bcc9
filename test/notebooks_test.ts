/**
 * Runs every notebook in notebooks/ (and the sample fixture) top to bottom with the real
 * Deno kernel on the smoke preset, and checks that it shows no error and at least the
 * outputs notebooks/expected_outputs.json lists for it. Needs Jupyter and the Deno kernel
 * ("deno task setup"); SIZEWISE_SKIP_NOTEBOOKS=1 skips the runs.
 */
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals } from "./assert.ts";
import {
  executeNotebook,
  type ExpectedOutputs,
  jupyterProblem,
  listNotebooks,
  notebookProblems,
  outputMimeCounts,
  readExpectedOutputs,
  readNotebook,
  writeNotebook,
} from "../scripts/common/notebooks.ts";

const ROOT = resolve(fileURLToPath(new URL("../", import.meta.url)));
const NOTEBOOK_DIR = join(ROOT, "notebooks");
const MANIFEST = join(NOTEBOOK_DIR, "expected_outputs.json");
const SAMPLE = join(ROOT, "test", "fixtures", "sample.ipynb");
const SKIP = Deno.env.get("SIZEWISE_SKIP_NOTEBOOKS") === "1";

const notebooks = [SAMPLE, ...await listNotebooks(NOTEBOOK_DIR)];

/** The manifest's key for a notebook: its path relative to the manifest's folder. */
function manifestKey(path: string): string {
  return relative(dirname(MANIFEST), path);
}

let problem: Promise<string | undefined> | undefined;

// Fails (never skips silently) when the notebooks cannot run here.
async function requireJupyter(): Promise<void> {
  const found = await (problem ??= jupyterProblem());
  if (found !== undefined) {
    throw new Error(`${found}. (SIZEWISE_SKIP_NOTEBOOKS=1 skips the notebook tests.)`);
  }
}

Deno.test("notebooks/expected_outputs.json names only notebooks that exist", async () => {
  const manifest: ExpectedOutputs = await readExpectedOutputs(MANIFEST);
  const known = new Set(notebooks.map(manifestKey));
  assertEquals(
    Object.keys(manifest).filter((key) => !known.has(key)),
    [],
    `${MANIFEST} has entries for notebooks that do not exist (renamed?)`,
  );
});

for (const path of notebooks) {
  const key = manifestKey(path);
  Deno.test({
    name: `${key} runs top to bottom on the smoke preset with its expected outputs`,
    ignore: SKIP,
    async fn() {
      await requireJupyter();
      const expected = (await readExpectedOutputs(MANIFEST))[key];
      const outputDir = await Deno.makeTempDir({ prefix: "sizewise-notebook-" });
      const resultsDir = await Deno.makeTempDir({ prefix: "sizewise-results-" });
      try {
        const run = await executeNotebook(path, {
          outputDir,
          env: { SIZEWISE_PRESET: "smoke", SIZEWISE_RESULTS: resultsDir },
          cellTimeoutSeconds: 600,
        });
        const notebook = await readNotebook(run.outputPath);
        const problems = notebookProblems(notebook, expected);
        const counts = JSON.stringify(outputMimeCounts(notebook));
        if (expected === undefined) {
          // Checked after the run, so that the message can show what the notebook produced.
          problems.push(`${MANIFEST} has no entry for "${key}"; add the outputs it must show`);
        }
        if (problems.length > 0) {
          throw new Error(
            `${key} (smoke preset, ${run.seconds.toFixed(1)} s):\n${problems.join("\n")}\n` +
              `outputs it showed: ${counts}`,
          );
        }
      } finally {
        await Deno.remove(outputDir, { recursive: true });
        await Deno.remove(resultsDir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "executeNotebook() keeps the outputs the Deno kernel sends after reporting idle",
  ignore: SKIP,
  async fn() {
    await requireJupyter();
    // Cells that await before their value lose it most often under plain nbconvert
    // (25 of 40 here with Deno 2.9.6).
    const cellCount = 20;
    const dir = await Deno.makeTempDir({ prefix: "sizewise-late-output-" });
    try {
      const path = join(dir, "late_output.ipynb");
      await writeNotebook(path, {
        cells: Array.from({ length: cellCount }, (_, index) => ({
          cell_type: "code",
          id: `cell-${index}`,
          execution_count: null,
          metadata: {},
          source: `await new Promise((resolve) => setTimeout(resolve, 5));\n${index}`,
          outputs: [],
        })),
        metadata: { kernelspec: { display_name: "Deno", language: "typescript", name: "deno" } },
        nbformat: 4,
        nbformat_minor: 5,
      });
      const run = await executeNotebook(path, { outputDir: join(dir, "out") });
      const notebook = await readNotebook(run.outputPath);
      assertEquals(
        notebook.cells.map((cell) => cell.outputs?.length),
        Array(cellCount).fill(1),
        "every cell shows its value",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "executeNotebook() of a failing notebook keeps its executed copy and says where",
  ignore: SKIP,
  async fn() {
    await requireJupyter();
    const dir = await Deno.makeTempDir({ prefix: "sizewise-failing-" });
    try {
      const path = join(dir, "failing.ipynb");
      const cell = (index: number, source: string) => ({
        cell_type: "code",
        id: `cell-${index}`,
        execution_count: null,
        metadata: {},
        source,
        outputs: [],
      });
      await writeNotebook(path, {
        cells: [cell(0, "6 * 7"), cell(1, 'throw new Error("planted failure")'), cell(2, "1")],
        metadata: { kernelspec: { display_name: "Deno", language: "typescript", name: "deno" } },
        nbformat: 4,
        nbformat_minor: 5,
      });
      const out = join(dir, "out");
      let message = "";
      try {
        await executeNotebook(path, { outputDir: out });
      } catch (error) {
        message = (error as Error).message;
      }
      const kept = join(out, "failing.partial.ipynb");
      assertEquals(
        message.includes(`The executed copy, as far as it ran, is kept in ${kept}`),
        true,
        message,
      );
      const notebook = await readNotebook(kept);
      assertEquals(notebook.cells[0].outputs?.length, 1, "the first cell ran");
      assertEquals(
        JSON.stringify(notebook.cells[1].outputs).includes("planted failure"),
        true,
        "the failing cell shows its error",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
