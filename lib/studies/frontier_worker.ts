/**
 * Worker process of the frontier's runner (lib/studies/frontier_pool.ts): trains one job and
 * reports on stdout, one `@frontier {json}` line per event. Usage:
 * deno run -A lib/studies/frontier_worker.ts '<FrontierJob as JSON>'
 *
 * It takes the run's lock first; if another process holds it, it reports `busy` and exits, and
 * the runner tries again later. A stored result is reported as `done` without training.
 */
import { currentBackend, initBackend } from "../backend/backend.ts";
import { resultKey } from "../training/results.ts";
import { tryLock } from "../training/locks.ts";
import { type FrontierJob, runFrontierCandidate, stageDir, storedJobResult } from "./frontier.ts";
import { frontierCandidate, frontierSpaceNamed } from "./frontier_spaces.ts";

/** The prefix of the worker's event lines (anything else on stdout is not an event). */
export const EVENT_PREFIX = "@frontier ";

/** What a worker reports. */
export type WorkerEvent =
  | { type: "started"; resumedAfter: number }
  | { type: "batch"; epoch: number; batch: number; numBatches: number }
  | { type: "epoch"; epoch: number; numEpochs: number; trainSeconds: number }
  | { type: "busy" }
  | { type: "locked" }
  | { type: "done"; cached: boolean; validationAccuracy?: number; testAccuracy: number };

function emit(event: WorkerEvent): void {
  console.log(EVENT_PREFIX + JSON.stringify(event));
}

async function main(): Promise<void> {
  const job = JSON.parse(Deno.args[0] ?? "null") as FrontierJob;
  if (!job?.config || !job.candidate || !job.space || !job.resultsDir || !job.stage) {
    throw new Error("Usage: frontier_worker.ts '<a FrontierJob as JSON>' (see frontier.ts)");
  }
  const backend = await initBackend(currentBackend());
  const candidate = frontierCandidate(frontierSpaceNamed(job.space), job.candidate);
  const dir = stageDir(job);
  const done = (result: Awaited<ReturnType<typeof storedJobResult>>, cached: boolean) => {
    const last = result!.history[result!.history.length - 1];
    emit({
      type: "done",
      cached,
      validationAccuracy: last.validationAccuracy,
      testAccuracy: last.testAccuracy,
    });
  };
  const stored = await storedJobResult(job);
  if (stored) return done(stored, true);
  const key = await resultKey(job.config, backend);
  const lock = await tryLock(`${dir}/locks/${key}.lock`);
  if (!lock) return emit({ type: "busy" });
  emit({ type: "locked" });
  try {
    // Finished by another process between the first look and the lock: nothing to do.
    const finished = await storedJobResult(job);
    if (finished) return done(finished, true);
    let resumedAfter = 0;
    let refreshed = performance.now();
    let reported = 0;
    let started = false;
    const { result, cached } = await runFrontierCandidate(candidate, job.config, {
      resultsDir: dir,
      onResume: (history) => {
        resumedAfter = history.length;
      },
      onBatch: async ({ epoch, batch, numBatches }) => {
        if (!started) {
          started = true;
          emit({ type: "started", resumedAfter });
        }
        const now = performance.now();
        if (now - refreshed > 10_000) {
          refreshed = now;
          await lock.refresh();
        }
        if (now - reported > 1000 || batch === numBatches) {
          reported = now;
          emit({ type: "batch", epoch, batch, numBatches });
        }
      },
      onEpoch: async (metrics) => {
        await lock.refresh();
        emit({
          type: "epoch",
          epoch: metrics.epoch,
          numEpochs: job.config.numEpochs,
          trainSeconds: metrics.trainSeconds,
        });
      },
    });
    done(result, cached);
  } finally {
    await lock.release();
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error((error as Error).stack ?? String(error));
    Deno.exit(1);
  }
}
