import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { buildSmallConvNet, SMALL_NET_SPEC, smallConvNetName } from "../lib/models/builders.ts";
import { listResults, loadCheckpoint, resultKey } from "../lib/training/results.ts";
import {
  candidateConfig,
  candidateLabel,
  candidatesDir,
  checkSearchSpace,
  expandSearchSpace,
  formatCandidates,
  formatSearchSpace,
  paretoFront,
  runCandidate,
  SEARCH_SPACES,
  searchBudget,
  type SearchCandidate,
  searchMinimalModel,
  type SearchSpace,
  searchSpaceFor,
  searchSpaceNamed,
  smallConvNetParams,
  smallestPassing,
} from "../lib/studies/search.ts";
import { summarizeModel } from "../lib/models/summary.ts";

await initBackend("wasm");
// Three tiny candidates on 256 training images, two epochs each: the real code path in seconds.
const budget = searchBudget("smoke");
const space = searchSpaceFor("smoke");
const data = await loadMnist({ trainSize: budget.trainSize, testSize: budget.testSize, seed: 0 });

// The parts of a candidate that must not change between a straight and a resumed search.
function outcome(candidates: SearchCandidate[]) {
  return candidates.map(({ cached: _, trainSecondsPerEpoch: __, ...rest }) => rest);
}

Deno.test("smallConvNetParams() counts what the built model trains, for every spec of the wide space", () => {
  const specs = expandSearchSpace(searchSpaceNamed("wide"));
  assertEquals(specs.length, 3 * 6 * 2 * 2 * 2);
  for (const spec of specs) {
    const model = buildSmallConvNet(spec);
    assertEquals(
      smallConvNetParams(spec),
      summarizeModel(model).trainableParams,
      smallConvNetName(spec),
    );
    model.dispose();
  }
  assertEquals(smallConvNetParams(SMALL_NET_SPEC), 518);
});

Deno.test("expandSearchSpace() tries every combination once, smallest first, each with its own name", () => {
  const specs = expandSearchSpace(searchSpaceNamed("default"));
  assertEquals(specs.length, 2 * 2 * 2);
  const params = specs.map(smallConvNetParams);
  assertEquals(params, [...params].sort((a, b) => a - b));
  assertEquals(new Set(specs.map(smallConvNetName)).size, specs.length);
  assert(specs.some((spec) => smallConvNetName(spec) === smallConvNetName(SMALL_NET_SPEC)));
  // The smoke space: 2-3 tiny candidates, so that CI stays fast.
  assertEquals(expandSearchSpace(space).length, 3);
});

Deno.test("invalid search spaces are rejected with errors that name the axis and the fix", () => {
  const base = searchSpaceNamed("default");
  const cases: [Partial<Record<string, unknown>>, RegExp][] = [
    [{ filters1: [] }, /axis "filters1" must list at least one value.*e\.g\. filters1: \[5,8\]/],
    [{ filters2: undefined }, /axis "filters2" must list at least one value/],
    [{ filters1: [4, 0] }, /axis "filters1" takes whole numbers of filters from 1 to 256, got 0/],
    [{ filters2: [2.5] }, /axis "filters2" takes whole numbers.*got 2\.5/],
    [{ kernelSize: [3, 4] }, /axis "kernelSize" takes 3 or 5.*got 4/],
    [{ batchNorm: ["yes"] }, /axis "batchNorm" takes true or false, got "yes"/],
    [{ activation: ["tanh"] }, /axis "activation" takes "relu" or "leakyRelu", got "tanh"/],
    [{ filters2: [8, 8] }, /axis "filters2" lists 8 twice/],
    [{ filter1: [4] }, /Unknown search space axis "filter1"; the axes are: filters1, filters2/],
  ];
  for (const [change, message] of cases) {
    const bad = { ...base, ...change } as unknown as SearchSpace;
    assertThrows(() => checkSearchSpace(bad), message);
    assertThrows(() => expandSearchSpace(bad), message);
  }
  assertThrows(() => searchSpaceNamed("huge"), /Unknown search space "huge"; choose one of: smoke/);
  assertThrows(
    () => searchBudget("fast"),
    /Unknown preset "fast"; choose one of: article, quick, smoke/,
  );
  assertThrows(() => searchBudget("smoke", { overrides: { numEpochs: 0 } }), /numEpochs/);
});

Deno.test("searchMinimalModel() rejects a bad space or target before training anything", async () => {
  await assertRejects(
    () => searchMinimalModel({ ...space, kernelSize: [] }, budget, { data }),
    /axis "kernelSize" must list at least one value/,
  );
  await assertRejects(
    () => searchMinimalModel(space, budget, { data, targetAccuracy: 95 }),
    /targetAccuracy must be in \(0, 1\], got 95; e\.g\. 0\.95/,
  );
});

Deno.test("paretoFront() keeps exactly the points no other point beats, smallest first", () => {
  const points = [
    { name: "a", params: 500, accuracy: 0.90 },
    { name: "b", params: 800, accuracy: 0.95 },
    { name: "c", params: 800, accuracy: 0.93 }, // same size as b, less accurate
    { name: "d", params: 1200, accuracy: 0.94 }, // bigger than b and worse
    { name: "e", params: 2000, accuracy: 0.97 },
    { name: "f", params: 400, accuracy: 0.85 },
    { name: "g", params: 2000, accuracy: 0.97 }, // identical to e: the first is kept
    { name: "h", params: 3000, accuracy: 0.97 }, // bigger, not better
  ];
  assertEquals(paretoFront(points).map((p) => p.name), ["f", "a", "b", "e"]);
  assertEquals(paretoFront([]), []);
  assertEquals(smallestPassing(points, 0.95)?.name, "b");
  assertEquals(smallestPassing(points, 0.94)?.name, "b"); // c (800, 93%) does not pass
  assertEquals(smallestPassing(points, 0.90)?.name, "a");
  assertEquals(smallestPassing(points, 0.99), undefined);
});

Deno.test("formatSearchSpace() lists every candidate before training, with its parameters", () => {
  const specs = [SMALL_NET_SPEC, { ...SMALL_NET_SPEC, kernelSize: 5, batchNorm: false }];
  const lines = formatSearchSpace(specs).split("\n");
  assertEquals(lines, [
    "| candidate | filters | first kernel | BatchNorm | activation | parameters |",
    "| :- | :- | :- | :- | :- | -: |",
    `| ${smallConvNetName(specs[0])} | 5 → 8 | 3x3 | yes | leakyRelu | 518 |`,
    `| ${smallConvNetName(specs[1])} | 5 → 8 | 5x5 | no | leakyRelu | 588 |`,
  ]);
});

Deno.test("candidateLabel() and formatCandidates() describe candidates for charts and tables", () => {
  assertEquals(candidateLabel(SMALL_NET_SPEC), "5→8, 3x3");
  assertEquals(
    candidateLabel({ ...SMALL_NET_SPEC, kernelSize: 5, batchNorm: false, activation: "relu" }),
    "5→8, 5x5, no BN, ReLU",
  );
  const table = formatCandidates([{
    name: smallConvNetName(SMALL_NET_SPEC),
    spec: { ...SMALL_NET_SPEC },
    params: 518,
    macsPerImage: 240_000,
    accuracy: 0.9601,
    trainSecondsPerEpoch: 10,
    passes: true,
    cached: false,
  }]).split("\n");
  assertEquals(table.length, 3);
  assertEquals(
    table[2],
    "| conv5x3-bn-conv8-leakyRelu | 5 → 8 | 3x3 | yes | leakyRelu | 518 | 96.01% | yes |",
  );
});

Deno.test("runCandidate() stores a candidate's result in the search folder and reuses it", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const spec = expandSearchSpace(space)[0];
    const first = await runCandidate(spec, budget, { resultsDir, data });
    assertEquals(first.cached, false);
    assertEquals(first.result.spec, spec);
    assertEquals(first.result.config.model, smallConvNetName(spec));
    assertEquals(first.result.costs.trainableParams, smallConvNetParams(spec));
    assertEquals(first.result.history.length, budget.numEpochs);
    assertEquals(
      first.result.key,
      await resultKey(candidateConfig(spec, budget), "wasm"),
    );
    // Kept apart from the five models' results, which reports list.
    assertEquals(await listResults(resultsDir), []);
    assertEquals((await listResults(candidatesDir(resultsDir))).length, 1);

    const again = await runCandidate(spec, budget, { resultsDir, data });
    assertEquals(again.cached, true);
    assertEquals(again.result, first.result);
    // Another budget is another result.
    const other = await runCandidate(spec, { ...budget, numEpochs: 1 }, { resultsDir, data });
    assertEquals(other.cached, false);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("an interrupted search resumes: finished candidates are not retrained, the front is the same", async () => {
  const [straightDir, resumedDir] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const tensorsBefore = tf.memory().numTensors;
    const straight = await searchMinimalModel(space, budget, {
      resultsDir: straightDir,
      data,
      targetAccuracy: 0.1,
    });
    assertEquals(straight.candidates.length, 3);
    assertEquals(straight.trained, 3);
    assertEquals(straight.front, paretoFront(straight.candidates));
    assertEquals(straight.best, smallestPassing(straight.candidates, 0.1));
    assertEquals(tf.memory().numTensors, tensorsBefore, "searchMinimalModel() leaks tensors");

    // Interrupted after the first epoch of the second candidate (its checkpoint is saved).
    const names = expandSearchSpace(space).map(smallConvNetName);
    let current = "";
    await assertRejects(
      () =>
        searchMinimalModel(space, budget, {
          resultsDir: resumedDir,
          data,
          targetAccuracy: 0.1,
          onCandidateStart: (start) => {
            current = start.name;
          },
          onEpoch: () => {
            if (current === names[1]) throw new Error("interrupted");
          },
        }),
      /interrupted/,
    );
    const key = await resultKey(candidateConfig(expandSearchSpace(space)[1], budget), "wasm");
    const checkpoint = await loadCheckpoint(candidatesDir(resumedDir), key);
    assertEquals(checkpoint?.history.length, 1);
    tf.dispose([
      ...Object.values(checkpoint!.modelWeights),
      ...Object.values(checkpoint!.optimizerWeights),
    ]);

    const trainedEpochs: Record<string, number[]> = {};
    const resumedAfter: Record<string, number> = {};
    const resumed = await searchMinimalModel(space, budget, {
      resultsDir: resumedDir,
      data,
      targetAccuracy: 0.1,
      onCandidateStart: (start) => {
        current = start.name;
      },
      onResume: (history) => {
        resumedAfter[current] = history.length;
      },
      onEpoch: (metrics) => {
        (trainedEpochs[current] ??= []).push(metrics.epoch);
      },
    });
    // The first candidate came from the store, the second resumed after its first epoch.
    assertEquals(trainedEpochs, { [names[1]]: [2], [names[2]]: [1, 2] });
    assertEquals(resumedAfter, { [names[1]]: 1 });
    assertEquals(resumed.candidates.map((c) => c.cached), [true, false, false]);
    assertEquals(resumed.trained, 2);
    assertEquals(outcome(resumed.candidates), outcome(straight.candidates));
    assertEquals(outcome(resumed.front), outcome(straight.front));
    assertEquals(resumed.best?.name, straight.best?.name);

    // Run again: everything from the store, nothing trained, no data needed.
    // (Tensors are not counted across the resume: lib/train.ts' restoreCheckpoint leaks the
    // clones it writes into the weights, one per weight and optimizer slot.)
    const tensorsBeforeAgain = tf.memory().numTensors;
    const again = await searchMinimalModel(space, budget, { resultsDir: resumedDir });
    assertEquals(again.trained, 0);
    assertEquals(outcome(again.candidates), outcome(straight.candidates));
    assertEquals(tf.memory().numTensors, tensorsBeforeAgain, "a stored search leaks tensors");
  } finally {
    await Deno.remove(straightDir, { recursive: true });
    await Deno.remove(resumedDir, { recursive: true });
  }
});

Deno.test("SEARCH_SPACES: the default space holds Small Net and every space is valid", () => {
  for (const [name, value] of Object.entries(SEARCH_SPACES)) {
    checkSearchSpace(value as SearchSpace);
    assert(expandSearchSpace(value as SearchSpace).length > 0, name);
  }
  assertEquals(searchSpaceFor("quick"), searchSpaceNamed("default"));
  // A copy: editing it changes no preset.
  searchSpaceFor("quick").filters1.push(99);
  assertEquals(SEARCH_SPACES.default.filters1, [5, 8]);
});
