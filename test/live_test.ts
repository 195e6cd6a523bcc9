import { assert, assertEquals } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { makeConfig } from "../lib/training/config.ts";
import type { JupyterDisplay } from "../lib/notebook/display.ts";
import { trainLive } from "../lib/notebook/live.ts";
import { loadMnist } from "../lib/data/mnist.ts";

await initBackend("wasm");

function fakeJupyter() {
  const calls: { bundle: Record<string, string>; update?: boolean; id?: string }[] = [];
  const jupyter: JupyterDisplay = {
    display(obj, options) {
      calls.push({
        bundle: obj as Record<string, string>,
        update: options?.update,
        id: options?.display_id,
      });
      return Promise.resolve();
    },
  };
  return { jupyter, calls };
}

Deno.test("trainLive() redraws one output in place while training, then shows the stored curves", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const config = makeConfig("pytorch-gap", {
      preset: "smoke",
      overrides: { trainSize: 256, testSize: 128, evalBatchSize: 128, numEpochs: 2 },
    });
    const data = await loadMnist({ trainSize: 256, testSize: 128 });
    const first = fakeJupyter();
    const trained = await trainLive(config, { data, resultsDir, jupyter: first.jupyter });
    assertEquals(trained.cached, false);
    assert(first.calls.length >= 2, `${first.calls.length} displays`);
    assertEquals(new Set(first.calls.map((call) => call.id)).size, 1, "one output, redrawn");
    assertEquals(first.calls[0].update, undefined);
    assert(first.calls.slice(1).every((call) => call.update === true));
    const last = first.calls.at(-1)!.bundle["image/svg+xml"];
    assert(last.startsWith("<svg") && last.includes("pytorch-gap"));

    const second = fakeJupyter();
    const cached = await trainLive(config, { data, resultsDir, jupyter: second.jupyter });
    assertEquals(cached.cached, true);
    assertEquals(second.calls.length, 1, "a stored result is drawn once");
    assert(second.calls[0].bundle["image/svg+xml"].includes("<circle"), "with its epochs' dots");
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});

Deno.test("trainLive() with showStored: false draws nothing for a stored result", async () => {
  const resultsDir = await Deno.makeTempDir();
  try {
    const config = makeConfig("small-net", {
      preset: "smoke",
      overrides: { trainSize: 64, testSize: 64, evalBatchSize: 64 },
    });
    const data = await loadMnist({ trainSize: 64, testSize: 64 });
    await trainLive(config, { data, resultsDir, jupyter: fakeJupyter().jupyter });
    const quiet = fakeJupyter();
    const again = await trainLive(config, {
      data,
      resultsDir,
      jupyter: quiet.jupyter,
      showStored: false,
    });
    assertEquals(again.cached, true);
    assertEquals(quiet.calls.length, 0);
  } finally {
    await Deno.remove(resultsDir, { recursive: true });
  }
});
