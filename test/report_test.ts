import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { modelEntry, registerModel } from "../lib/models/registry.ts";
import {
  articleReference,
  compareRatios,
  type ComparisonRow,
  formatArticleComparison,
  formatComparison,
  formatFinalValues,
  formatRatioAgreement,
  formatTradeOffs,
  withMemory,
} from "../lib/measure/report.ts";
import { estimateStepMemory, exceedsHeapText } from "../lib/measure/cost.ts";

function row(model: string, overrides: Partial<ComparisonRow>): ComparisonRow {
  return {
    model,
    trainableParams: 1000,
    macsPerImage: 1000,
    testAccuracy: 0.9,
    testLoss: 0.3,
    trainSecondsPerFullEpoch: 10,
    inferenceSecondsFullTestSet: 1,
    weightMB: 1,
    memoryMB: { 16: 10 },
    ...overrides,
  };
}

const rows = [
  row("keras-cnn", {
    testAccuracy: 0.99,
    trainableParams: 1_199_882,
    trainSecondsPerFullEpoch: 200,
    weightMB: 4.58,
  }),
  row("pytorch", {
    testAccuracy: 0.985,
    trainableParams: 21_840,
    trainSecondsPerFullEpoch: 40,
    weightMB: 0.0833,
  }),
];

Deno.test("formatComparison() has one line per model and a memory column per batch size", () => {
  const table = formatComparison(withMemory(rows, {
    "keras-cnn": [{ batchSize: 16, fits: true, peakBytes: 42 * 2 ** 20 }, {
      batchSize: 8192,
      fits: false,
    }],
    "pytorch": [{ batchSize: 16, fits: true, peakBytes: 3 * 2 ** 20 }, {
      batchSize: 8192,
      fits: true,
      peakBytes: 1340 * 2 ** 20,
    }],
  }));
  const lines = table.split("\n");
  assertEquals(lines.length, 4);
  assertMatch(lines[0], /memory MB @16 \| memory MB @8192 \|$/);
  // Issue 15 item 9: was "does not fit"; the wasm heap failed, not the model's need.
  assertMatch(lines[2], /^\| keras-cnn \| 1,199,882 .* \| 42\.0 \| exceeds the 4 GB wasm heap \|$/);
  assertMatch(lines[3], /^\| pytorch \| 21,840 .* \| 0\.08 \| 3\.0 \| 1340\.0 \|$/);
});

Deno.test("formatArticleComparison() sets ours beside the article's figures, '-' where it has none", () => {
  const table = formatArticleComparison(withMemory(rows, {
    "pytorch": [{ batchSize: 16, fits: true, peakBytes: 3 * 2 ** 20 }],
  }));
  assertMatch(
    table,
    /\| keras-cnn \| 99\.00% \/ 99\.26% \| 1,199,882 \/ 1,199,882 \| 4\.58 \/ 4\.58 \| 200 \/ 120 \|/,
  );
  assertMatch(table, /\| pytorch \| 98\.50% \/ 98\.96% .* \| 3 \/ 539 \| - \/ 1247 \|$/m);
});

Deno.test("formatTradeOffs() measures every model against the most accurate one", () => {
  const text = formatTradeOffs(rows);
  assertMatch(text, /most accurate model, \*\*keras-cnn\*\* \(99\.00%\)/);
  assertMatch(
    text,
    /\| pytorch \| 0\.50 points \| 54\.9x less \| 5\.0x less \| 1\.0x more \| 55\.0x less \|/,
  );
  assert(!text.includes("| keras-cnn |"), "the best model is the reference, not a row");
});

Deno.test("formatArticleComparison() names another large batch and then quotes no article figure", () => {
  const table = formatArticleComparison(
    withMemory(rows, {
      "pytorch": [{ batchSize: 512, fits: true, peakBytes: 84 * 2 ** 20 }],
    }),
    { largeBatch: 512 },
  );
  assertMatch(table, /memory MB @512 \|$/m);
  assertMatch(table, /\| pytorch \| .* \| 84 \/ - \|$/m);
});

Deno.test("estimateStepMemory() extends the line through the largest batches that fit", () => {
  const mb = 2 ** 20;
  const measured = [
    { batchSize: 16, fits: true, peakBytes: 20 * mb },
    { batchSize: 256, fits: true, peakBytes: 260 * mb }, // 1 MB per image, 4 MB fixed
    { batchSize: 8192, fits: false },
  ];
  const estimate = estimateStepMemory(measured, 8192)!;
  assertEquals(estimate.perImageBytes, mb);
  assertEquals(estimate.fixedBytes, 4 * mb);
  assertEquals(estimate.estimatedBytes, (4 + 8192) * mb);
  assertEquals(estimate.fromBatchSizes, [16, 256]);
  assertEquals(estimateStepMemory(measured.slice(0, 1), 8192), undefined);
  assertEquals(
    exceedsHeapText(estimate.estimatedBytes),
    "exceeds the 4 GB wasm heap (estimate: 8.0 GB)",
  );
  const table = formatComparison(withMemory([rows[0]], { "keras-cnn": measured }));
  assertMatch(table, /\| 20\.0 \| 260\.0 \| exceeds the 4 GB wasm heap \(estimate: 8\.0 GB\) \|$/);
});

Deno.test("compareRatios() says a timing ratio holds only where both tables agree on it", () => {
  const quick = [
    row("keras-cnn", { trainSecondsPerFullEpoch: 113, inferenceSecondsFullTestSet: 10 }),
    row("pytorch", { trainSecondsPerFullEpoch: 10, inferenceSecondsFullTestSet: 2 }),
    row("pytorch-gap", { trainSecondsPerFullEpoch: 9, inferenceSecondsFullTestSet: 1 }),
  ];
  const full = [
    row("keras-cnn", { trainSecondsPerFullEpoch: 54, inferenceSecondsFullTestSet: 11 }),
    row("pytorch", { trainSecondsPerFullEpoch: 10, inferenceSecondsFullTestSet: 2 }),
    row("pytorch-gap", { trainSecondsPerFullEpoch: 12, inferenceSecondsFullTestSet: 1.1 }),
  ];
  const agreements = compareRatios(quick, full);
  const of = (a: string, b: string, metric: string) =>
    agreements.find((g) => g.models.join() === `${a},${b}` && g.metric === metric)!;
  // 11.3x against 5.4x: the same direction, but more than 1.5x apart.
  assertEquals(of("keras-cnn", "pytorch", "trainSecondsPerFullEpoch").holds, false);
  assertEquals(of("keras-cnn", "pytorch", "inferenceSecondsFullTestSet").holds, true);
  // GAP faster than PyTorch on one table, slower on the other: does not hold.
  const gap = of("pytorch", "pytorch-gap", "trainSecondsPerFullEpoch");
  assert(gap.ratioA > 1 && gap.ratioB < 1);
  assertEquals(gap.holds, false);
  assertEquals(agreements.length, 3 * 2);
  const table = formatRatioAgreement(agreements, { labels: ["quick", "full"] }).split("\n");
  assertEquals(
    table[0],
    "| models | training time, quick | full | both? | inference time, quick | full | both? |",
  );
  assertEquals(
    table[2],
    "| keras-cnn / pytorch | 11.3x | 5.4x | does not hold | 5.0x | 5.5x | holds |",
  );
});

Deno.test("articleReference() reads the registry's article figures, only where the article gives one", () => {
  assertEquals(articleReference("cpuSecondsPerEpoch"), [
    { model: "keras-cnn", value: 120 },
    { model: "pytorch", value: 20 },
    { model: "small-net", value: 11 },
  ]);
  assertEquals(articleReference("weightMB").map((r) => r.model), [
    "keras-cnn",
    "pytorch",
    "pytorch-gap",
  ]);
  assertEquals(articleReference("testAccuracy").length, 5);
  assertEquals(articleReference("gpuMemoryMB", { batchSize: 8192 }), [
    { model: "keras-cnn", value: 5911 },
    { model: "pytorch", value: 1247 },
  ]);
  assertEquals(articleReference("gpuMemoryMB", { batchSize: 16 })[1], {
    model: "pytorch",
    value: 539,
  });
  assertEquals(articleReference("gpuMemoryMB", { batchSize: 512 }), [], "not measured there");
  assertThrows(() => articleReference("gpuMemoryMB"), /needs a batchSize: 16 or 8192/);
});

Deno.test("articleReference() includes a newly registered model's article figures", () => {
  const unregister = registerModel({
    ...modelEntry("pytorch"),
    name: "throwaway-net",
    article: { testAccuracy: 0.5, trainableParams: 10, cpuSecondsPerEpoch: 3 },
  });
  try {
    assertEquals(articleReference("cpuSecondsPerEpoch").at(-1), {
      model: "throwaway-net",
      value: 3,
    });
  } finally {
    unregister();
  }
  assertEquals(articleReference("cpuSecondsPerEpoch").length, 3);
});

Deno.test("formatFinalValues() gives each run's last epoch to two decimals", () => {
  const history = [
    { testAccuracy: 0.97, testLoss: 0.1, trainLoss: 0.2 },
    { testAccuracy: 0.9926, testLoss: 0.0251, trainLoss: 0.0102 },
  ];
  assertEquals(
    formatFinalValues([{ model: "keras-cnn", history }]).split("\n")[2],
    "| keras-cnn | 2 | 99.26% | 0.0251 | 0.0102 |",
  );
});
