/**
 * Showing things in a notebook: Markdown, and one output that redraws in place while a model
 * trains. `Deno.jupyter` exists only inside the Deno kernel (elsewhere reading it throws), so
 * every helper here also runs, doing nothing visible, under `deno test` and in scripts.
 */

/** A Jupyter MIME bundle: MIME type to content, e.g. `{"image/svg+xml": "<svg …>"}`. */
export type MediaBundle = Record<string, string | object>;

/** The part of `Deno.jupyter` these helpers use (Deno 2: `display(obj, options)`). */
export interface JupyterDisplay {
  display(
    obj: unknown,
    options?: { raw?: boolean; update?: boolean; display_id?: string },
  ): Promise<void>;
}

// The symbol the Deno kernel looks for on a cell's value (`Deno.jupyter.$display`).
const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

/** `Deno.jupyter` inside the Deno kernel; undefined anywhere else. */
export function jupyter(): JupyterDisplay | undefined {
  try {
    return (Deno as unknown as { jupyter?: JupyterDisplay }).jupyter;
  } catch {
    return undefined; // outside the kernel the getter throws
  }
}

/**
 * The MIME bundle for a chart or any element: SVG as `image/svg+xml` (JupyterLab draws it in an
 * `<img>`, hence the `xmlns` the plots carry), anything else as `text/html`.
 */
export function bundleFor(element: { outerHTML: string } | string): MediaBundle {
  const markup = typeof element === "string" ? element : element.outerHTML;
  return markup.trimStart().startsWith("<svg")
    ? { "image/svg+xml": markup }
    : { "text/html": markup };
}

/**
 * A value that the kernel shows as Markdown when it ends a cell: `markdown("**Done**")`.
 * Outside the kernel it is a plain object holding the text.
 */
export function markdown(text: string): { text: string } {
  return {
    text,
    [JUPYTER_DISPLAY]: () => ({ "text/markdown": text }),
  } as { text: string };
}

/** Shows `text` as Markdown now, in the middle of a cell; does nothing outside the kernel. */
export async function showMarkdown(text: string): Promise<void> {
  await jupyter()?.display({ "text/markdown": text }, { raw: true });
}

/** Shows `element` (a chart) now, in the middle of a cell; does nothing outside the kernel. */
export async function show(element: { outerHTML: string }): Promise<void> {
  await jupyter()?.display(bundleFor(element), { raw: true });
}

/** Options of `createLiveDisplay`. */
export interface LiveDisplayOptions {
  /** Fewest milliseconds between two redraws; `done()` always draws. Default 500 (2 per s). */
  minIntervalMs?: number;
  /** Clock in milliseconds, for tests. Default `performance.now`. */
  now?: () => number;
  /** Where to display; default `Deno.jupyter` when in the kernel, else nothing. */
  jupyter?: JupyterDisplay;
}

/** What a chart to draw can be: the element, or a function that makes it only when needed. */
export type Drawing = { outerHTML: string } | (() => { outerHTML: string });

/** One notebook output redrawn in place; see `createLiveDisplay`. */
export interface LiveDisplay {
  /** The Jupyter display id every redraw targets. */
  readonly displayId: string;
  /** Redraws sent so far (counted outside the kernel too). */
  readonly updates: number;
  /** Calls to `update` skipped because they came too soon after the last redraw. */
  readonly skipped: number;
  /**
   * Redraws with `drawing` unless the last redraw was less than `minIntervalMs` ago. Pass a
   * function (`() => plotLiveCurves(…)`) to build the chart only when it will be drawn.
   */
  update(drawing: Drawing): Promise<void>;
  /** Draws the final state now, whatever the interval: `drawing`, else the last one skipped. */
  done(drawing?: Drawing): Promise<void>;
}

/**
 * One output that a training loop redraws in place: the first draw creates it (with a random
 * `display_id`), later ones replace it (`update: true`), at most ~2 per second.
 *
 * ```ts
 * const live = createLiveDisplay();
 * // in onBatch / onEpoch:
 * await live.update(() => plotLiveCurves(history, { model, numEpochs }));
 * // after training:
 * await live.done(() => plotLiveCurves(history, { model, numEpochs }));
 * ```
 */
export function createLiveDisplay(options: LiveDisplayOptions = {}): LiveDisplay {
  const minIntervalMs = options.minIntervalMs ?? 500;
  const now = options.now ?? (() => performance.now());
  const displayId = `sizewise-${crypto.randomUUID()}`;
  let updates = 0;
  let skipped = 0;
  let lastDrawAt = -Infinity;
  let pending: Drawing | undefined;

  async function draw(drawing: Drawing): Promise<void> {
    const element = typeof drawing === "function" ? drawing() : drawing;
    const target = options.jupyter ?? jupyter();
    const first = updates === 0;
    updates++;
    lastDrawAt = now();
    pending = undefined;
    await target?.display(bundleFor(element), {
      raw: true,
      display_id: displayId,
      ...(first ? {} : { update: true }),
    });
  }

  return {
    displayId,
    get updates() {
      return updates;
    },
    get skipped() {
      return skipped;
    },
    async update(drawing: Drawing): Promise<void> {
      if (now() - lastDrawAt < minIntervalMs) {
        skipped++;
        pending = drawing;
        return;
      }
      await draw(drawing);
    },
    async done(drawing?: Drawing): Promise<void> {
      const last = drawing ?? pending;
      if (last !== undefined) await draw(last);
    },
  };
}
