import { assertEquals } from "./assert.ts";
import { runScript } from "./cli_run.ts";

Deno.test("report refuses an unknown preset before running any notebook", async () => {
  const flag = await runScript("report.ts", ["--", "--preset", "quik"]);
  assertEquals(flag.code, 1);
  assertEquals(
    flag.stderr.trim(),
    `Error: --preset: unknown preset "quik"; choose one of: article, quick, smoke`,
  );
  assertEquals(flag.stdout, "", "no notebook was started");
  const env = await runScript("report.ts", [], { SIZEWISE_PRESET: "quik" });
  assertEquals(env.code, 1);
  assertEquals(
    env.stderr.trim(),
    `Error: SIZEWISE_PRESET: unknown preset "quik"; choose one of: article, quick, smoke`,
  );
});

Deno.test("report rejects an unknown option in one line, without a stack trace", async () => {
  const { code, stderr } = await runScript("report.ts", ["--bogus"]);
  assertEquals(code, 1);
  assertEquals(stderr.trim(), "Error: Unknown option '--bogus'; see --help for the options");
});
