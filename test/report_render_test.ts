/**
 * Renders one executed report page (`deno task report`'s HTML) in headless Chromium and
 * checks that its SVG charts are drawn with a non-zero size and fit an 800-px notebook column;
 * then does the same for a page of every wide chart at a realistic size. Needs Jupyter with the
 * Deno kernel ("deno task setup") and Chromium; SIZEWISE_SKIP_BROWSER=1 (or
 * SIZEWISE_SKIP_NOTEBOOKS=1) skips it.
 */
import { basename, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { assert } from "./assert.ts";
import { fakeSplit, history } from "./chart_inputs.ts";
import {
  convertToHtml,
  executeNotebook,
  jupyterProblem,
  listNotebooks,
  type Notebook,
  notebookProblems,
  outputMimeCounts,
  readExpectedOutputs,
  readNotebook,
  writeNotebook,
} from "../scripts/common/notebooks.ts";
import {
  plotAccuracyVsParams,
  plotBatchStudy,
  plotConfusionMatrix,
  plotCostBars,
  plotDigitGrid,
  plotLiveCurves,
  plotMisclassified,
  plotTrainingCurves,
  type SvgChart,
} from "../lib/plots/mod.ts";
import { MODEL_NAMES } from "../lib/models/registry.ts";

const ROOT = resolve(fileURLToPath(new URL("../", import.meta.url)));
const NOTEBOOK_DIR = join(ROOT, "notebooks");
const SAMPLE = join(ROOT, "test", "fixtures", "sample.ipynb");
const SKIP = Deno.env.get("SIZEWISE_SKIP_BROWSER") === "1" ||
  Deno.env.get("SIZEWISE_SKIP_NOTEBOOKS") === "1";
const BROWSERS = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
const RESULT_ID = "sizewise-svg-sizes";
// Jupyter Notebook's page gives an output about 800 px; a wider chart is cut off there.
const NOTEBOOK_COLUMN = 800;
// Wide enough that the page does not shrink a chart wider than NOTEBOOK_COLUMN (charts carry
// max-width: 100%), so that its drawn width is its own.
const WINDOW = "1600,1200";
// Runs once the page has loaded; writes [width, height] of every chart into the DOM.
const MEASURE_SCRIPT = `<script>
addEventListener("load", () => {
  const charts = [...document.querySelectorAll(".jp-OutputArea-output svg, .output_area svg")]
    .filter((svg) => !svg.parentElement.closest("svg"));
  // Size, and how many drawn shapes and texts are visible inside: an SVG stripped down to its
  // root element still has a size but draws nothing.
  const sizes = charts.map((svg) => {
    const box = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll("rect, path, circle, line, text, image")]
      .filter((mark) => {
        const r = mark.getBoundingClientRect();
        return r.width > 0 || r.height > 0;
      });
    return [box.width, box.height, marks.length];
  });
  const out = document.createElement("pre");
  out.id = "${RESULT_ID}";
  out.textContent = JSON.stringify(sizes);
  document.body.append(out);
});
</script>`;

/** The first notebook the manifest expects to show charts, else the sample fixture. */
async function chooseNotebook(): Promise<string> {
  const manifest = await readExpectedOutputs(join(NOTEBOOK_DIR, "expected_outputs.json"));
  for (const path of await listNotebooks(NOTEBOOK_DIR)) {
    if ((manifest[basename(path)]?.["image/svg+xml"] ?? 0) > 0) return path;
  }
  return SAMPLE;
}

/** The first browser found on PATH (or SIZEWISE_CHROMIUM), else undefined. */
async function findChromium(): Promise<string | undefined> {
  const fromEnv = Deno.env.get("SIZEWISE_CHROMIUM");
  for (const program of fromEnv ? [fromEnv] : BROWSERS) {
    try {
      const output = await new Deno.Command(program, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (output.success) return program;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return undefined;
}

/** Loads `htmlPath` in headless Chromium and returns the DOM after scripts ran. */
async function dumpDom(browser: string, htmlPath: string, profileDir: string): Promise<string> {
  const output = await new Deno.Command(browser, {
    args: [
      "--headless",
      "--no-sandbox", // Chromium refuses to run as root with its sandbox
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      `--user-data-dir=${profileDir}`,
      `--window-size=${WINDOW}`,
      "--virtual-time-budget=5000",
      "--dump-dom",
      pathToFileURL(htmlPath).href,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const dom = new TextDecoder().decode(output.stdout);
  if (!output.success || dom === "") {
    const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-10);
    throw new Error(`${browser} failed (exit code ${output.code}):\n${stderr.join("\n")}`);
  }
  return dom;
}

/** Jupyter and Chromium, or an error that says what to install. */
async function requireBrowser(): Promise<string> {
  const problem = await jupyterProblem();
  if (problem !== undefined) {
    throw new Error(`${problem}. (SIZEWISE_SKIP_BROWSER=1 skips this test.)`);
  }
  const browser = await findChromium();
  if (browser === undefined) {
    throw new Error(
      `Chromium is not installed (tried ${BROWSERS.join(", ")}; or set SIZEWISE_CHROMIUM): ` +
        `on Debian/Ubuntu run "apt-get install --no-install-recommends chromium". ` +
        `(SIZEWISE_SKIP_BROWSER=1 skips this test.)`,
    );
  }
  return browser;
}

/** A chart's size in the page and how many of its marks are visible. */
interface DrawnChart {
  index: number;
  width: number;
  height: number;
  marks: number;
}

/**
 * Converts an executed notebook to its HTML page, loads the page in `browser` and returns the
 * drawn size of every chart on it (at least `chartCount` of them).
 */
async function drawCharts(
  browser: string,
  notebookPath: string,
  options: { dir: string; chartCount: number },
): Promise<DrawnChart[]> {
  const { dir, chartCount } = options;
  const name = basename(notebookPath);
  const page = await convertToHtml(notebookPath, { outputDir: join(dir, "html") });
  const html = await Deno.readTextFile(page.outputPath);
  assert(html.includes("</body>"), `${page.outputPath} has no </body>`);
  await Deno.writeTextFile(page.outputPath, html.replace("</body>", `${MEASURE_SCRIPT}</body>`));

  const dom = await dumpDom(browser, page.outputPath, join(dir, "profile"));
  const match = new RegExp(`<pre id="${RESULT_ID}">([^<]*)</pre>`).exec(dom);
  assert(match !== null, `the measuring script did not run in ${browser}`);
  const sizes = JSON.parse(match[1]) as [number, number, number][];
  assert(
    sizes.length >= chartCount,
    `${name}: ${chartCount} SVG outputs, but ${sizes.length} charts on the page`,
  );
  return sizes.map(([width, height, marks], index) => ({ index, width, height, marks }));
}

/** Fails unless every chart has an area, at least 5 visible marks, and fits the column. */
function assertChartsDrawnAndFit(name: string, charts: DrawnChart[]): void {
  const empty = charts.filter(({ width, height, marks }) =>
    !(width > 0 && height > 0 && marks >= 5)
  );
  assert(
    empty.length === 0,
    `${name}: charts drawn without area or without marks ` +
      `(index, width, height, visible marks): ${JSON.stringify(empty)}`,
  );
  const tooWide = charts.filter(({ width }) => width > NOTEBOOK_COLUMN);
  assert(
    tooWide.length === 0,
    `${name}: charts wider than a ${NOTEBOOK_COLUMN}-px notebook column, cut off in Jupyter ` +
      `Notebook (index, width, height, visible marks): ${JSON.stringify(tooWide)}`,
  );
}

Deno.test({
  name:
    "a report page's SVG charts are drawn, with their marks, and fit an 800-px column in headless Chromium",
  ignore: SKIP,
  async fn() {
    const browser = await requireBrowser();
    const path = await chooseNotebook();
    const dir = await Deno.makeTempDir({ prefix: "sizewise-render-" });
    try {
      const executed = await executeNotebook(path, {
        outputDir: join(dir, "executed"),
        env: { SIZEWISE_PRESET: "smoke", SIZEWISE_RESULTS: join(dir, "results") },
        cellTimeoutSeconds: 600,
      });
      const notebook = await readNotebook(executed.outputPath);
      const problems = notebookProblems(notebook);
      assert(problems.length === 0, `${basename(path)}:\n${problems.join("\n")}`);
      const chartCount = outputMimeCounts(notebook)["image/svg+xml"] ?? 0;
      assert(chartCount > 0, `${basename(path)} showed no image/svg+xml output to render`);
      const charts = await drawCharts(browser, executed.outputPath, { dir, chartCount });
      assertChartsDrawnAndFit(basename(path), charts);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// ---- the wide charts, at the sizes the notebooks draw them

/** The widest charts the notebooks show, with inputs as large as theirs (notebooks 01-09). */
function wideCharts(): SvgChart[] {
  const split = fakeSplit(100);
  const models = [...MODEL_NAMES];
  const candidates = Array.from({ length: 60 }, (_, i) => ({
    model: `grid-conv${4 << (i % 4)}-dense${16 << (i % 5)}`,
    params: Math.round(400 * 1.2 ** i),
    accuracy: 0.9 + (i % 17) / 200,
  }));
  // notebook 07: misclassified(model, data.test, { limit: 12 })
  const mistakes = Array.from({ length: 12 }, (_, i) => ({
    index: i,
    label: split.labels[i],
    predicted: (split.labels[i] + 5) % 10,
    confidence: 0.99,
  }));
  return [
    plotDigitGrid(split, { count: 40, columns: 10 }),
    plotMisclassified(split, mistakes, { title: "keras-cnn's 12 most confident mistakes" }),
    plotAccuracyVsParams(candidates, {
      bands: [{ from: 784, to: 60_000, label: "rule of thumb" }],
      threshold: 0.95,
    }),
    plotCostBars(models.map((model, i) => ({ model, value: i === 1 ? null : 10 ** i })), {
      title: "Training memory at batch 8192",
      unit: "MB",
      log: true,
      reference: models.map((model, i) => ({ model, value: 2 * 10 ** i })),
    }),
    plotTrainingCurves(models.map((model) => ({ model, history: history(20, 0.98) }))),
    plotLiveCurves(history(12, 0.99), {
      model: "keras-cnn",
      numEpochs: 12,
      batchLosses: Array.from({ length: 45_000 }, (_, i) => 2 / (1 + i / 500)),
    }),
    plotBatchStudy(models.flatMap((model) =>
      [16, 64, 256, 1024, 8192].map((batchSize, k) => ({
        model,
        batchSize,
        trainSecondsPerFullEpoch: 100 / (k + 1),
        accuracy: 0.97 - k / 100,
        diverged: false,
      }))
    )),
    plotConfusionMatrix(
      Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => i === j ? 980 : 2)),
    ),
  ];
}

/** A notebook whose code cells show `charts` as a Deno kernel does: image/svg+xml results. */
function chartNotebook(charts: SvgChart[]): Notebook {
  return {
    cells: charts.map((chart, i) => ({
      cell_type: "code",
      id: `chart-${i}`,
      metadata: {},
      execution_count: i + 1,
      source: `chart${i};`,
      outputs: [{
        output_type: "execute_result",
        execution_count: i + 1,
        metadata: {},
        data: { "image/svg+xml": chart.outerHTML, "text/plain": "[object SVGSVGElement]" },
      }],
    })),
    metadata: {
      kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
      language_info: { name: "typescript" },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

Deno.test({
  name:
    "the gallery of mistakes and the other wide charts fit an 800-px column in headless Chromium",
  ignore: SKIP,
  async fn() {
    const browser = await requireBrowser();
    const dir = await Deno.makeTempDir({ prefix: "sizewise-render-" });
    try {
      const charts = wideCharts();
      const path = join(dir, "wide_charts.ipynb");
      await writeNotebook(path, chartNotebook(charts));
      const drawn = await drawCharts(browser, path, { dir, chartCount: charts.length });
      assertChartsDrawnAndFit("wide_charts.ipynb", drawn);
      // The page did not shrink them: each is drawn at the width it asks for.
      for (const chart of drawn) {
        const asked = Number(charts[chart.index].getAttribute("width"));
        assert(
          Math.abs(chart.width - asked) < 1,
          `chart ${chart.index}: ${chart.width} px, asked ${asked}`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
