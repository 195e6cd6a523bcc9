import { assert, assertEquals, assertNotEquals } from "./assert.ts";
import {
  bundleFor,
  createLiveDisplay,
  jupyter,
  type JupyterDisplay,
  markdown,
  showMarkdown,
} from "../lib/notebook/display.ts";
import { plotLiveCurves } from "../lib/plots/mod.ts";

type Call = { obj: unknown; options: Record<string, unknown> | undefined };

/** Runs `body` with a fake `Deno.jupyter` that records its display calls, then restores it. */
async function withFakeJupyter(body: (calls: Call[]) => Promise<void>): Promise<void> {
  const deno = Deno as unknown as { jupyter?: JupyterDisplay };
  let saved: JupyterDisplay | undefined;
  try {
    saved = deno.jupyter;
  } catch {
    saved = undefined; // outside the kernel, reading it throws
  }
  const calls: Call[] = [];
  deno.jupyter = {
    display(obj, options) {
      calls.push({ obj, options });
      return Promise.resolve();
    },
  };
  try {
    await body(calls);
  } finally {
    deno.jupyter = saved;
  }
}

function fakeClock() {
  let time = 1000;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

Deno.test("bundleFor() sends svg as image/svg+xml and other elements as text/html", () => {
  const svg = plotLiveCurves([], { model: "small-net", numEpochs: 3 });
  const bundle = bundleFor(svg);
  assertEquals(Object.keys(bundle), ["image/svg+xml"]);
  assertEquals(bundle["image/svg+xml"], svg.outerHTML);
  assertEquals(bundleFor({ outerHTML: "<figure><svg></svg></figure>" }), {
    "text/html": "<figure><svg></svg></figure>",
  });
  assertEquals(bundleFor("  <svg xmlns='x'/>"), { "image/svg+xml": "  <svg xmlns='x'/>" });
});

Deno.test("outside the kernel there is no Jupyter and the helpers do nothing", async () => {
  assertEquals(jupyter(), undefined);
  await showMarkdown("# nothing happens");
  const clock = fakeClock();
  const live = createLiveDisplay({ now: clock.now });
  await live.update({ outerHTML: "<svg/>" });
  await live.update({ outerHTML: "<svg/>" });
  assertEquals([live.updates, live.skipped], [1, 1]);
  await live.done();
  assertEquals(live.updates, 2);
});

Deno.test("showMarkdown() displays raw text/markdown through Deno.jupyter", async () => {
  await withFakeJupyter(async (calls) => {
    assert(jupyter() !== undefined);
    await showMarkdown("**518** parameters");
    assertEquals(calls, [{
      obj: { "text/markdown": "**518** parameters" },
      options: { raw: true },
    }]);
  });
  assertEquals(jupyter(), undefined, "the fake must be gone after the test");
});

Deno.test("markdown() makes a value the kernel shows as Markdown", () => {
  const value = markdown("# Title") as unknown as Record<symbol, () => unknown>;
  assertEquals(value[Symbol.for("Jupyter.display")](), { "text/markdown": "# Title" });
});

Deno.test("createLiveDisplay() creates one output, then updates it under the same display_id", async () => {
  await withFakeJupyter(async (calls) => {
    const clock = fakeClock();
    const live = createLiveDisplay({ now: clock.now });
    await live.update({ outerHTML: "<svg>1</svg>" });
    clock.advance(600);
    await live.update({ outerHTML: "<svg>2</svg>" });
    assertEquals(calls.length, 2);
    assertEquals(calls[0], {
      obj: { "image/svg+xml": "<svg>1</svg>" },
      options: { raw: true, display_id: live.displayId },
    });
    assertEquals(calls[1], {
      obj: { "image/svg+xml": "<svg>2</svg>" },
      options: { raw: true, display_id: live.displayId, update: true },
    });
    assertNotEquals(createLiveDisplay().displayId, live.displayId);
  });
});

Deno.test("createLiveDisplay() draws at most twice a second and always draws the final state", async () => {
  await withFakeJupyter(async (calls) => {
    const clock = fakeClock();
    const live = createLiveDisplay({ now: clock.now });
    let built = 0;
    const chart = (n: number) => () => {
      built++;
      return { outerHTML: `<div>${n}</div>` };
    };
    for (let i = 0; i < 20; i++) {
      await live.update(chart(i)); // 20 calls 100 ms apart: 2 s
      clock.advance(100);
    }
    assertEquals(live.updates, 4); // at 0, 500, 1000 and 1500 ms
    assertEquals(live.skipped, 16);
    assertEquals(built, 4, "skipped charts must not be built");
    await live.done();
    assertEquals(live.updates, 5);
    assertEquals(calls.at(-1)!.obj, { "text/html": "<div>19</div>" });
    assertEquals(calls.at(-1)!.options?.update, true);
    await live.done(chart(99)); // an explicit final chart is drawn at once too
    assertEquals(calls.at(-1)!.obj, { "text/html": "<div>99</div>" });
    assertEquals(calls.length, 6);
  });
});

Deno.test("createLiveDisplay().done() with nothing skipped draws nothing more", async () => {
  await withFakeJupyter(async (calls) => {
    const live = createLiveDisplay({ minIntervalMs: 0 });
    await live.update({ outerHTML: "<svg/>" });
    await live.done();
    assertEquals(calls.length, 1);
    assertEquals(live.updates, 1);
  });
});

Deno.test("createLiveDisplay() can display through an injected Jupyter", async () => {
  const calls: unknown[] = [];
  const live = createLiveDisplay({
    jupyter: { display: (obj) => Promise.resolve(void calls.push(obj)) },
  });
  await live.done({ outerHTML: "<svg/>" });
  assertEquals(calls, [{ "image/svg+xml": "<svg/>" }]);
});
