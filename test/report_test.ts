import { assert, assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { modelEntry, registerModel } from "../lib/models/registry.ts";
import {
  articleReference,
  type ComparisonRow,
  formatArticleComparison,
  formatComparison,
  formatTradeOffs,
  withMemory,
} from "../lib/measure/report.ts";

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
  assertMatch(lines[2], /^\| keras-cnn \| 1,199,882 .* \| 42\.0 \| does not fit \|$/);
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
