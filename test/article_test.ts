import { assertEquals } from "./assert.ts";
import { MNIST_TRAIN_SIZE } from "../lib/training/config.ts";
import { ARTICLE_FIGURES, formatRuleOfThumb, RULE_OF_THUMB } from "../lib/models/article.ts";
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
