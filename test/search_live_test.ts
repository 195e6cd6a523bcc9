import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import type { JupyterDisplay } from "../lib/notebook/display.ts";
import { loadMnist } from "../lib/data/mnist.ts";
import { searchBudget, searchSpaceFor } from "../lib/studies/search.ts";
import { searchLive } from "../lib/notebook/search_live.ts";

await initBackend("wasm");
const budget = searchBudget("smoke");
const space = searchSpaceFor("smoke");
const data = await loadMnist({ trainSize: budget.trainSize, testSize: budget.testSize, seed: 0 });

function fakeJupyter() {
  const calls: { svg: string; displayId?: string; update?: boolean }[] = [];
  const jupyter: JupyterDisplay = {
    display(obj, options) {
      const bundle = obj as Record<string, string>;
      calls.push({
        svg: bundle["image/svg+xml"],
        displayId: options?.display_id,
        update: options?.update,
      });
      return Promise.resolve();
    },
  };
  return { jupyter, calls };
}

Deno.test("searchLive() redraws one chart while it searches and ends with every candidate", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const tensorsBefore = tf.memory().numTensors;
    const { jupyter, calls } = fakeJupyter();
    const result = await searchLive(space, budget, { resultsDir, data, jupyter });
    assertEquals(tf.memory().numTensors, tensorsBefore, "searchLive() leaks tensors");
    assertEquals(result.trained, 3);
    assertEquals(result.redraws, calls.length);
    assert(calls.length >= 2, `${calls.length} draws`);
    assertEquals(new Set(calls.map((c) => c.displayId)).size, 1, "one output, redrawn in place");
    assertEquals(calls.map((c) => c.update ?? false), [
      false,
      ...Array(calls.length - 1).fill(true),
    ]);
    const last = calls[calls.length - 1].svg;
    assert(last.startsWith("<svg"), last.slice(0, 40));
    assert(last.includes("Search: 3 of 3 candidates done"), "title counts every candidate");
    assert(last.includes("Done: 3 trained, 0 read from the store"), "status says what happened");
    assertEquals((last.match(/<circle/g) ?? []).length, 3);

    // Everything stored: one draw, at the end.
    const again = fakeJupyter();
    const stored = await searchLive(space, budget, { resultsDir, jupyter: again.jupyter });
    assertEquals(stored.trained, 0);
    assert(again.calls.length >= 1);
    assert(again.calls.at(-1)!.svg.includes("Done: 0 trained, 3 read from the store"));
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});
