/** Markdown tables for notebooks and the command line, from the markdown-table library. */
import { markdownTable } from "markdown-table";

/** Options of `formatTable`. */
export interface TableOptions {
  /** One per column: "l" left, "r" right (numbers), "c" centre; default left. */
  align?: ("l" | "r" | "c")[];
}

/** A GitHub-flavoured Markdown table: a header row, then one row per entry. */
export function formatTable(
  header: string[],
  rows: (string | number)[][],
  options: TableOptions = {},
): string {
  for (const [i, row] of rows.entries()) {
    if (row.length !== header.length) {
      throw new Error(
        `Table row ${
          i + 1
        } has ${row.length} cells, the header ${header.length}; give one cell per column`,
      );
    }
  }
  return markdownTable([header, ...rows.map((row) => row.map(String))], {
    align: options.align,
    alignDelimiters: false,
  });
}
