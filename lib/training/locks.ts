/**
 * Lock files, so that processes sharing a results folder do not train the same run at once:
 * created with O_EXCL (only one process can create it), refreshed while the run trains, and
 * taken over once stale (its process died). Even without a lock two processes could not
 * corrupt a run, since results and checkpoints are written atomically and training is
 * deterministic; the lock saves the duplicated work.
 */

/** A lock this process holds. */
export interface Lock {
  path: string;
  /** Marks the lock as alive (its modification time); call it at least every `staleSeconds`. */
  refresh(): Promise<void>;
  /** Removes the lock file. */
  release(): Promise<void>;
}

/** Seconds after its last refresh at which a lock counts as abandoned. */
export const LOCK_STALE_SECONDS = 120;

/**
 * Takes the lock at `path`, or returns undefined if another process holds it (a fresh lock
 * file exists). A lock not refreshed for `staleSeconds` is taken over.
 */
export async function tryLock(
  path: string,
  options: { staleSeconds?: number; owner?: string } = {},
): Promise<Lock | undefined> {
  const staleSeconds = options.staleSeconds ?? LOCK_STALE_SECONDS;
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || ".", { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      try {
        const owner = options.owner ?? `pid ${Deno.pid}`;
        await file.write(new TextEncoder().encode(
          JSON.stringify({ owner, since: new Date().toISOString() }) + "\n",
        ));
      } finally {
        file.close();
      }
      return heldLock(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    if (!(await isStale(path, staleSeconds))) return undefined;
    // Move the stale lock aside under a unique name: of two processes doing this at once,
    // only one rename finds it, and the other then sees the winner's fresh lock.
    const aside = `${path}.${crypto.randomUUID()}.stale`;
    try {
      await Deno.rename(path, aside);
      await Deno.remove(aside);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return undefined;
}

/** Whether a lock file exists at `path` and was refreshed within `staleSeconds`. */
export async function isLocked(path: string, staleSeconds = LOCK_STALE_SECONDS): Promise<boolean> {
  try {
    await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  return !(await isStale(path, staleSeconds));
}

async function isStale(path: string, staleSeconds: number): Promise<boolean> {
  try {
    const { mtime } = await Deno.stat(path);
    return mtime !== null && Date.now() - mtime.getTime() > staleSeconds * 1000;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return true;
    throw error;
  }
}

function heldLock(path: string): Lock {
  return {
    path,
    refresh: async () => {
      const now = new Date();
      await Deno.utime(path, now, now).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    },
    release: async () => {
      await Deno.remove(path).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    },
  };
}
