import { assert, assertAlmostEquals, assertEquals, assertThrows } from "./assert.ts";
import {
  bandCandidates,
  bandFinalists,
  bestPerBand,
  dominating,
  doublingSteps,
  type FinalistRule,
  formatFrontierTable,
  FRONTIER_BANDS,
  frontierBands,
  frontierPoints,
  type FrontierRun,
  seedInterval,
  smallestReaching,
  tQuantile975,
  validationFront,
} from "../lib/studies/frontier_report.ts";
import { settledEpoch } from "../lib/studies/frontier_run.ts";
import {
  FRONTIER_SPACE_NAMES,
  frontierCandidate,
  frontierSpaceNamed,
  SMALL_NET_READINGS,
} from "../lib/studies/frontier_spaces.ts";
import { FAMILY_NAMES, familyParams, familySpecName } from "../lib/models/families.ts";
import { FRONTIER_CAPS } from "../lib/studies/frontier.ts";
import { ARTICLE_FIGURES } from "../lib/models/article.ts";
import type { EpochMetrics } from "../lib/training/train.ts";

function run(
  name: string,
  params: number,
  validationAccuracy: number,
  testAccuracy: number,
  seed = 0,
): FrontierRun {
  return { name, params, macsPerImage: params * 100, seed, validationAccuracy, testAccuracy };
}

Deno.test("a band chooses on validation: higher test but lower validation accuracy is not chosen", () => {
  const runs = [
    run("lucky-on-test", 450, 0.940, 0.960),
    run("better-on-validation", 480, 0.950, 0.945),
    run("too-big", 900, 0.990, 0.990),
  ];
  const [band] = bestPerBand(runs, [500]);
  assertEquals(band.best?.name, "better-on-validation");
  assertEquals(smallestReaching(runs, 0.945)?.name, "better-on-validation");
  assertEquals(validationFront(runs).map((r) => r.name), [
    "lucky-on-test",
    "better-on-validation",
    "too-big",
  ]);
  // Other seeds never choose: only the choosing seed's runs compete.
  const withSeeds = [...runs, run("lucky-on-test", 450, 0.999, 0.999, 1)];
  assertEquals(bestPerBand(withSeeds, [500])[0].best?.name, "better-on-validation");
});

Deno.test("frontierBands() gives each band its best, with mean, spread and t interval of its seeds", () => {
  const runs = [
    run("a", 90, 0.80, 0.81),
    run("a", 90, 0.82, 0.83, 1),
    run("a", 90, 0.84, 0.85, 2),
    run("b", 400, 0.95, 0.94),
    run("c", 1500, 0.90, 0.99), // worse on validation than b: never a band's best
  ];
  const bands = frontierBands(runs, [50, 100, 500, 2000]);
  assertEquals(bands.map((b) => b.best?.name), [undefined, "a", "b", "b"]);
  assertEquals(bandCandidates(bands), ["a", "b"]);
  const a = bands[1].test!;
  assertEquals(a.count, 3);
  assertAlmostEquals(a.mean, 0.83, 1e-12);
  assertAlmostEquals(a.std, 0.02, 1e-12);
  // n = 3: t(0.975, 2) = 4.303, so the half width is 4.303 x 0.02 / sqrt(3).
  assertAlmostEquals(a.halfWidth, 4.303 * 0.02 / Math.sqrt(3), 1e-12);
  assertAlmostEquals(a.low, 0.83 - a.halfWidth, 1e-12);
  assertEquals(bands[2].test!.count, 1);
  assertEquals(bands[2].test!.halfWidth, 0);
  const table = formatFrontierTable(bands);
  assert(table.includes("| ≤ 50"), table);
  assert(table.includes("none fits"), table);
  assert(table.includes("83.00% ± 2.00"), table);
  assert(table.includes("(3 seeds)"), table);
  assertEquals(FRONTIER_BANDS, [100, 200, 300, 500, 1000, 2000, 5000, 10_000, 20_000]);
  // The chart's points: each winner once, with an interval only where seeds give one.
  const points = frontierPoints(bands);
  assertEquals(points.map((p) => [p.label, p.params]), [["a", 90], ["b", 400]]);
  assertAlmostEquals(points[0].accuracy, 0.83, 1e-12);
  assertAlmostEquals(points[0].high!, a.high, 1e-12);
  assertEquals(points[1].low, undefined);
});

Deno.test("frontierBands() with finalists picks the best mean validation over their seeds", () => {
  const runs = [
    run("lucky", 400, 0.995, 0.990), // best on seed 0's validation, worse on the others
    run("lucky", 400, 0.989, 0.989, 1),
    run("lucky", 400, 0.988, 0.990, 2),
    run("steady", 300, 0.993, 0.993),
    run("steady", 300, 0.993, 0.994, 1),
    run("steady", 300, 0.992, 0.993, 2),
    run("third", 200, 0.990, 0.995), // third on seed 0: never a finalist of two
  ];
  const [one] = frontierBands(runs, [500]);
  assertEquals([one.best?.name, one.finalists], ["lucky", ["lucky"]]);
  const [two] = frontierBands(runs, [500], { count: 2 });
  assertEquals([two.best?.name, two.finalists], ["steady", ["lucky", "steady"]]);
  assertEquals(two.test!.count, 3);
  assertEquals(bandCandidates([two]), ["lucky", "steady"]);
  // A finalist with only its first seed stored competes on that one.
  const early = frontierBands(runs.filter((r) => r.seed === 0 || r.name === "lucky"), [500], {
    count: 2,
  });
  assertEquals(early[0].best?.name, "steady");
});

Deno.test("bandFinalists() adds the runs one validation set cannot tell from the best", () => {
  // 5,000 validation images at 99.4%: one standard error is 0.11 points.
  const runs = [
    run("best", 900, 0.9946, 0.99),
    run("second", 800, 0.9944, 0.99),
    run("tie", 700, 0.9942, 0.99),
    run("tie-big", 950, 0.9942, 0.99),
    run("tie-more", 600, 0.9936, 0.99),
    run("apart", 500, 0.9930, 0.99), // 0.16 points below: told apart
  ];
  const names = (rule: FinalistRule) => bandFinalists(runs, 1000, rule).map((r) => r.name);
  assertEquals(names({ count: 2 }), ["best", "second"]);
  assertEquals(names({ count: 2, tiesUpTo: 9, validationSize: 5000 }), [
    "best",
    "second",
    "tie",
    "tie-big",
    "tie-more",
  ]);
  assertEquals(names({ count: 2, tiesUpTo: 3, validationSize: 5000 }), ["best", "second", "tie"]);
  // A bigger validation set tells more apart: at 50,000 images one error is 0.03 points.
  assertEquals(names({ count: 1, tiesUpTo: 9, validationSize: 50_000 }), ["best", "second"]);
  assertEquals(
    frontierBands(runs, [1000], { count: 2, tiesUpTo: 4, validationSize: 5000 })[0]
      .finalists,
    ["best", "second", "tie", "tie-big"],
  );
});

Deno.test("frontierBands() never gives a bigger band a worse point than a smaller one", () => {
  const runs = [
    run("small-steady", 400, 0.990, 0.991),
    run("small-steady", 400, 0.990, 0.990, 1),
    run("big-lucky", 900, 0.992, 0.985), // the 1,000 band's own best on seed 0...
    run("big-lucky", 900, 0.984, 0.984, 1), // ...is worse over its seeds
  ];
  const [small, big] = frontierBands(runs, [500, 1000], { count: 1 });
  assertEquals(small.best?.name, "small-steady");
  assertEquals(big.best?.name, "small-steady");
  assertEquals(big.finalists, ["big-lucky", "small-steady"]);
  assertEquals(bandCandidates([small, big]), ["small-steady", "big-lucky"]);
});

Deno.test("tQuantile975() follows the t table and tends to the normal quantile", () => {
  assertEquals(tQuantile975(1), 12.706);
  assertEquals(tQuantile975(2), 4.303);
  assertAlmostEquals(tQuantile975(30), 2.042, 2e-3);
  assertAlmostEquals(tQuantile975(1000), 1.962, 2e-3);
  assertThrows(() => tQuantile975(0), /positive integer/);
  assertEquals(seedInterval([0.9]).halfWidth, 0);
});

Deno.test("doublingSteps() and dominating() read the bands", () => {
  const runs = [run("a", 100, 0.9, 0.90), run("b", 400, 0.95, 0.96)];
  const bands = frontierBands(runs, [100, 200, 500]);
  const [step] = doublingSteps(bands);
  assertEquals([step.from, step.to, step.paramsRatio], ["a", "b", 4]);
  assertAlmostEquals(step.pointsPerDoubling, 3, 1e-9); // 6 points over 2 doublings
  // An extra cap (518, an article size) chooses a third run just above 500, but the steps
  // stay on the regular bands: 400 -> 510 is not a doubling's worth of anything.
  const withCap = frontierBands([...runs, run("c", 510, 0.97, 0.97)], [100, 200, 500, 518]);
  assertEquals(withCap.map((b) => b.best?.name), ["a", "a", "b", "c"]);
  assertEquals(doublingSteps(withCap).map((s) => [s.from, s.to]), [["a", "b"]]);
  const found = dominating(bands, [
    { name: "small-net", params: 518, accuracy: 0.9601 },
    { name: "tiny", params: 50, accuracy: 0.5 },
  ]);
  assertEquals(found.map((f) => [f.reference, f.by?.best?.name]), [
    ["small-net", undefined],
    ["tiny", undefined],
  ]);
  assertEquals(dominating(bands, [{ name: "x", params: 500, accuracy: 0.95 }])[0].by?.cap, 500);
});

Deno.test("settledEpoch() finds where validation accuracy stopped moving", () => {
  const history = [0.5, 0.9, 0.95, 0.9705, 0.971].map((validationAccuracy, i) => ({
    epoch: i + 1,
    validationAccuracy,
    testAccuracy: 0,
  })) as EpochMetrics[];
  assertEquals(settledEpoch(history), 4);
  assertEquals(settledEpoch(history, 0.05), 3);
});

Deno.test("the frontier spaces: unique names, counts from the specs, every band and reading covered", () => {
  assertEquals(FRONTIER_SPACE_NAMES, ["frontier", "frontier-tour", "frontier-smoke"]);
  for (const name of FRONTIER_SPACE_NAMES) {
    const space = frontierSpaceNamed(name);
    const names = space.candidates.map((c) => c.name);
    assertEquals(new Set(names).size, names.length, name);
    assertEquals(new Set(space.candidates.map((c) => familySpecName(c.spec))).size, names.length);
    for (const c of space.candidates) assertEquals(c.params, familyParams(c.spec), c.name);
    const params = space.candidates.map((c) => c.params);
    assertEquals(params, [...params].sort((a, b) => a - b), `${name} is smallest first`);
  }
  const frontier = frontierSpaceNamed("frontier");
  const params = frontier.candidates.map((c) => c.params);
  assert(params[0] <= 100 && params.at(-1)! >= 30_000, `${params[0]} to ${params.at(-1)}`);
  for (const cap of FRONTIER_BANDS) {
    const inBand = params.filter((p) => p <= cap && p > cap / 2).length;
    assert(inBand >= 2, `at least two candidates between ${cap / 2} and ${cap}: ${inBand}`);
  }
  assertEquals(
    SMALL_NET_READINGS.map((r) => [frontierCandidate(frontier, r.name).name, r.params]),
    [["small-net-3x3", 518], ["small-net-5x5", 598], ["small-net-pooled", 518], [
      "small-net-strided",
      518,
    ]],
  );
  const families = new Set(frontier.candidates.map((c) => c.spec.family));
  assertEquals(families.size, FAMILY_NAMES.length);
  // Each article model's size is read (and seeded) like a band, and candidates sit just under.
  for (const { trainableParams } of Object.values(ARTICLE_FIGURES)) {
    assert(FRONTIER_CAPS.includes(trainableParams), `${trainableParams} is a cap`);
    if (trainableParams > 30_000) continue;
    const near = params.filter((p) => p <= trainableParams && p > 0.9 * trainableParams).length;
    assert(near >= 3, `three candidates within 10% under ${trainableParams}: ${near}`);
  }
  assertEquals(FRONTIER_CAPS, [...new Set(FRONTIER_CAPS)].sort((a, b) => a - b));
  for (const cap of FRONTIER_BANDS) assert(FRONTIER_CAPS.includes(cap), `band ${cap}`);
  assertThrows(() => frontierSpaceNamed("huge"), /choose one of: frontier, frontier-tour/);
  assertThrows(() => frontierCandidate(frontier, "nope"), /has no candidate "nope"/);
});
