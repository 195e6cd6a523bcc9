/**
 * Every number in a notebook's markdown cells must be one nothing can drift from: an article
 * figure, a model's parameter count, the article's schedule, a chapter number, a year, a list
 * marker, or one of the short allow-list below (each with its reason). A number that depends on
 * a result belongs in a code cell (`sw.markdown`), where it is computed from the result.
 */
import { assertEquals } from "./assert.ts";
import { ARTICLE_CONFIG } from "../lib/training/config.ts";
import { ARTICLE_FIGURES, RULE_OF_THUMB } from "../lib/models/article.ts";
import { studySettings } from "../lib/training/presets.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { buildModel, MODEL_NAMES } from "../lib/models/registry.ts";
import { summarizeModel } from "../lib/models/summary.ts";

await initBackend();

// Notebooks another change is rewriting now, each with why; remove one when it lands.
const PENDING: Record<string, string> = {};

const NOTEBOOK_DIR = new URL("../notebooks/", import.meta.url);

// Facts that no run can change, each group with its reason. Kept short on purpose.
const ALLOWED: { numbers: string[]; reason: string }[] = [
  {
    numbers: ["784", "28", "28x28", "60,000", "10,000", "70,000", "10", "55,000", "5,000"],
    reason: "MNIST itself: pixels, image side, training, test and all images, classes, and " +
      "the validation split (lib/data/mnist.ts VALIDATION_SIZE) with what it leaves to train on",
  },
  {
    numbers: ["3x3", "5x5", "2x2", "4x4x20", "26x26", "24x24", "320", "50", "512", "32", "64"],
    reason: "architecture: kernel and map sizes, the PyTorch example's dense layers, the MLP's " +
      "512 units and the CNN's 32 and 64 filters, all fixed by the builders",
  },
  {
    numbers: ["598", "130", "25", "95%"],
    reason: "the 5x5 reading of Small Net's first conv ((25 + 1) x 5 = 130, 598 in all), and " +
      "the 95% line the article's search for Small Net aimed at",
  },
  {
    numbers: ["128", "1024", "8192", "3,750"],
    reason: "the batch study's batch sizes (presets) and 60,000 / 16 steps per epoch at batch 16",
  },
  {
    numbers: ["32", "11", "2,048", "127", "-127", "256", "4x"],
    reason: "number formats: float32, float16's 11 significant bits (1 part in 2,048), int8's " +
      "range, uint8's 256 levels, and 4x: 32 bits to 8 (or batch 16 to 64)",
  },
  {
    numbers: ["200", "95", "95th", "20", "1,000"],
    reason: "measurement settings: 200 latency predictions after 20 warm-ups, the 95th " +
      "percentile, inference batches of 1,000 (lib/measure/deploy.ts, cost.ts)",
  },
  {
    numbers: ["1x1", "16", "4,608", "144", "656"],
    reason: "a depthwise-separable block's arithmetic: a 3x3 conv from 16 to 32 channels has " +
      "3 x 3 x 16 x 32 = 4,608 weights, its separable twin 3 x 3 x 16 + 16 x 32 = 144 + 512 = 656",
  },
  {
    numbers: ["4.30"],
    reason: "Student's t at 95% with 2 degrees of freedom (3 seeds): a table value",
  },
  {
    numbers: ["100", "100x", "0.1", "0.2", "0.4", "100,000"],
    reason: "round figures of a sentence: 'x100 fewer MACs', the learning-rate cap 0.1 and the " +
      "rates that failed (lib/studies/batch_study.ts), the rule of thumb's about 100,000",
  },
];

/** Every number written in the article's terms: percentages, counts, seconds, MB, schedule. */
function articleNumbers(): Set<string> {
  const out = new Set<string>();
  const add = (value: number | undefined) => {
    if (value === undefined) return;
    out.add(String(value));
    out.add(value.toLocaleString("en-US"));
  };
  for (const figures of Object.values(ARTICLE_FIGURES)) {
    out.add(`${(figures.testAccuracy * 100).toFixed(2)}%`);
    add(figures.testLoss);
    add(figures.trainableParams);
    out.add((figures.trainableParams / 1e6).toFixed(1)); // "1.2 million parameters"
    add(figures.weightMB);
    add(figures.cpuSecondsPerEpoch);
    add(figures.cpuInferenceSeconds);
    add(figures.gpuMemoryMB?.batch16);
    add(figures.gpuMemoryMB?.batch8192);
    if (figures.authorsClaim) {
      out.add(`${(figures.authorsClaim.testAccuracy * 100).toFixed(2)}%`);
      add(figures.authorsClaim.numEpochs);
    }
  }
  // The schedule: 0.005 then 0.0005 from epoch 11 and 0.00005 from 16, batch 16, 20 epochs, 0.9.
  for (const value of [ARTICLE_CONFIG.learningRate, ARTICLE_CONFIG.momentum]) add(value);
  out.add("0.005").add("0.0005").add("0.00005");
  add(ARTICLE_CONFIG.batchSize);
  add(ARTICLE_CONFIG.numEpochs);
  for (const drop of ARTICLE_CONFIG.learningRateDrops) add(drop.fromEpoch);
  add(RULE_OF_THUMB.lowerBound);
  add(studySettings("article").largeMemoryBatch);
  // About 99%: the article's accuracies rounded; and the gaps between them (0.3 points).
  const accuracies = Object.values(ARTICLE_FIGURES).map((f) => f.testAccuracy * 100);
  for (const a of accuracies) {
    out.add(`${a.toFixed(0)}%`);
    for (const b of accuracies) {
      if (a <= b) continue;
      for (const digits of [1, 2]) {
        out.add((a - b).toFixed(digits));
        out.add(`${(a - b).toFixed(digits)}%`);
      }
    }
  }
  return out;
}

/**
 * Ratios of facts no run changes, computed from the builders: parameter counts and MACs per
 * image between models, and parameters against MNIST's observations ("55x smaller", "18x the
 * MACs", "20x more parameters than training images").
 */
function architectureRatios(): Set<string> {
  const out = new Set<string>();
  const summaries = MODEL_NAMES.map((name) => {
    const model = buildModel(name);
    const summary = summarizeModel(model);
    model.dispose();
    return summary;
  });
  const add = (ratio: number) => {
    for (const text of [ratio.toFixed(0), ratio.toFixed(1)]) out.add(`${text}x`).add(text);
  };
  for (const a of summaries) {
    add(a.trainableParams / RULE_OF_THUMB.observations);
    for (const b of summaries) {
      if (a === b) continue;
      if (a.trainableParams > b.trainableParams) add(a.trainableParams / b.trainableParams);
      if (a.macs > b.macs) add(a.macs / b.macs);
    }
  }
  return out;
}

/** The numbers of a markdown text that are not allowed, with a little context each. */
export function unexplainedNumbers(markdown: string, allowed: Set<string>): string[] {
  const text = markdown
    .replace(/```[\s\S]*?```/g, " ") // fenced code
    .replace(/`[^`]*`/g, " ") // inline code: commands and names
    .replace(/\]\([^)]*\)/g, "]") // link targets: file names
    .replace(/^\s*#+\s*\d+\.\s/gm, " ") // "# 3. Training": the chapter heading
    .replace(/^\s*\d+\.\s/gm, " ") // list markers
    .replace(/\[\d+\.\s/g, "[") // "[4. What each model costs]": chapter links
    .replace(/\b(?:notebooks?|chapters?)\s+\d+(?:\s*(?:,|and|to|-)\s*\d+)*/gi, " ")
    .replace(/\b(?:19|20)\d\d\b/g, " "); // years
  const found: string[] = [];
  // A number starts a word: "SHA-256" and "x10" are names, not figures.
  for (const match of text.matchAll(/(?<![\w.-])-?\d[\d,]*(?:\.\d+)?(?:x\d+)*(?:x\b|%|th\b)?/g)) {
    const token = match[0].replace(/,$/, "");
    if (allowed.has(token)) continue;
    // Small whole numbers are counts in a sentence ("3 seeds", "5 filters", "two 3x3 convs").
    if (/^\d$/.test(token)) continue;
    const at = match.index ?? 0;
    found.push(`${token} in "…${text.slice(Math.max(0, at - 30), at + 30).replace(/\s+/g, " ")}…"`);
  }
  return found;
}

const allowed = new Set([
  ...articleNumbers(),
  ...architectureRatios(),
  ...ALLOWED.flatMap((entry) => entry.numbers),
]);

Deno.test("unexplainedNumbers() flags a result-dependent number and lets facts through", () => {
  assertEquals(unexplainedNumbers("The article: 99.26% with 1,199,882 parameters.", allowed), []);
  assertEquals(unexplainedNumbers("Next: [4. What each model costs](04_cost.ipynb)", allowed), []);
  assertEquals(unexplainedNumbers("1. load\n2. train, as in notebook 5 (2017)", allowed), []);
  assertEquals(unexplainedNumbers("Run `deno task train -- --epochs 3`.", allowed), []);
  assertEquals(unexplainedNumbers("it reaches 92.73% here", allowed).length, 1);
  assertEquals(unexplainedNumbers("about 1.45x faster", allowed).length, 1);
  assertEquals(unexplainedNumbers("12.2x less", allowed).length, 1);
  assertEquals(
    unexplainedNumbers("its SHA-256 and 55x fewer parameters, 0.30 points", allowed),
    [],
  );
});

for await (const entry of Deno.readDir(NOTEBOOK_DIR)) {
  if (!entry.name.endsWith(".ipynb")) continue;
  Deno.test({
    name: `${entry.name}: every number in its markdown is computed, an article figure or allowed`,
    ignore: entry.name in PENDING,
    fn: async () => {
      const notebook = JSON.parse(await Deno.readTextFile(new URL(entry.name, NOTEBOOK_DIR)));
      const problems = notebook.cells
        .filter((cell: { cell_type: string }) => cell.cell_type === "markdown")
        .flatMap((cell: { id?: string; source: string[] | string }) =>
          unexplainedNumbers([cell.source].flat().join(""), allowed).map((p) => `${cell.id}: ${p}`)
        );
      // Move each into a code cell (sw.markdown) computed from the result, or to the allow-list
      // above with its reason if it is a fact no run can change.
      assertEquals(problems, []);
    },
  });
}
