import { assert, assertEquals, assertRejects } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { candidateJobs, type FrontierJob, storedJobResult } from "../lib/studies/frontier.ts";
import { frontierSpaceNamed } from "../lib/studies/frontier_spaces.ts";
import {
  type JobState,
  type PoolProgress,
  runJobsInWorkers,
} from "../lib/studies/frontier_pool.ts";
import { formatPoolProgress, workerBlasThreads } from "../lib/studies/frontier_pool.ts";
import { SETTINGS } from "../lib/common/settings.ts";
import { isLocked, tryLock } from "../lib/training/locks.ts";

await initBackend("wasm");
const space = frontierSpaceNamed("frontier-smoke");

// The smoke preset's frontier budget (256 training images), for 2 epochs, so that a stop
// after the first epoch leaves checkpoints to resume from.
function twoEpochJobs(resultsDir: string): FrontierJob[] {
  return candidateJobs(space, "smoke", { resultsDir }).map((job) => ({
    ...job,
    config: { ...job.config, numEpochs: 2, learningRateDrops: [] },
  }));
}

async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isDirectory) {
        files.push(...(await listFiles(`${dir}/${entry.name}`)).map((f) => `${entry.name}/${f}`));
      } else files.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files;
}

const accuracies = (states: JobState[]) =>
  Object.fromEntries(states.map((s) => [s.job.candidate, [s.validationAccuracy, s.testAccuracy]]));

Deno.test("the smoke space trains in 2 worker processes, stopped and resumed, with the same numbers", async () => {
  const straight = await Deno.makeTempDir({ prefix: "frontier-straight-" });
  const resumed = await Deno.makeTempDir({ prefix: "frontier-resumed-" });
  try {
    // Uninterrupted: at most 2 processes at once, and 2 at some point.
    const seen: PoolProgress[] = [];
    const states = await runJobsInWorkers(twoEpochJobs(straight), {
      workers: 2,
      onProgress: (progress) => {
        seen.push({ ...progress, jobs: [] });
      },
    });
    assertEquals(states.map((s) => s.status), ["done", "done", "done", "done"]);
    assert(states.every((s) => s.cached === false));
    assert(seen.every((p) => p.running <= 2));
    assert(seen.some((p) => p.running === 2), "two workers ran at once");
    assert(seen.some((p) => p.secondsLeft !== undefined), "a time-left estimate");
    assertEquals(seen.at(-1)!.done, 4);
    assert(formatPoolProgress(seen.at(-1)!).startsWith("4 done, 0 running, 0 left; finished in"));
    for (const state of states) {
      const result = await storedJobResult(state.job);
      assertEquals(result?.history.length, 2, state.job.candidate);
      assert(result!.costs.latencyMs > 0);
    }

    // Stopped as soon as one job has finished its first epoch, then run again.
    const controller = new AbortController();
    await assertRejects(
      () =>
        runJobsInWorkers(twoEpochJobs(resumed), {
          workers: 2,
          signal: controller.signal,
          onProgress: (progress) => {
            if (progress.jobs.some((s) => s.status === "running" && s.epochsDone >= 1)) {
              controller.abort();
            }
          },
        }),
      /stopped; run it again to resume/,
    );
    const files = await listFiles(resumed);
    assert(files.some((f) => f.endsWith(".ckpt")), `a checkpoint is left: ${files}`);
    assert(!files.some((f) => f.endsWith(".lock")), `no lock is left: ${files}`);
    const again = await runJobsInWorkers(twoEpochJobs(resumed), { workers: 2 });
    assert(again.some((s) => s.resumedAfter === 1), "a job resumed after epoch 1");
    assertEquals(accuracies(again), accuracies(states));
    assert(!(await listFiles(resumed)).some((f) => f.endsWith(".ckpt") || f.endsWith(".lock")));

    // A third sitting finds everything stored and starts no process.
    const started = performance.now();
    const stored = await runJobsInWorkers(twoEpochJobs(resumed), { workers: 2 });
    assert(stored.every((s) => s.cached === true));
    assert(performance.now() - started < 2000, "read back without workers");
  } finally {
    await Deno.remove(straight, { recursive: true });
    await Deno.remove(resumed, { recursive: true });
  }
});

Deno.test("two processes on one run: one trains, the other waits for its lock and reads the result", async () => {
  const dir = await Deno.makeTempDir({ prefix: "frontier-lock-" });
  try {
    const [job] = candidateJobs(space, "smoke", { resultsDir: dir });
    const states = await runJobsInWorkers([job, job], { workers: 2, retrySeconds: 0.5 });
    assertEquals(states.map((s) => s.status), ["done", "done"]);
    assertEquals(states.filter((s) => s.cached === false).length, 1, "exactly one trained");
    assertEquals(states[0].testAccuracy, states[1].testAccuracy);
    const files = await listFiles(dir);
    assertEquals(files.filter((f) => f.endsWith(".json")).length, 1, `${files}`);
    assert(!files.some((f) => f.endsWith(".tmp") || f.endsWith(".lock")), `${files}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tryLock() lets one holder in, and takes over a lock that went stale", async () => {
  const dir = await Deno.makeTempDir({ prefix: "frontier-locks-" });
  try {
    const path = `${dir}/locks/run.lock`;
    const first = await tryLock(path);
    assert(first, "the first caller gets the lock");
    assertEquals(await tryLock(path), undefined, "a second caller does not");
    assert(await isLocked(path));
    const old = new Date(Date.now() - 10 * 60_000);
    await Deno.utime(path, old, old); // its holder died 10 minutes ago
    assert(!(await isLocked(path)));
    const second = await tryLock(path);
    assert(second, "a stale lock is taken over");
    await first.refresh(); // the old holder's refresh touches the same file: harmless
    await second.release();
    assert(!(await isLocked(path)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a worker's error fails its run with the worker's message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "frontier-error-" });
  try {
    const [job] = candidateJobs(space, "smoke", { resultsDir: dir });
    await assertRejects(
      () => runJobsInWorkers([{ ...job, candidate: "no-such-net" }], { workers: 1 }),
      /1 of 1 frontier runs failed.*no-such-net.*has no candidate "no-such-net"/s,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workers share the cores out as BLAS threads unless SIZEWISE_BLAS_THREADS is set", () => {
  const saved = Deno.env.get(SETTINGS.blasThreads);
  try {
    Deno.env.delete(SETTINGS.blasThreads);
    assertEquals(workerBlasThreads(2, 2), 1); // not 2 threads each on 2 cores
    assertEquals(workerBlasThreads(1, 2), 2);
    assertEquals(workerBlasThreads(2, 8), 4);
    assertEquals(workerBlasThreads(3, 2), 1); // at least one each
    Deno.env.set(SETTINGS.blasThreads, "3");
    assertEquals(workerBlasThreads(2, 2), 3);
  } finally {
    if (saved === undefined) Deno.env.delete(SETTINGS.blasThreads);
    else Deno.env.set(SETTINGS.blasThreads, saved);
  }
});
