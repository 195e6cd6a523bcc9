/**
 * Renders one executed report page (`deno task report`'s HTML) in headless Chromium and
 * checks that its SVG charts are drawn with a non-zero size. Needs Jupyter with the Deno
 * kernel ("deno task setup") and Chromium; SIZEWISE_SKIP_BROWSER=1 (or
 * SIZEWISE_SKIP_NOTEBOOKS=1) skips it.
 */
import { basename, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { assert } from "./assert.ts";
import {
  convertToHtml,
  executeNotebook,
  jupyterProblem,
  listNotebooks,
  notebookProblems,
  outputMimeCounts,
  readExpectedOutputs,
  readNotebook,
} from "../scripts/common/notebooks.ts";

const ROOT = resolve(fileURLToPath(new URL("../", import.meta.url)));
const NOTEBOOK_DIR = join(ROOT, "notebooks");
const SAMPLE = join(ROOT, "test", "fixtures", "sample.ipynb");
const SKIP = Deno.env.get("SIZEWISE_SKIP_BROWSER") === "1" ||
  Deno.env.get("SIZEWISE_SKIP_NOTEBOOKS") === "1";
const BROWSERS = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
const RESULT_ID = "sizewise-svg-sizes";
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

Deno.test({
  name: "a report page's SVG charts are drawn, with their marks, in headless Chromium",
  ignore: SKIP,
  async fn() {
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

      const page = await convertToHtml(executed.outputPath, { outputDir: join(dir, "html") });
      const html = await Deno.readTextFile(page.outputPath);
      assert(html.includes("</body>"), `${page.outputPath} has no </body>`);
      await Deno.writeTextFile(
        page.outputPath,
        html.replace("</body>", `${MEASURE_SCRIPT}</body>`),
      );

      const dom = await dumpDom(browser, page.outputPath, join(dir, "profile"));
      const match = new RegExp(`<pre id="${RESULT_ID}">([^<]*)</pre>`).exec(dom);
      assert(match !== null, `the measuring script did not run in ${browser}`);
      const sizes = JSON.parse(match[1]) as [number, number, number][];
      assert(
        sizes.length >= chartCount,
        `${basename(path)}: ${chartCount} SVG outputs, but ${sizes.length} charts on the page`,
      );
      const empty = sizes
        .map(([width, height, marks], index) => ({ index, width, height, marks }))
        .filter(({ width, height, marks }) => !(width > 0 && height > 0 && marks >= 5));
      assert(
        empty.length === 0,
        `${basename(path)}: charts drawn without area or without marks ` +
          `(index, width, height, visible marks): ${JSON.stringify(empty)}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
