import { assertEquals } from "./assert.ts";

const script = new URL("../scripts/report.ts", import.meta.url).pathname;

async function report(args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("report refuses an unknown preset before running any notebook", async () => {
  const flag = await report(["--", "--preset", "quik"]);
  assertEquals(flag.code, 1);
  assertEquals(
    flag.stderr.trim(),
    `Error: --preset: unknown preset "quik"; choose one of: article, quick, smoke`,
  );
  assertEquals(flag.stdout, "", "no notebook was started");
  const env = await report([], { SIZEWISE_PRESET: "quik" });
  assertEquals(env.code, 1);
  assertEquals(
    env.stderr.trim(),
    `Error: SIZEWISE_PRESET: unknown preset "quik"; choose one of: article, quick, smoke`,
  );
});

Deno.test("report rejects an unknown option in one line, without a stack trace", async () => {
  const { code, stderr } = await report(["--bogus"]);
  assertEquals(code, 1);
  assertEquals(stderr.trim(), "Error: Unknown option '--bogus'; see --help for the options");
});
