/**
 * The file operations of the results store: durable atomic writes (fsync of the file, rename,
 * fsync of the folder), SHA-256 of stored bytes, and reads that tell a missing file from a bad
 * one. Every error names the path.
 */

/** Options of `writeAtomically`. */
export interface AtomicWriteOptions {
  /** Internal (tests): called after the data is written and synced, before the rename. */
  beforeRename?: (path: string) => void | Promise<void>;
}

/**
 * Writes `bytes` to `path` so that a reader (or a crash) sees the old file or the new one,
 * never half of one: a temporary file beside it, synced to disk, renamed over `path`, and the
 * folder synced so that the rename itself survives a power cut.
 */
export async function writeAtomically(
  path: string,
  bytes: Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    const file = await Deno.open(temporary, { write: true, createNew: true });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await syncFolder(folderOf(path)); // the temporary file's entry, before it is renamed
    await options.beforeRename?.(path);
    await Deno.rename(temporary, path);
    await syncFolder(folderOf(path));
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw new Error(`Cannot write ${path}: ${messageOf(error)}`, { cause: error });
  }
}

/** Syncs a folder's entries to disk (a rename is durable only once its folder is synced). */
export async function syncFolder(dir: string): Promise<void> {
  const folder = await Deno.open(dir, { read: true });
  try {
    await folder.sync();
  } catch (error) {
    // Some filesystems cannot sync a folder; the rename is then as durable as they allow.
    if (!(error instanceof Deno.errors.NotSupported) && !/EINVAL|EBADF/.test(String(error))) {
      throw error;
    }
  } finally {
    folder.close();
  }
}

/** The file's text, or undefined when it does not exist; other failures name the path. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read ${path}: ${messageOf(error)}`, { cause: error });
  }
}

/** The file's bytes, or undefined when it does not exist; other failures name the path. */
export async function readBytesIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read ${path}: ${messageOf(error)}`, { cause: error });
  }
}

/** Removes a file or folder (recursively); one that is not there is no error. */
export async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new Error(`Cannot remove ${path}: ${messageOf(error)}`, { cause: error });
    }
  }
}

/** Creates a folder and its parents; a failure names the folder. */
export async function makeFolder(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new Error(`Cannot create the folder ${dir}: ${messageOf(error)}`, { cause: error });
  }
}

/** Hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const copy = bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : bytes.slice();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", copy));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function folderOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
