import { assert, assertEquals, assertThrows } from "./assert.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  PRESET_NAMES,
  PRESET_SETTINGS,
  presetSettings,
  studySettings,
} from "../lib/training/presets.ts";
import { makeConfig, PRESETS } from "../lib/training/config.ts";
import { DEFAULT_PRESET } from "../lib/common/settings.ts";
import { MODEL_NAMES } from "../lib/models/registry.ts";
import { SEARCH_SPACE_NAMES, searchBudget, searchSpaceFor } from "../lib/studies/search.ts";
import { batchSizesFor, batchStudyConfig } from "../lib/studies/batch_study.ts";
import { frontierCandidate, frontierSpaceNamed } from "../lib/studies/frontier_spaces.ts";
import { frontierBudget } from "../lib/studies/frontier.ts";
import { FRONTIER_BUDGET, steppedDrops } from "../lib/training/presets.ts";

Deno.test("the frontier budget: 55,000 training images, the 5,000 validation ones, all 10,000 test", () => {
  const budget = frontierBudget("article");
  assertEquals(
    [budget.trainSize, budget.validationSize, budget.testSize],
    [55_000, 5_000, 10_000],
  );
  assertEquals(budget.trainSize + budget.validationSize!, 60_000);
  // One recipe, from the presets: what the article preset's frontier budget says.
  assertEquals(
    [budget.batchSize, budget.learningRate, budget.numEpochs, budget.learningRateDrops],
    [
      FRONTIER_BUDGET.batchSize,
      FRONTIER_BUDGET.learningRate,
      FRONTIER_BUDGET.numEpochs,
      FRONTIER_BUDGET.learningRateDrops,
    ],
  );
  assertEquals(steppedDrops(0.05, 15), [
    { fromEpoch: 12, learningRate: 0.005 },
    { fromEpoch: 15, learningRate: 0.0005 },
  ]);
  assertEquals(steppedDrops(0.05, 1), []);
});

// Every study setting, written out by hand: a preset that lacks one fails here.
const STUDY_SETTINGS = [
  "batchStudy",
  "frontier",
  "largeMemoryBatch",
  "searchBudget",
  "searchSpace",
  "searchTourSpace",
  "seeds",
  "trainingSizes",
];

Deno.test("the presets are article, quick and smoke, and the default preset is one of them", () => {
  assertEquals(PRESET_NAMES, ["article", "quick", "smoke"]);
  assert(PRESET_NAMES.includes(DEFAULT_PRESET));
});

for (const preset of PRESET_NAMES) {
  Deno.test(`the ${preset} preset holds every study's settings, each one usable`, () => {
    const settings = presetSettings(preset);
    assert(settings.description.length > 0, "a description");
    assertEquals(Object.keys(settings.studies).sort(), STUDY_SETTINGS);
    const studies = settings.studies;
    assert(SEARCH_SPACE_NAMES.includes(studies.searchSpace), studies.searchSpace);
    assert(SEARCH_SPACE_NAMES.includes(studies.searchTourSpace), studies.searchTourSpace);
    searchBudget(preset); // a checked config, or it throws
    assert(studies.batchStudy.batchSizes.length > 0);
    for (const batchSize of studies.batchStudy.batchSizes) {
      // Checked too: every batch fits the study's training set.
      assertEquals(batchStudyConfig("pytorch", batchSize, { preset }).batchSize, batchSize);
    }
    assert(studies.seeds.length > 0 && new Set(studies.seeds).size === studies.seeds.length);
    assert(studies.seeds.every((seed) => Number.isInteger(seed) && seed >= 0));
    assert(Number.isInteger(studies.largeMemoryBatch) && studies.largeMemoryBatch > 16);
    for (const model of MODEL_NAMES) makeConfig(model, { preset });
    // The frontier: its spaces exist, its budget is a checked config with a validation split,
    // its sweep names candidates of its space, and every seed differs.
    const frontier = studies.frontier;
    const space = frontierSpaceNamed(frontier.space);
    frontierSpaceNamed(frontier.tourSpace);
    const budget = frontierBudget(preset);
    assert(budget.validationSize! > 0, "the frontier chooses on a validation split");
    for (const name of frontier.sweep.candidates) frontierCandidate(space, name);
    for (const recipe of frontier.sweep.recipes) frontierBudget(preset, recipe);
    assert(frontier.seeds.length >= 3 && new Set(frontier.seeds).size === frontier.seeds.length);
  });
}

Deno.test("each preset keeps the study settings the studies used before they moved here", () => {
  const seen = Object.fromEntries(PRESET_NAMES.map((preset) => {
    const s = studySettings(preset);
    return [preset, [s.searchSpace, s.searchTourSpace, s.seeds, s.largeMemoryBatch]];
  }));
  assertEquals(seen, {
    article: ["default", "tour", [0, 1, 2], 8192],
    quick: ["default", "tour", [0, 1, 2], 8192],
    smoke: ["smoke", "smoke", [0, 1], 512],
  });
  const { model: _, ...articleSchedule } = makeConfig("small-net", { preset: "article" });
  assertEquals(searchBudget("article"), articleSchedule);
  const quick = searchBudget("quick");
  assertEquals(
    [quick.trainSize, quick.testSize, quick.numEpochs, quick.learningRate, quick.learningRateDrops],
    [30_000, 10_000, 3, 0.1, [{ fromEpoch: 3, learningRate: 0.01 }]],
  );
  const smoke = searchBudget("smoke");
  assertEquals(
    [smoke.trainSize, smoke.testSize, smoke.evalBatchSize, smoke.numEpochs, smoke.learningRate],
    [256, 128, 128, 2, 0.1],
  );
  assertEquals(smoke.learningRateDrops, []);
  assertEquals(searchSpaceFor("smoke").filters1, [2, 3, 4]);
  assertEquals(batchSizesFor("article"), [16, 128, 1024, 8192]);
  const quickBatch = batchStudyConfig("pytorch", 16, { preset: "quick" });
  // Issue 15 item 6: 5 epochs at every batch size (was 1: one step at 8192, a step count study).
  assertEquals([quickBatch.trainSize, quickBatch.testSize, quickBatch.numEpochs], [8192, 2000, 5]);
});

Deno.test("PRESETS is each preset's training part", () => {
  assertEquals(Object.keys(PRESETS), [...PRESET_NAMES]);
  for (const preset of PRESET_NAMES) {
    assertEquals(PRESETS[preset], PRESET_SETTINGS[preset].training);
  }
});

Deno.test("an unknown preset is rejected everywhere with the list of presets", () => {
  const message = /Unknown preset "fast"; choose one of: article, quick, smoke/;
  assertThrows(() => presetSettings("fast"), message);
  assertThrows(() => studySettings("fast"), message);
  assertThrows(() => makeConfig("pytorch", { preset: "fast" }), message);
  assertThrows(() => searchBudget("fast"), message);
  assertThrows(() => searchSpaceFor("fast"), message);
  assertThrows(() => batchSizesFor("fast"), message);
  assertThrows(() => batchStudyConfig("pytorch", 16, { preset: "fast" }), message);
  // Object's own properties are not presets either.
  assertThrows(() => presetSettings("toString"), /Unknown preset "toString"/);
});

Deno.test("presetSettings() returns a copy: editing it changes no preset", () => {
  const settings = presetSettings("quick");
  settings.studies.seeds.push(99);
  settings.studies.batchStudy.batchSizes.length = 0;
  settings.training.numEpochs = 50;
  assertEquals(studySettings("quick").seeds, [0, 1, 2]);
  assertEquals(batchSizesFor("quick"), [16, 128, 1024, 8192]);
  assertEquals(makeConfig("pytorch", { preset: "quick" }).numEpochs, 2);
});

Deno.test("no code in lib/ or scripts/ asks which preset it is on", () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const asking: string[] = [];
  const scan = (dir: string) => {
    for (const entry of Deno.readDirSync(join(root, dir))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) scan(path);
      else if (entry.name.endsWith(".ts")) {
        const text = Deno.readTextFileSync(join(root, path));
        for (const match of text.matchAll(/preset\w*\s*[!=]==?\s*"\w+"/gi)) {
          asking.push(`${path}: ${match[0]}`);
        }
      }
    }
  };
  scan("lib");
  scan("scripts");
  assertEquals(asking, []);
});
