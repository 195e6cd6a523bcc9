import { shownPath } from "../lib/common/format.ts";
import { assertEquals } from "./assert.ts";

Deno.test("shownPath() gives paths inside the project relative to its root, others as they are", () => {
  const results = new URL("../data/results/", import.meta.url).pathname; // ends in "/"
  assertEquals(shownPath(`${results}/frontier`), "data/results/frontier");
  assertEquals(
    shownPath(`${results}exports/small-net/model.json`),
    "data/results/exports/small-net/model.json",
  );
  assertEquals(shownPath("/tmp/elsewhere//x"), "/tmp/elsewhere/x");
});
