/**
 * `deno task report` (scripts/report.ts). Its real run executes a notebook with the Deno
 * kernel (needs "deno task setup"); SIZEWISE_SKIP_NOTEBOOKS=1 skips that one.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { runScript } from "./cli_run.ts";

const SKIP_NOTEBOOKS = Deno.env.get("SIZEWISE_SKIP_NOTEBOOKS") === "1";

Deno.test("report --help lists its options", async () => {
  const { code, stdout } = await runScript("report.ts", ["--", "--help"]);
  assertEquals(code, 0);
  for (const option of ["--preset", "--notebooks", "--inplace", "--output-dir", "--cell-timeout"]) {
    assert(stdout.includes(option), option);
  }
});

Deno.test("report rejects a wrong option, timeout or notebook name in one line", async () => {
  for (
    const [args, message] of [
      [
        ["--cell-timeout", "0"],
        /--cell-timeout must be a whole number of seconds above 0, not "0"/,
      ],
      [["--cell-timeout", "soon"], /--cell-timeout must be a whole number/],
      [["--notebooks", "99"], /--notebooks: "99" matches no notebook; choose from 01_data\.ipynb/],
      [["--notebook", "01"], /Unknown option '--notebook'/],
    ] as const
  ) {
    const { code, stderr } = await runScript("report.ts", [...args]);
    assertEquals(code, 1, stderr);
    assertMatch(stderr, message);
    assert(!stderr.includes("    at "), `a clear message, not a stack trace: ${stderr}`);
  }
});

Deno.test({
  name: "report runs one notebook on the smoke preset into HTML, and leaves notebooks/ alone",
  ignore: SKIP_NOTEBOOKS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "sizewise-report-cli-" });
    const notebook = new URL("../notebooks/01_data.ipynb", import.meta.url);
    const before = await Deno.readTextFile(notebook);
    try {
      const args = ["--notebooks", "01", "--preset", "smoke", "--output-dir", join(dir, "html")];
      const { code, stdout, stderr } = await runScript("report.ts", args, {
        SIZEWISE_RESULTS: join(dir, "results"),
      });
      assertEquals(code, 0, stderr);
      assertMatch(stdout, /^Running 1 notebook\(s\), preset smoke:$/m);
      assertMatch(stdout, /01_data\.ipynb: ok in [\d.]+ s -> .*01_data\.html/);
      assertMatch(stdout, /All 1 notebook\(s\) ran without errors/);
      const html = await Deno.readTextFile(join(dir, "html", "01_data.html"));
      assertMatch(html, /<svg/); // its charts were drawn
      assertEquals(await Deno.readTextFile(notebook), before, "without --inplace");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
