import { assert, assertEquals, assertMatch } from "./assert.ts";
import { formatProgress } from "../scripts/common/progress.ts";
import { formatDuration } from "../lib/common/format.ts";

Deno.test("formatDuration() writes seconds under a minute as seconds", () => {
  assertEquals(formatDuration(0), "0s");
  assertEquals(formatDuration(42), "42s");
  assertEquals(formatDuration(59.4), "59s");
});

Deno.test("formatDuration() writes minutes with two-digit seconds", () => {
  assertEquals(formatDuration(185), "3m 05s");
  assertEquals(formatDuration(60), "1m 00s");
  assertEquals(formatDuration(59.6), "1m 00s"); // rounds before it splits, never "60s"
});

Deno.test("formatDuration() writes hours with two-digit minutes", () => {
  assertEquals(formatDuration(3725), "1h 02m");
  assertEquals(formatDuration(3600), "1h 00m");
  assertEquals(formatDuration(26 * 3600), "26h 00m");
});

Deno.test("formatDuration() writes an unknown duration as ?", () => {
  assertEquals(formatDuration(NaN), "?");
  assertEquals(formatDuration(Infinity), "?");
  assertEquals(formatDuration(-1), "?");
});

Deno.test("formatProgress() halfway after 10 s shows a half-full bar, 50% and 10s left", () => {
  const line = formatProgress(5, 10, { elapsedSeconds: 10 });
  assertEquals(line, `[${"#".repeat(12)}${".".repeat(12)}]  50% 10s left`);
});

Deno.test("formatProgress() draws a bar exactly `width` characters wide", () => {
  for (const width of [1, 10, 40]) {
    for (const done of [0, 1, 3, 7]) {
      const line = formatProgress(done, 7, { elapsedSeconds: 1, width });
      const bar = line.match(/\[([#.]*)\]/)?.[1];
      assertEquals(bar?.length, width, line);
    }
  }
  assertEquals(
    formatProgress(3, 10, { elapsedSeconds: 3, width: 10 }).slice(0, 12),
    "[###.......]",
  );
});

Deno.test("formatProgress() puts the label first and estimates the time left from the rate so far", () => {
  const line = formatProgress(1, 4, { elapsedSeconds: 60, width: 4, label: "epoch 2/20" });
  assertEquals(line, "epoch 2/20 [#...]  25% 3m 00s left");
});

Deno.test("formatProgress() at the start knows no rate and says ? left", () => {
  assertEquals(formatProgress(0, 10, { elapsedSeconds: 0, width: 4 }), "[....]   0% ? left");
});

Deno.test("formatProgress() at the end shows a full bar, 100% and 0s left", () => {
  assertEquals(formatProgress(10, 10, { elapsedSeconds: 99, width: 4 }), "[####] 100% 0s left");
});

Deno.test("formatProgress() with a total of 0 does not throw and shows an empty bar", () => {
  const line = formatProgress(0, 0, { elapsedSeconds: 5, width: 4 });
  assertEquals(line, "[....]   0% ? left");
  assert(!line.includes("NaN"), line);
});

Deno.test("formatProgress() never overfills the bar when done passes total", () => {
  const line = formatProgress(12, 10, { elapsedSeconds: 12, width: 4 });
  assertMatch(line, /^\[####\] 100% /);
});
