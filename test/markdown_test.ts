import { assertEquals, assertThrows } from "./assert.ts";
import { formatTable } from "../lib/common/markdown.ts";

Deno.test("formatTable() writes a header, an alignment row and one line per row", () => {
  const table = formatTable(["model", "params", "passes"], [["pytorch", 21_840, "yes"], [
    "small-net",
    "518",
    "",
  ]], { align: ["l", "r", "c"] });
  assertEquals(table.split("\n"), [
    "| model | params | passes |",
    "| :- | -: | :-: |",
    "| pytorch | 21840 | yes |",
    "| small-net | 518 | |",
  ]);
});

Deno.test("formatTable() leaves columns unaligned by default and keeps an empty table's header", () => {
  assertEquals(formatTable(["a", "b"], []), "| a | b |\n| - | - |");
});

Deno.test("formatTable() rejects a row with the wrong number of cells, naming the row", () => {
  assertThrows(
    () => formatTable(["a", "b"], [["1", "2"], ["3"]]),
    /Table row 2 has 1 cells, the header 2; give one cell per column/,
  );
});
