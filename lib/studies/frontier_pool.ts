/**
 * Runs frontier jobs in parallel worker processes (`deno run lib/studies/frontier_worker.ts`,
 * one job each, by default one per core), with a progress snapshot after every event. Jobs
 * already stored are read back without a process; a job another process holds (its lock) is
 * tried again later; stopping (the signal) kills the workers and frees their locks, and every
 * unfinished job resumes from its last epoch's checkpoint the next time.
 */
import { currentBackend, initBackend } from "../backend/backend.ts";
import { resultKey } from "../training/results.ts";
import { formatDuration } from "../common/format.ts";
import { readSetting, SETTINGS } from "../common/settings.ts";
import { type FrontierJob, stageDir, storedJobResult } from "./frontier.ts";
import { EVENT_PREFIX, type WorkerEvent } from "./frontier_worker.ts";

/** Where one job stands. */
export interface JobState {
  job: FrontierJob;
  status: "queued" | "running" | "done" | "failed";
  /** Epochs finished, counting those of a checkpoint it resumed from. */
  epochsDone: number;
  /** Share of the current epoch done, 0-1. */
  epochFraction: number;
  /** Epochs a checkpoint held when this job's worker started. */
  resumedAfter?: number;
  /** Read from the store (by this process or its worker) rather than trained. */
  cached?: boolean;
  validationAccuracy?: number;
  testAccuracy?: number;
  /** The worker's error, for a failed job. */
  error?: string;
  /** Times a worker found the job locked by another process. */
  busy: number;
  /** Whether this job's last worker took the job's lock (it releases it on a normal exit). */
  locked?: boolean;
}

/** A snapshot of the pool: counts, and a rough estimate of the time left. */
export interface PoolProgress {
  total: number;
  done: number;
  running: number;
  left: number;
  failed: number;
  /** From the epochs timed so far; undefined before the first one. */
  secondsLeft?: number;
  elapsedSeconds: number;
  jobs: JobState[];
}

/** Options of `runJobsInWorkers`. */
export interface PoolOptions {
  /** Worker processes at once; default one per core. */
  workers?: number;
  /** Aborting kills the workers; the call then rejects, and a later call resumes. */
  signal?: AbortSignal;
  onProgress?: (progress: PoolProgress) => void | Promise<void>;
  /** Seconds before a job held by another process is tried again; default 30. */
  retrySeconds?: number;
}

/** One worker per core (`navigator.hardwareConcurrency`), at least one. */
export function defaultWorkers(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/**
 * Runs `jobs` in up to `workers` processes at once; resolves with every job's state once all
 * are done. Failed jobs do not stop the others; the call then rejects naming them.
 */
export async function runJobsInWorkers(
  jobs: FrontierJob[],
  options: PoolOptions = {},
): Promise<JobState[]> {
  const workers = options.workers ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 1) {
    throw new Error(`workers must be a positive integer, got ${workers}`);
  }
  const started = performance.now();
  const states: JobState[] = jobs.map((job) => ({
    job,
    status: "queued",
    epochsDone: 0,
    epochFraction: 0,
    busy: 0,
  }));
  const timing = { seconds: 0, cost: 0 };
  const report = () =>
    options.onProgress?.(poolProgress(states, timing, workers, performance.now() - started));
  for (const state of states) {
    const stored = await storedJobResult(state.job);
    if (stored) finish(state, stored.history.at(-1)!, true);
  }
  await report();
  const notBefore = new Map<JobState, number>();
  const running = new Map<JobState, { done: Promise<void>; child: Deno.ChildProcess }>();
  const retryMs = (options.retrySeconds ?? 30) * 1000;
  const aborted = new Promise<void>((resolve) => {
    if (options.signal?.aborted) resolve();
    options.signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  try {
    while (true) {
      if (options.signal?.aborted) {
        throw new Error("The frontier run was stopped; run it again to resume");
      }
      const now = Date.now();
      for (const state of states) {
        if (running.size >= workers) break;
        if (state.status !== "queued" || (notBefore.get(state) ?? 0) > now) continue;
        const child = spawnWorker(state.job, workerBlasThreads(workers));
        state.status = "running";
        state.locked = false;
        running.set(state, {
          child,
          done: followWorker(state, child, timing, report).then(() => {
            running.delete(state);
            if (state.status === "queued") notBefore.set(state, Date.now() + retryMs);
          }),
        });
      }
      const waiting = states.filter((state) => state.status === "queued");
      if (running.size === 0 && waiting.length === 0) break;
      const wake = Math.min(...waiting.map((state) => notBefore.get(state) ?? 0)) - Date.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        ...[...running.values()].map((entry) => entry.done),
        aborted,
        ...(running.size < workers && waiting.length > 0
          ? [new Promise<void>((resolve) => timer = setTimeout(resolve, Math.max(wake, 0)))]
          : []),
      ]);
      clearTimeout(timer);
      await report();
    }
  } finally {
    if (running.size > 0) await stopWorkers([...running.entries()]);
  }
  await report();
  const failed = states.filter((state) => state.status === "failed");
  if (failed.length > 0) {
    throw new Error(
      `${failed.length} of ${states.length} frontier runs failed (the others are stored): ` +
        failed.map((state) => `${state.job.candidate} (${state.job.stage}): ${state.error}`)
          .join("; "),
    );
  }
  return states;
}

/** One line: "12 done, 2 running, 36 left (1 failed); about 3 h 5 min left". */
export function formatPoolProgress(progress: PoolProgress): string {
  const failed = progress.failed > 0 ? ` (${progress.failed} failed)` : "";
  const eta = progress.secondsLeft === undefined
    ? "time left: after the first epoch"
    : progress.left + progress.running === 0
    ? `finished in ${formatDuration(progress.elapsedSeconds)}`
    : `about ${formatDuration(progress.secondsLeft)} left`;
  return `${progress.done} done, ${progress.running} running, ${progress.left} left${failed}; ${eta}`;
}

function poolProgress(
  states: JobState[],
  timing: { seconds: number; cost: number },
  workers: number,
  elapsedMs: number,
): PoolProgress {
  const count = (status: JobState["status"]) => states.filter((s) => s.status === status).length;
  let remainingCost = 0;
  for (const state of states) {
    if (state.status === "done" || state.status === "failed") continue;
    const epochsLeft = state.job.config.numEpochs - state.epochsDone - state.epochFraction;
    remainingCost += Math.max(epochsLeft, 0) * state.job.epochCost;
  }
  const parallel = Math.min(workers, Math.max(count("running") + count("queued"), 1));
  return {
    total: states.length,
    done: count("done"),
    running: count("running"),
    left: count("queued"),
    failed: count("failed"),
    secondsLeft: timing.cost > 0
      ? remainingCost * (timing.seconds / timing.cost) / parallel
      : undefined,
    elapsedSeconds: elapsedMs / 1000,
    jobs: states,
  };
}

function finish(
  state: JobState,
  last: { validationAccuracy?: number; testAccuracy: number },
  cached: boolean,
): void {
  state.status = "done";
  state.cached = cached;
  state.epochsDone = state.job.config.numEpochs;
  state.epochFraction = 0;
  state.validationAccuracy = last.validationAccuracy;
  state.testAccuracy = last.testAccuracy;
}

/**
 * BLAS threads per worker: the cores shared out among the workers (at least one each), so two
 * workers on two cores do not run four threads; `SIZEWISE_BLAS_THREADS`, where set, wins.
 */
export function workerBlasThreads(workers: number, cores = defaultWorkers()): number {
  const set = readSetting("blasThreads");
  return set === undefined ? Math.max(1, Math.floor(cores / workers)) : Number(set);
}

function spawnWorker(job: FrontierJob, blasThreads: number): Deno.ChildProcess {
  const script = new URL("./frontier_worker.ts", import.meta.url).pathname;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      config,
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-net",
      "--allow-ffi",
      "--allow-run",
      script,
      JSON.stringify(job),
    ],
    env: { [SETTINGS.blasThreads]: String(blasThreads) },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

// Reads the worker's events into `state` until it exits.
async function followWorker(
  state: JobState,
  child: Deno.ChildProcess,
  timing: { seconds: number; cost: number },
  report: () => void | Promise<void>,
): Promise<void> {
  const stderr = new Response(child.stderr).text();
  let buffered = "";
  let busy = false;
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith(EVENT_PREFIX)) continue;
      const event = JSON.parse(line.slice(EVENT_PREFIX.length)) as WorkerEvent;
      if (event.type === "busy") busy = true;
      if (event.type === "locked") state.locked = true;
      if (event.type === "started") {
        state.resumedAfter = event.resumedAfter;
        state.epochsDone = event.resumedAfter;
      }
      if (event.type === "batch") state.epochFraction = event.batch / event.numBatches;
      if (event.type === "epoch") {
        state.epochsDone = event.epoch;
        state.epochFraction = 0;
        timing.seconds += event.trainSeconds;
        timing.cost += state.job.epochCost;
      }
      if (event.type === "done") finish(state, event, event.cached);
      await report();
    }
  }
  const status = await child.status;
  const errorText = await stderr;
  if (state.status === "done") return;
  if (busy) {
    state.busy++;
    state.status = "queued";
  } else {
    state.status = "failed";
    state.error = lastLines(errorText) || `the worker exited with code ${status.code}`;
  }
}

// Kills running workers (their epoch in progress is lost, the checkpoint before it is kept)
// and removes their locks, so a run started right after does not wait for them to go stale.
async function stopWorkers(
  running: [JobState, { done: Promise<void>; child: Deno.ChildProcess }][],
): Promise<void> {
  for (const [, { child }] of running) {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
  }
  const backend = await initBackend(currentBackend());
  for (const [state, { done }] of running) {
    await done.catch(() => {});
    if (state.status !== "done") state.status = "queued";
    if (!state.locked) continue; // another process's lock, or none
    const key = await resultKey(state.job.config, backend);
    await Deno.remove(`${stageDir(state.job)}/locks/${key}.lock`).catch(() => {});
  }
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-6).join("\n");
}
