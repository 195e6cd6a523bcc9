import { assertEquals, assertThrows } from "./assert.ts";
import { parseNumberOption, parsePositiveIntegers } from "../scripts/common/cli.ts";

Deno.test("parsePositiveIntegers() reads a comma-separated list and names the option on bad input", () => {
  assertEquals(parsePositiveIntegers("memory-batch", "16,8192"), [16, 8192]);
  for (const bad of ["16,", "0", "-4", "1.5", "abc", "16,x"]) {
    assertThrows(
      () => parsePositiveIntegers("memory-batch", bad),
      /--memory-batch takes positive integers, got "/,
      bad,
    );
  }
});

Deno.test("parseNumberOption() keeps undefined for a missing option and rejects text", () => {
  assertEquals(parseNumberOption("epochs", undefined), undefined);
  assertEquals(parseNumberOption("learning-rate", "5e-3"), 0.005);
  assertThrows(() => parseNumberOption("epochs", "many"), /--epochs must be a number, got "many"/);
  assertThrows(() => parseNumberOption("epochs", " "), /--epochs must be a number/);
});

Deno.test("scriptArgs() drops the '--' that deno task passes through, and only that one", async () => {
  const { scriptArgs } = await import("../scripts/common/cli.ts");
  assertEquals(scriptArgs(["--", "--model", "small-net"]), ["--model", "small-net"]);
  assertEquals(scriptArgs(["--model", "small-net"]), ["--model", "small-net"]);
  assertEquals(scriptArgs(["start", "--", "--preset", "smoke"], { subcommand: true }), [
    "start",
    "--preset",
    "smoke",
  ]);
  // A second "--" still separates what goes on to another program.
  assertEquals(scriptArgs(["start", "--", "--", "--port=8899"], { subcommand: true }), [
    "start",
    "--",
    "--port=8899",
  ]);
});
