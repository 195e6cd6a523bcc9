import { assert, assertEquals, assertNotEquals } from "./assert.ts";
import { MNIST_TRAIN_SIZE } from "../lib/training/config.ts";
import {
  ARTICLE_FIGURES,
  ARTICLE_FIRST_EPOCH_CLAIM,
  type ArticleStatement,
  articleStatements,
  checkFirstEpochClaim,
  formatRuleOfThumb,
  RULE_OF_THUMB,
} from "../lib/models/article.ts";
import { loadReproduction } from "../lib/studies/reproduction.ts";
import { buildModel, MODEL_NAMES } from "../lib/models/registry.ts";
import { summarizeModel } from "../lib/models/summary.ts";
import { initBackend } from "../lib/backend/backend.ts";

await initBackend();

Deno.test("the article's figures cover the five models and match our parameter counts", () => {
  assertEquals(Object.keys(ARTICLE_FIGURES), [...MODEL_NAMES]);
  for (const name of MODEL_NAMES) {
    const model = buildModel(name);
    assertEquals(
      summarizeModel(model).trainableParams,
      ARTICLE_FIGURES[name].trainableParams,
      name,
    );
    model.dispose();
  }
});

Deno.test("the article's weight sizes are our float32 sizes in MB of 2^20 bytes", () => {
  for (const name of MODEL_NAMES) {
    const reported = ARTICLE_FIGURES[name].weightMB;
    if (reported === undefined) continue;
    const model = buildModel(name);
    assertEquals(summarizeModel(model).weightMB.toFixed(2), reported.toFixed(2), name);
    model.dispose();
  }
});

Deno.test("the rule of thumb's bounds are MNIST's features and observations", () => {
  assertEquals(RULE_OF_THUMB.features, 28 * 28);
  assertEquals(RULE_OF_THUMB.observations, MNIST_TRAIN_SIZE);
});

Deno.test("ruleOfThumbPosition() places counts below, inside and above 784 to 60,000", async () => {
  const { ruleOfThumbPosition } = await import("../lib/models/article.ts");
  assertEquals(ruleOfThumbPosition(518), "below");
  assertEquals(ruleOfThumbPosition(784), "inside");
  assertEquals(ruleOfThumbPosition(21_840), "inside");
  assertEquals(ruleOfThumbPosition(60_000), "inside");
  assertEquals(ruleOfThumbPosition(669_706), "above");
});

const FIXTURE: { statements: ArticleStatement[] } = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/article_statements.json", import.meta.url)),
);
const key = (s: ArticleStatement) => `${s.model} ${s.quantity} ${s.value}`;

Deno.test("every figure in ARTICLE_FIGURES is one the article gives that model, and none is missing", () => {
  const ours = articleStatements().map(key).sort();
  const article = FIXTURE.statements.map(key).sort();
  assertEquals(ours, article);
});

Deno.test("articleStatements() notices a figure moved to another model", () => {
  // The check above compares (model, quantity, value) triples, so a swap cannot pass it.
  const swapped = FIXTURE.statements.map((s) =>
    s.model === "pytorch" && s.quantity === "cpuSecondsPerEpoch" ? { ...s, model: "keras-mlp" } : s
  );
  assertNotEquals(swapped.map(key).sort(), articleStatements().map(key).sort());
});

// README's reproduction table: "ours / the article's" in each cell, "-" where it gives none.
function readmeReproductionRows(readme: string): Map<string, string[]> {
  const start = readme.indexOf("| model       | test accuracy");
  assert(start >= 0, "README's reproduction table not found");
  const rows = new Map<string, string[]>();
  for (const line of readme.slice(start).split("\n").slice(2)) {
    if (!line.startsWith("|")) break;
    const cells = line.split("|").slice(1, -1).map((cell) => cell.trim());
    rows.set(cells[0], cells);
  }
  return rows;
}

Deno.test("README's reproduction table gives each model exactly the article's figures", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const rows = readmeReproductionRows(readme);
  assertEquals([...rows.keys()], [...MODEL_NAMES]);
  const theirs = (cell: string) => cell.split(" / ")[1];
  const count = (value: number | undefined) =>
    value === undefined ? "-" : value.toLocaleString("en-US");
  for (const name of MODEL_NAMES) {
    const a = ARTICLE_FIGURES[name];
    const cells = rows.get(name)!;
    assertEquals(theirs(cells[1]), `${(a.testAccuracy * 100).toFixed(2)}%`, `${name} accuracy`);
    assertEquals(theirs(cells[2]), a.testLoss?.toFixed(4) ?? "-", `${name} test loss`);
    assertEquals(cells[3], count(a.trainableParams), `${name} params`);
    assertEquals(theirs(cells[4]), a.weightMB?.toFixed(2) ?? "-", `${name} weights`);
    assertEquals(theirs(cells[5]), count(a.cpuSecondsPerEpoch), `${name} s/epoch`);
    assertEquals(theirs(cells[6]), count(a.cpuInferenceSeconds), `${name} inference`);
    assertEquals(theirs(cells[7]), count(a.gpuMemoryMB?.batch16), `${name} memory @16`);
    assertEquals(theirs(cells[8]), count(a.gpuMemoryMB?.batch8192), `${name} memory @8192`);
  }
});

Deno.test("our full-schedule runs bear out the article's first-epoch claim (above 95% after epoch 1)", async () => {
  const reproduction = await loadReproduction();
  const firstEpoch = Object.fromEntries(
    ARTICLE_FIRST_EPOCH_CLAIM.models.map((m) => [m, reproduction[m]?.history[0].testAccuracy]),
  );
  const checked = checkFirstEpochClaim(firstEpoch);
  assertEquals(checked.map((c) => c.model), [...ARTICLE_FIRST_EPOCH_CLAIM.models]);
  for (const c of checked) assertEquals(c.passes, true, `${c.model}: ${c.accuracy}`);
  // and the check can fail: a model at 94% after one epoch does not pass
  assertEquals(checkFirstEpochClaim({ "keras-mlp": 0.94 })[0].passes, false);
  assertEquals(checkFirstEpochClaim({})[0].passes, undefined);
});

Deno.test("formatRuleOfThumb() places each model against the band, with its accuracy and run", () => {
  const table = formatRuleOfThumb([
    { model: "small-net", params: 518, accuracy: 0.9273, from: "full schedule" },
    { model: "pytorch", params: 21_840, accuracy: 0.9, from: "quick" },
    { model: "keras-cnn", params: 1_199_882, accuracy: 0.99, from: "quick" },
  ]);
  assertEquals(table.split("\n"), [
    "| model | parameters | against the band | accuracy | from |",
    "| :- | -: | :- | -: | :- |",
    "| small-net | 518 | below | 92.73% | full schedule |",
    "| pytorch | 21,840 | inside | 90.00% | quick |",
    "| keras-cnn | 1,199,882 | above | 99.00% | quick |",
  ]);
});
