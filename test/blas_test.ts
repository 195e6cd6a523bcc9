import {
  addressOf,
  blasCandidates,
  blasMissingMessage,
  defaultBlasThreads,
  loadBlas,
  oneDnnCandidates,
  openBlasCoreFor,
  suitsOneDnn,
  threadsForProduct,
} from "../lib/backend/blas.ts";
import { SETTINGS } from "../lib/common/settings.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertMaxRelativeError,
  assertThrows,
} from "./assert.ts";

const CHILD = new URL("./fixtures/native_path_child.ts", import.meta.url).pathname;
const blas = loadBlas().blas;
const ignore = blas === undefined;

interface ChildResult {
  lines: string[];
  path: string;
  product: number[];
  nativeCalls: number;
}

Deno.test("blasCandidates() looks for OpenBLAS on Linux and Accelerate on macOS", () => {
  assertEquals(blasCandidates("linux")[0], "libopenblas.so.0");
  assertMatch(blasCandidates("darwin")[0], /Accelerate\.framework/);
});

Deno.test("oneDnnCandidates() looks for Debian's oneDNN on Linux only", () => {
  assertEquals(oneDnnCandidates("linux")[0], "libdnnl.so.2");
  assertEquals(oneDnnCandidates("darwin"), []);
});

Deno.test("suitsOneDnn() takes products from 1 MMAC and long thin ones to oneDNN", () => {
  assert(suitsOneDnn(16, 512, 784)); // the MLP's first layer
  assert(suitsOneDnn(5, 8, 10762)); // small-net's filter gradient tap
  assert(!suitsOneDnn(5, 1, 10816)); // a bias gradient: one column
  assert(!suitsOneDnn(12486, 5, 9)); // small-net's conv1 as one product
  assert(!suitsOneDnn(16, 50, 320)); // pytorch's fc_1
});

// A product of m x k by k x n in plain JS, for the libraries to match.
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number): number[] {
  return Array.from({ length: m * n }, (_, at) => {
    const [i, j] = [Math.floor(at / n), at % n];
    let sum = 0;
    for (let r = 0; r < k; r++) sum += a[i * k + r] * b[r * n + j];
    return sum;
  });
}

const oneDnnFound = oneDnnCandidates().some((path) => {
  try {
    Deno.dlopen(path, {}).close();
    return true;
  } catch {
    return false;
  }
});

Deno.test({
  name:
    "With oneDNN beside OpenBLAS, the path names both and products either side of the 1 MMAC split are right",
  ignore: ignore || !oneDnnFound,
  fn: () => {
    assertMatch(blas!.path, /libopenblas\.so\.0 \+ libdnnl\.so\.2/);
    const memory = new WebAssembly.Memory({ initial: 64 });
    const heap = new Float32Array(memory.buffer);
    // [m, n, k]: 0.1 and 1.2 million multiply-adds, either side of the split.
    for (const [m, n, k] of [[20, 50, 100], [60, 100, 200]]) {
      const a = Float32Array.from({ length: m * k }, (_, i) => ((i * 7) % 13) / 13 - 0.5);
      const b = Float32Array.from({ length: k * n }, (_, i) => ((i * 5) % 11) / 11 - 0.5);
      heap.set(a, 0);
      heap.set(b, m * k);
      const base = addressOf(memory.buffer);
      const c = m * k + k * n;
      blas!.sgemm(false, false, m, n, k, 1, base, k, base + 4 * m * k, n, 0, base + 4 * c, n);
      assertMaxRelativeError(
        heap.subarray(c, c + m * n),
        reference(a, b, m, n, k),
        1e-5,
        `${m}x${n}x${k}`,
      );
    }
  },
});

Deno.test({
  name: "SIZEWISE_BLAS=libdnnl.so.2 runs the native path on oneDNN alone",
  ignore: !oneDnnFound,
  fn: async () => {
    const result = await runChild({ SIZEWISE_BLAS: "libdnnl.so.2" }, true);
    assertEquals(result.lines, []);
    assertMatch(result.path, /^native \(libdnnl\.so\.2 oneDNN, oneDNN convolutions/);
    assertEquals(result.product, [26, 30, 38, 44]);
    assertEquals(result.nativeCalls, 1);
  },
});

Deno.test({
  name: "SIZEWISE_BLAS naming OpenBLAS keeps oneDNN out, its convolutions too",
  ignore: ignore || !oneDnnFound,
  fn: async () => {
    const result = await runChild({ SIZEWISE_BLAS: "libopenblas.so.0" }, true);
    assertEquals(result.lines, []);
    assertMatch(result.path, /^native \(libopenblas\.so\.0 \w+, \d+ threads?\)$/);
    assertEquals(result.product, [26, 30, 38, 44]);
  },
});

Deno.test("openBlasCoreFor() picks OpenBLAS' AVX-512 or AVX2 kernels from the CPU's flags", () => {
  const avx512 = [
    "sse3",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512dq",
    "avx512cd",
  ];
  assertEquals(openBlasCoreFor(avx512), "SkylakeX");
  assertEquals(openBlasCoreFor([...avx512, "avx512_bf16"]), "Cooperlake");
  assertEquals(openBlasCoreFor(["sse3", "avx", "avx2", "fma"]), "Haswell");
  assertEquals(openBlasCoreFor(["sse3", "avx"]), undefined);
});

Deno.test({
  name:
    "loadBlas() finds the machine's OpenBLAS, and its sgemm multiplies matrices in a wasm memory",
  ignore,
  fn: () => {
    assertEquals(loadBlas().blas, blas, "one lookup per process");
    // Not OpenBLAS' SSE3 fallback on an x86 CPU with AVX2 or AVX-512.
    if (Deno.build.arch === "x86_64") assert(blas!.core !== "Prescott", `core ${blas!.core}`);
    const memory = new WebAssembly.Memory({ initial: 1 });
    // C [2, 3] = Aᵀ B with A stored [4, 2] and B [4, 3], at byte offsets 0, 64 and 128.
    const fill = () => {
      const heap = new Float32Array(memory.buffer);
      heap.set(Array.from({ length: 8 }, (_, i) => i - 3), 0);
      heap.set(Array.from({ length: 12 }, (_, i) => 0.5 * i + 1), 16);
      return heap;
    };
    const expected = [0, 1].flatMap((i) =>
      [0, 1, 2].map((j) =>
        [0, 1, 2, 3].reduce((s, r) => s + (r * 2 + i - 3) * (0.5 * (r * 3 + j) + 1), 0)
      )
    );
    for (const grow of [false, true]) {
      // After the memory grows, its buffer is a new one at a new address.
      if (grow) memory.grow(16);
      const heap = fill();
      const base = addressOf(memory.buffer);
      blas!.sgemm(true, false, 2, 3, 4, 1, base, 2, base + 64, 3, 0, base + 128, 3);
      assertMaxRelativeError(heap.subarray(32, 38), expected, 1e-6, `product, grown: ${grow}`);
    }
  },
});

Deno.test({
  name: "The BLAS runs on the threads SIZEWISE_BLAS_THREADS gives, else on every core",
  ignore,
  fn: () => {
    const before = Deno.env.get(SETTINGS.blasThreads);
    try {
      Deno.env.delete(SETTINGS.blasThreads);
      assertEquals(defaultBlasThreads(), navigator.hardwareConcurrency);
      Deno.env.set(SETTINGS.blasThreads, "1");
      assertEquals(defaultBlasThreads(), 1);
      Deno.env.set(SETTINGS.blasThreads, "two");
      assertThrows(() => defaultBlasThreads(), /SIZEWISE_BLAS_THREADS must be a positive whole/);
      const threads = blas!.threads!;
      assert(blas!.setThreads(1));
      assertEquals(blas!.threads, 1);
      blas!.setThreads(threads);
    } finally {
      if (before === undefined) Deno.env.delete(SETTINGS.blasThreads);
      else Deno.env.set(SETTINGS.blasThreads, before);
    }
  },
});

Deno.test("threadsForProduct() runs products below 8 million multiply-adds on one thread", () => {
  assertEquals(threadsForProduct(16 * 320 * 50, 2), 1); // pytorch's fc_1
  assertEquals(threadsForProduct(1024 * 250 * 20, 2), 1); // pytorch's conv2 as one product
  assertEquals(threadsForProduct(16 * 784 * 512, 4), 1); // keras-mlp's first dense layer
  assertEquals(threadsForProduct(8e6 - 1, 2), 1);
  assertEquals(threadsForProduct(8e6, 2), 2);
  assertEquals(threadsForProduct(16 * 9216 * 128, 2), 2); // keras-cnn's dense layer
  assertEquals(threadsForProduct(16 * 9216 * 128, 1), 1);
});

Deno.test({
  name: "sgemm() switches the library to one thread for small products and back for large ones",
  ignore,
  fn: () => {
    const threads = blas!.threads!;
    const memory = new WebAssembly.Memory({ initial: 64 * 4 }); // 16 MB: 3 matrices of 1M floats
    const base = addressOf(memory.buffer);
    const at = (matrix: number) => base + matrix * 4 * (1 << 20);
    try {
      blas!.setThreads(2);
      blas!.sgemm(false, false, 16, 50, 320, 1, at(0), 320, at(1), 50, 0, at(2), 50);
      assertEquals(blas!.activeThreads, 1);
      blas!.sgemm(false, false, 256, 256, 256, 1, at(0), 256, at(1), 256, 0, at(2), 256);
      assertEquals(blas!.activeThreads, 2);
      assertEquals(blas!.threads, 2, "the configured count stays");
      blas!.setThreads(1);
      blas!.sgemm(false, false, 256, 256, 256, 1, at(0), 256, at(1), 256, 0, at(2), 256);
      assertEquals(blas!.activeThreads, 1);
    } finally {
      blas!.setThreads(threads);
    }
  },
});

Deno.test({
  name: "The wasm backend takes the native path at start-up where the BLAS loads",
  ignore,
  fn: async () => {
    const result = await runChild({ SIZEWISE_BLAS: "" }, true);
    assertEquals(result.lines, []);
    assertMatch(result.path, /^native \(libopenblas/);
    assertEquals(result.product, [26, 30, 38, 44]);
    assertEquals(result.nativeCalls, 1);
  },
});

Deno.test("With SIZEWISE_BLAS at a missing file, wasm's kernels run and one line says why", async () => {
  const result = await runChild({ SIZEWISE_BLAS: "/nonexistent/libcblas.so" }, true);
  assertEquals(result.lines.length, 1, result.lines.join("\n"));
  assertMatch(result.lines[0], /^Native BLAS kernels are off \(SIZEWISE_BLAS=\/nonexistent/);
  assertMatch(result.lines[0], /apt-get install -y libopenblas0-pthread/);
  assertMatch(result.path, /^wasm \(/);
  assertEquals(result.product, [26, 30, 38, 44]);
  assertEquals(result.nativeCalls, 0);
});

Deno.test("SIZEWISE_BLAS=off forces wasm's kernels without a word", async () => {
  const result = await runChild({ SIZEWISE_BLAS: "off" }, true);
  assertEquals(result.lines, []);
  assertEquals(result.path, "wasm (SIZEWISE_BLAS=off)");
  assertEquals(result.product, [26, 30, 38, 44]);
  assertEquals(result.nativeCalls, 0);
});

Deno.test("Without --allow-ffi, wasm's kernels run and one line says to allow it", async () => {
  const result = await runChild({ SIZEWISE_BLAS: "" }, false);
  assertEquals(result.lines, [
    blasMissingMessage({
      reason: "Deno runs without --allow-ffi",
      fix: "start Deno with --allow-ffi (the deno tasks do)",
    }),
  ]);
  assertEquals(result.nativeCalls, 0);
});

// Runs the child script in its own process, where the environment applies at start-up.
async function runChild(env: Record<string, string>, allowFfi: boolean): Promise<ChildResult> {
  const permissions = ["--allow-read", "--allow-env", ...(allowFfi ? ["--allow-ffi"] : [])];
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, CHILD],
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert(output.success, stderr);
  const lines = stderr.split("\n").filter((line) => line.trim() !== "");
  return { lines, ...JSON.parse(new TextDecoder().decode(output.stdout)) };
}
