import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LABEL_MAGIC } from "../lib/data/idx.ts";
import {
  ensureMnistFiles,
  gunzip,
  MNIST_FILE_NAMES,
  MNIST_FILES,
  parseSha256Sums,
  readExpectedSums,
  readMnistFile,
  sha256Hex,
} from "../lib/data/mnist_files.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "./assert.ts";

// The real files, read-only: MNIST_MIRROR (a folder), else ../shared/data/mnist beside the project.
const SOURCE_DIR = Deno.env.get("MNIST_MIRROR") ||
  fileURLToPath(new URL("../../shared/data/mnist/", import.meta.url));
const LABELS = MNIST_FILES.trainLabels;

Deno.test("readExpectedSums() gives a SHA-256 for each of the four files", async () => {
  const sums = await readExpectedSums();
  assertEquals([...sums.keys()], [...MNIST_FILE_NAMES]);
  for (const sum of sums.values()) assertMatch(sum, /^[0-9a-f]{64}$/);
});

Deno.test("parseSha256Sums() reads sha256sum lines and rejects a malformed one", () => {
  const sum = "ab".repeat(32);
  const sums = parseSha256Sums(`${sum}  a.gz\n\n${sum.toUpperCase()} *b.gz\n`, "SUMS");
  assertEquals([...sums], [["a.gz", sum], ["b.gz", sum]]);
  assertThrows(
    () => parseSha256Sums(`${sum}  a.gz\nnot a sum\n`, "SUMS"),
    /Cannot parse SUMS: line 2 is not "<sha256> {2}<file name>"; restore it/,
  );
});

Deno.test("ensureMnistFiles() copies missing files from a folder mirror and verifies them", async () => {
  await withTempDir(async (dir) => {
    const sums = await readExpectedSums();
    const fetched = await ensureMnistFiles({ dir, mirror: SOURCE_DIR });
    assertEquals(fetched.map((report) => report.status), [
      "fetched",
      "fetched",
      "fetched",
      "fetched",
    ]);
    for (const report of fetched) {
      assertStrictEquals(report.path, join(dir, report.name));
      assertStrictEquals(report.source, join(SOURCE_DIR, report.name));
      assertStrictEquals(report.sha256, sums.get(report.name));
      assertStrictEquals(await sha256Hex(await Deno.readFile(report.path)), report.sha256);
    }
    assertEquals(await listDir(dir), [...MNIST_FILE_NAMES].sort()); // no temp files left
    const again = await ensureMnistFiles({ dir, mirrors: [] });
    assertEquals(again.map((report) => report.status), [
      "present",
      "present",
      "present",
      "present",
    ]);
  });
});

Deno.test("ensureMnistFiles() fetches from MNIST_MIRROR when no mirror is given", async () => {
  const saved = Deno.env.get("MNIST_MIRROR");
  Deno.env.set("MNIST_MIRROR", SOURCE_DIR);
  try {
    await withTempDir(async (dir) => {
      const reports = await ensureMnistFiles({ dir });
      assertEquals(
        reports.map((report) => report.source),
        MNIST_FILE_NAMES.map((name) => join(SOURCE_DIR, name)),
      );
    });
  } finally {
    if (saved === undefined) Deno.env.delete("MNIST_MIRROR");
    else Deno.env.set("MNIST_MIRROR", saved);
  }
});

Deno.test("ensureMnistFiles() downloads over http, falling back past a mirror that answers 404", async () => {
  const missing = serveFolder(undefined);
  const good = serveFolder(SOURCE_DIR);
  try {
    await withTempDir(async (dir) => {
      const reports = await ensureMnistFiles({ dir, mirrors: [missing.url, good.url] });
      for (const report of reports) {
        assertStrictEquals(report.status, "fetched");
        assertStrictEquals(report.source, `${good.url}${report.name}`);
        assertEquals(report.failedAttempts, [`${missing.url}${report.name}: HTTP 404 Not Found`]);
      }
      assertEquals(missing.requests, [...MNIST_FILE_NAMES]);
      assertEquals(good.requests, [...MNIST_FILE_NAMES]);
      assertEquals(await listDir(dir), [...MNIST_FILE_NAMES].sort());
    });
  } finally {
    await missing.close();
    await good.close();
  }
});

Deno.test("ensureMnistFiles() lists every place tried when no mirror has the file", async () => {
  const missing = serveFolder(undefined);
  try {
    await withTempDir(async (dir) => {
      const emptyFolder = join(dir, "empty");
      await Deno.mkdir(emptyFolder);
      const target = join(dir, "mnist");
      const error = await rejection(
        ensureMnistFiles({ dir: target, mirrors: [missing.url, emptyFolder] }),
      );
      const first = MNIST_FILE_NAMES[0];
      assertStrictEquals(
        error.message,
        `Cannot get ${first}: no mirror had a good copy. Tried:\n` +
          `  - ${missing.url}${first}: HTTP 404 Not Found\n` +
          `  - ${join(emptyFolder, first)}: no such file\n` +
          "Set MNIST_MIRROR to a folder or an http(s) URL that holds the four MNIST .gz files, " +
          `or copy them into ${target}, then run "deno task data --dir ${target}" again`,
      );
      assertEquals(await listDir(target), []); // no partial or temp files
    });
  } finally {
    await missing.close();
  }
});

Deno.test("ensureMnistFiles() reports a mirror that cannot be reached", async () => {
  const closed = serveFolder(undefined);
  await closed.close(); // nothing listens on its port any more
  await withTempDir(async (dir) => {
    const error = await rejection(ensureMnistFiles({ dir, mirrors: [closed.url] }));
    assertMatch(
      error.message,
      /no mirror had a good copy\. Tried:\n {2}- http:\/\/127\.0\.0\.1:\d+\/mnist\/\S+: .+\nSet MNIST_MIRROR/,
    );
  });
});

Deno.test("ensureMnistFiles() moves a present file with a wrong checksum aside and says how to fix it", async () => {
  await withTempDir(async (dir) => {
    const good = await Deno.readFile(join(SOURCE_DIR, LABELS));
    const corrupted = good.slice();
    corrupted[1000] ^= 0xff;
    await Deno.writeFile(join(dir, LABELS), corrupted);
    const sums = await readExpectedSums();
    const error = await rejection(ensureMnistFiles({ dir, mirror: SOURCE_DIR }));
    assertMatch(
      error.message,
      new RegExp(
        `^Cannot use ${LABELS}: SHA-256 mismatch \\(expected ${sums.get(LABELS)}, got ` +
          `${await sha256Hex(corrupted)}\\); moved it aside to ${
            escapeRegExp(dir)
          }/${LABELS}\\.bad-\\S+; ` +
          `run "deno task data --dir ${escapeRegExp(dir)}" to fetch a good copy$`,
      ),
    );
    const aside = (await listDir(dir)).filter((name) => name.startsWith(`${LABELS}.bad-`));
    assertStrictEquals(aside.length, 1);
    assertEquals(await Deno.readFile(join(dir, aside[0])), corrupted); // kept, not deleted
    await assertRejects(Deno.stat(join(dir, LABELS)), Deno.errors.NotFound);
    // The fix the message gives works: fetching again brings a good copy.
    const reports = await ensureMnistFiles({ dir, mirror: SOURCE_DIR });
    assertStrictEquals(reports.find((report) => report.name === LABELS)?.status, "fetched");
  });
});

Deno.test("ensureMnistFiles() keeps a mirror's corrupt copy aside and tries the next mirror", async () => {
  await withTempDir(async (dir) => {
    const badMirror = join(dir, "bad-mirror");
    await Deno.mkdir(badMirror);
    await Deno.writeFile(join(badMirror, LABELS), new Uint8Array([1, 2, 3]));
    const target = join(dir, "mnist");
    const reports = await ensureMnistFiles({ dir: target, mirrors: [badMirror, SOURCE_DIR] });
    const labels = reports.find((report) => report.name === LABELS)!;
    assertStrictEquals(labels.source, join(SOURCE_DIR, LABELS));
    assertStrictEquals(labels.failedAttempts.length, 1);
    assertMatch(
      labels.failedAttempts[0],
      /: SHA-256 mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}; kept as .+\.bad-/,
    );
    const names = await listDir(target);
    assert(names.some((name) => name.startsWith(`${LABELS}.bad-`)), names.join(", "));
  });
});

Deno.test("readMnistFile() returns the verified file's IDX bytes, gunzipped", async () => {
  await withTempDir(async (dir) => {
    await Deno.copyFile(
      join(SOURCE_DIR, MNIST_FILES.testLabels),
      join(dir, MNIST_FILES.testLabels),
    );
    const bytes = await readMnistFile(dir, MNIST_FILES.testLabels);
    assertStrictEquals(bytes.length, 10_008); // 8-byte header + 10,000 labels
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    assertEquals([view.getUint32(0), view.getUint32(4)], [LABEL_MAGIC, 10_000]);
  });
});

Deno.test("readMnistFile() says how to fetch a missing file", async () => {
  await withTempDir(async (dir) => {
    await assertRejects(
      readMnistFile(dir, MNIST_FILES.testImages),
      new RegExp(
        `Cannot read ${escapeRegExp(dir)}/t10k-images-idx3-ubyte\\.gz: the file is missing; ` +
          `run "deno task data --dir ${escapeRegExp(dir)}"`,
      ),
    );
  });
});

Deno.test("gunzip() undoes CompressionStream", async () => {
  const data = new TextEncoder().encode("sizewise ".repeat(1000));
  const compressed = new Uint8Array(
    await new Response(new Blob([data]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
  assertEquals(await gunzip(compressed, "text.gz"), data);
});

Deno.test("gunzip() names the file when its gzip data is truncated or not gzip", async () => {
  const whole = await Deno.readFile(join(SOURCE_DIR, MNIST_FILES.testLabels));
  const truncated = whole.slice(0, whole.length - 100);
  await assertRejects(
    gunzip(truncated, "t10k-labels-idx1-ubyte.gz"),
    /^Error: Cannot unpack t10k-labels-idx1-ubyte\.gz: its gzip data is truncated or corrupt \(.+\); delete it and run "deno task data"$/,
  );
  await assertRejects(
    gunzip(new TextEncoder().encode("plain text"), "plain.gz", { fix: "replace it" }),
    /Cannot unpack plain\.gz: its gzip data is truncated or corrupt \(.+\); replace it$/,
  );
});

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sizewise-mnist-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`Expected an Error, got ${String(error)}`);
  }
  throw new Error("Expected the promise to reject");
}

interface FolderServer {
  url: string;
  /** The file names asked for, in order. */
  requests: string[];
  close(): Promise<void>;
}

// Serves the files of `folder` under /mnist/ on 127.0.0.1; without a folder, answers 404 to all.
function serveFolder(folder: string | undefined): FolderServer {
  const requests: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async function handle(request: Request): Promise<Response> {
      const name = new URL(request.url).pathname.replace(/^\/mnist\//, "");
      requests.push(name);
      if (folder === undefined || name.includes("/")) {
        return new Response("not found", { status: 404 });
      }
      try {
        return new Response(await Deno.readFile(join(folder, name)));
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/mnist/`,
    requests,
    close: () => server.shutdown(),
  };
}

// Answers every request with its headers and 1 KB of the body, then sends nothing more.
function serveStalling(): { url: string; close(): Promise<void> } {
  const controller = new AbortController();
  const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: controller.signal, onListen() {} },
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(stream) {
            streams.push(stream);
            stream.enqueue(new Uint8Array(1024));
          },
        }),
        { headers: { "content-length": "9912422" } },
      ),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/mnist/`,
    async close() {
      for (const stream of streams) stream.error(new Error("test over"));
      controller.abort();
      await server.finished;
    },
  };
}

Deno.test("ensureMnistFiles() gives up on a mirror that stalls after 1 KB, says so, and leaves no temporary file", async () => {
  const stalling = serveStalling();
  try {
    await withTempDir(async (dir) => {
      const progress: number[] = [];
      const started = performance.now();
      const error = await rejection(ensureMnistFiles({
        dir,
        mirrors: [stalling.url],
        stallTimeoutMs: 1000,
        onProgress: ({ bytes }) => progress.push(bytes),
      }));
      const seconds = (performance.now() - started) / 1000;
      assertMatch(
        error.message,
        new RegExp(
          `Cannot get train-images-idx3-ubyte\\.gz: no mirror had a good copy\\. Tried:\\n` +
            `  - ${stalling.url}train-images-idx3-ubyte\\.gz: no data for 1 s after 1,024 ` +
            `bytes \\(the mirror stalled\\)`,
        ),
      );
      assert(seconds < 20, `gave up after ${seconds.toFixed(1)} s, not about 1 s`);
      assertEquals(await listDir(dir), [], "its own temporary file is removed");
    });
  } finally {
    await stalling.close();
  }
});

Deno.test("ensureMnistFiles() reports download progress and removes temporary files a killed run left", async () => {
  const good = serveFolder(SOURCE_DIR);
  try {
    await withTempDir(async (dir) => {
      const stale = join(dir, `${LABELS}.1234abcd.tmp`);
      const live = join(dir, `${LABELS}.5678ef01.tmp`);
      const unrelated = join(dir, "notes.tmp");
      for (const path of [stale, live, unrelated]) await Deno.writeTextFile(path, "partial");
      const hourAgo = new Date(Date.now() - 3_600_000);
      await Deno.utime(stale, hourAgo, hourAgo);
      await Deno.utime(unrelated, hourAgo, hourAgo);
      const progress = new Map<string, number[]>();
      await ensureMnistFiles({
        dir,
        mirrors: [good.url],
        onProgress: ({ name, bytes, totalBytes }) => {
          progress.set(name, [...progress.get(name) ?? [], bytes]);
          assertEquals(typeof totalBytes, "number");
        },
      });
      const names = await listDir(dir);
      assert(!names.includes(`${LABELS}.1234abcd.tmp`), "the stale one is gone");
      assert(names.includes(`${LABELS}.5678ef01.tmp`), "a live download's file is left alone");
      assert(names.includes("notes.tmp"), "files that are not ours are left alone");
      const images = progress.get(MNIST_FILES.trainImages)!;
      assert(images.length > 10, `${images.length} progress reports`);
      assertEquals(images.at(-1), (await Deno.stat(join(dir, MNIST_FILES.trainImages))).size);
    });
  } finally {
    await good.close();
  }
});
