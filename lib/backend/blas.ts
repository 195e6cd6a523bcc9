/**
 * Finds and loads the machine's BLAS through Deno's FFI, for the native kernels
 * (native_kernels.ts): OpenBLAS on Linux (Debian: `apt-get install -y libopenblas0-pthread`),
 * with oneDNN's sgemm beside it for the larger products where it is installed (libdnnl2),
 * Accelerate on macOS, or the one library `SIZEWISE_BLAS` names (a CBLAS or oneDNN);
 * `SIZEWISE_BLAS=off` turns it off. Matrices are passed as raw addresses, which may point into
 * the wasm heap.
 */
import { readSetting, setSettingDefault, SETTINGS } from "../common/settings.ts";

/** The machine's `cblas_sgemm` (row-major), with its thread control where the library has one. */
export interface Blas {
  /** The library file that was loaded. */
  path: string;
  /**
   * C = alpha op(A) op(B) + beta C, row-major; A, B and C are byte addresses (see
   * `addressOf`), lda, ldb and ldc the row lengths of the matrices as stored.
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    beta: number,
    c: number,
    ldc: number,
  ): void;
  /** Sets the library's thread count; false where it has no `openblas_set_num_threads`. */
  setThreads(count: number): boolean;
  /** The thread count last set, or undefined where the library has no thread control. */
  threads: number | undefined;
  /** The threads the last product ran on (`threadsForProduct`), or undefined without thread control. */
  activeThreads: number | undefined;
  /** OpenBLAS' kernel family (e.g. "SkylakeX"), or undefined for other libraries. */
  core: string | undefined;
}

/** The result of looking for the library: the library, or why there is none. */
export type BlasLookup =
  | { blas: Blas; reason?: undefined }
  | { blas?: undefined; reason: string; forcedOff: boolean; fix: string };

// cblas.h's enums.
const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

const SYMBOLS = {
  cblas_sgemm: {
    // order, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc: addresses as
    // usize (plain numbers: user-space addresses fit in 2^53), which costs no pointer objects.
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "usize",
      "i32",
      "usize",
      "i32",
      "f32",
      "usize",
      "i32",
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
} as const;

// oneDNN's row-major sgemm (dnnl.h): transposes as 'N'/'T', sizes and strides as int64.
const DNNL_SYMBOLS = {
  dnnl_sgemm: {
    parameters: [
      "u8",
      "u8",
      "i64",
      "i64",
      "i64",
      "f32",
      "usize",
      "i64",
      "usize",
      "i64",
      "f32",
      "usize",
      "i64",
    ],
    result: "i32",
  },
} as const;

// oneDNN's threads are OpenMP's (Debian builds it on libgomp).
const OPENMP_SYMBOLS = {
  omp_set_num_threads: { parameters: ["i32"], result: "void" },
} as const;

const [N, T] = ["N".charCodeAt(0), "T".charCodeAt(0)];

const INSTALL = "install OpenBLAS (Debian/Ubuntu: apt-get install -y libopenblas0-pthread, which " +
  `"deno task setup" does as root) or set ${SETTINGS.blas} to a library with cblas_sgemm`;
const ALLOW_FFI = "start Deno with --allow-ffi (the deno tasks do)";

let lookup: BlasLookup | undefined;
const addresses = new WeakMap<ArrayBufferLike, number>();

/** The library names tried, in order, on this OS when `SIZEWISE_BLAS` is unset. */
export function blasCandidates(os: string = Deno.build.os): string[] {
  if (os === "darwin") return ["/System/Library/Frameworks/Accelerate.framework/Accelerate"];
  if (os === "windows") return ["libopenblas.dll"];
  return [
    "libopenblas.so.0",
    `/usr/lib/${Deno.build.arch}-linux-gnu/libopenblas.so.0`,
    "libopenblas.so",
  ];
}

/** Where oneDNN is looked for beside the BLAS (Debian: libdnnl2, which PyTorch installs too). */
export function oneDnnCandidates(os: string = Deno.build.os): string[] {
  return os === "linux"
    ? ["libdnnl.so.2", `/usr/lib/${Deno.build.arch}-linux-gnu/libdnnl.so.2`]
    : [];
}

// Which products run in oneDNN where it is there: from 1 MMAC, and the long thin ones (inner
// size from 4,096, more than one column: filter gradients over a whole batch); the rest in the
// BLAS. One thread, quiet 2-core machine, us, OpenBLAS / oneDNN: keras-cnn's 9216x64x32 tap
// products 401 / 287 (and 429 / 145 on two threads, where OpenBLAS does not scale), the MLP's
// 16x512x784 186 / 97, pytorch conv1's filter gradient 25x10x12428 175 / 107, small-net's
// 5x8x10762 35 / 19 and 5x5x10816 37 / 19; OpenBLAS wins the other small ones by a few us
// (12486x5x9 29 / 44, 5x1x10816 17 / 32, 8x1x576 1.2 / 2.2), and a step of Small Net ran
// 3.0 ms on OpenBLAS, 3.8 on oneDNN alone.
const ONEDNN_FROM_MACS = 1e6;
const ONEDNN_FROM_DEPTH = 4096;

/** True for the products `splitBySize` hands to oneDNN. */
export function suitsOneDnn(m: number, n: number, k: number): boolean {
  return m * n * k >= ONEDNN_FROM_MACS || (k >= ONEDNN_FROM_DEPTH && n > 1);
}

/**
 * Loads the BLAS once (later calls return the same answer): `SIZEWISE_BLAS`'s library, else
 * the OS's candidates; sets its threads to `SIZEWISE_BLAS_THREADS` or the machine's cores.
 */
export function loadBlas(): BlasLookup {
  lookup ??= findBlas();
  return lookup;
}

/** The one line that says why the native kernels are off and how to turn them on. */
export function blasMissingMessage(lookup: { reason: string; fix: string }): string {
  return `Native BLAS kernels are off (${lookup.reason}), so tf.js uses its wasm kernels; ` +
    `for the fast path, ${lookup.fix}.`;
}

/** The threads the BLAS should use: `SIZEWISE_BLAS_THREADS`, else the machine's cores. */
export function defaultBlasThreads(): number {
  const text = readSetting("blasThreads");
  if (text === undefined) return Math.max(1, navigator.hardwareConcurrency || 1);
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(
      `${SETTINGS.blasThreads} must be a positive whole number of threads, got "${text}"; ` +
        `unset it to use every core`,
    );
  }
  return count;
}

// Below this many multiply-adds a product runs on one thread whatever `threads` says. OpenBLAS
// itself goes single-threaded only below 262,144 (its SMP threshold); above that, a second
// thread's hand-off costs more than it saves on the small models' products, and after a
// threaded call OpenBLAS' worker spins on a core for a while, which on 2 cores takes it from
// the JS thread. Probe on this (busy) 2-core machine, one vs two threads: 16x320x50 19 vs
// 18 us, 576x50x20 26 vs 27, 9216x45x8 308 vs 656, 1600x250x20 326 vs 635, 16x784x512 674
// vs 1327, 16x9216x128 2856 vs 5743. Above 8 MMAC a product holds ~0.4 ms of one core's work.
const SINGLE_THREAD_BELOW_MACS = 8e6;

/** The threads a product of m * n * k multiply-adds runs on, given the configured count. */
export function threadsForProduct(macs: number, threads: number): number {
  return macs < SINGLE_THREAD_BELOW_MACS ? 1 : threads;
}

/** The byte address of a buffer's first byte (cached per buffer: a grown wasm heap is a new one). */
export function addressOf(buffer: ArrayBufferLike): number {
  let address = addresses.get(buffer);
  if (address === undefined) {
    const pointer = Deno.UnsafePointer.of(new Uint8Array(buffer));
    address = Number(Deno.UnsafePointer.value(pointer));
    addresses.set(buffer, address);
  }
  return address;
}

/**
 * The OpenBLAS kernel family for a CPU with these /proc/cpuinfo flags: the AVX-512 or AVX2
 * ones where the CPU has them, else undefined (OpenBLAS' own detection).
 */
export function openBlasCoreFor(flags: string[]): string | undefined {
  const has = (...names: string[]) => names.every((name) => flags.includes(name));
  if (has("avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd")) {
    return has("avx512_bf16") ? "Cooperlake" : "SkylakeX";
  }
  return has("avx2", "fma") ? "Haswell" : undefined;
}

// OpenBLAS 0.3.21 (Debian 12) falls back to its SSE3 "Prescott" kernels on CPUs newer than it
// (Emerald Rapids, model 207: sgemm ~4 GMAC/s instead of ~15-30), so on Linux pick the family
// from the flags the kernel reports, which it only lists where the OS saves their registers.
function chooseOpenBlasCore(): void {
  if (Deno.build.os !== "linux") return;
  try {
    const cpuinfo = readCpuinfo();
    const flags = cpuinfo.match(/^flags\s*:(.*)$/m)?.[1].trim().split(/\s+/) ?? [];
    const core = openBlasCoreFor(flags);
    if (core !== undefined) setSettingDefault("openblasCore", core);
  } catch {
    // no /proc or no --allow-read: OpenBLAS detects the CPU itself
  }
}

// The start of /proc/cpuinfo (the first CPU's lines), read through libc: Deno asks for
// --allow-all to read /proc, but FFI, which the native path needs anyway, reaches it.
function readCpuinfo(): string {
  const libc = Deno.dlopen(
    "libc.so.6",
    {
      open: { parameters: ["buffer", "i32"], result: "i32" },
      read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
      close: { parameters: ["i32"], result: "i32" },
    } as const,
  );
  try {
    const fd = libc.symbols.open(new TextEncoder().encode("/proc/cpuinfo\0"), 0);
    if (fd < 0) return "";
    const bytes = new Uint8Array(1 << 16);
    let length = 0;
    for (let n = 1; n > 0 && length < bytes.length; length += n) {
      n = Number(libc.symbols.read(fd, bytes.subarray(length), BigInt(bytes.length - length)));
      if (n < 0) n = 0;
    }
    libc.symbols.close(fd);
    return new TextDecoder().decode(bytes.subarray(0, length));
  } finally {
    libc.close();
  }
}

function findBlas(): BlasLookup {
  const setting = readSetting("blas");
  if (setting?.toLowerCase() === "off") {
    return { reason: `${SETTINGS.blas}=off`, forcedOff: true, fix: `unset ${SETTINGS.blas}` };
  }
  if (!ffiAllowed()) {
    return { reason: "Deno runs without --allow-ffi", forcedOff: false, fix: ALLOW_FFI };
  }
  const threads = defaultBlasThreads(); // a bad setting is an error, whatever loads
  chooseOpenBlasCore();
  const failures: string[] = [];
  const first = (paths: string[]) => {
    for (const path of paths) {
      try {
        return openBlas(path);
      } catch (error) {
        const message = firstLine(error);
        failures.push(message.startsWith(path) ? message : `${path}: ${message}`);
      }
    }
  };
  // SIZEWISE_BLAS names one library; otherwise the BLAS, with oneDNN beside it where found.
  const blas = first(setting === undefined ? blasCandidates() : [setting]);
  const oneDnn = setting === undefined ? first(oneDnnCandidates()) : undefined;
  const chosen = blas && oneDnn ? splitBySize(blas, oneDnn) : blas ?? oneDnn;
  if (chosen === undefined) {
    const where = setting === undefined
      ? "no BLAS library found"
      : `${SETTINGS.blas}=${setting} did not load`;
    return { reason: `${where}: ${failures.join("; ")}`, forcedOff: false, fix: INSTALL };
  }
  chosen.setThreads(threads);
  return { blas: chosen };
}

// The products `suitsOneDnn` picks run in `large` (oneDNN), the others in `small`.
function splitBySize(small: Blas, large: Blas): Blas {
  const blas: Blas = {
    path: `${small.path} + ${large.path}`,
    threads: undefined,
    activeThreads: undefined,
    core: [small.core, large.core].filter((core) => core !== undefined).join(" + "),
    sgemm(transA, transB, m, n, k, ...rest) {
      const library = suitsOneDnn(m, n, k) ? large : small;
      library.sgemm(transA, transB, m, n, k, ...rest);
      blas.activeThreads = library.activeThreads;
    },
    setThreads(count) {
      const set = [small.setThreads(count), large.setThreads(count)].some(Boolean);
      if (set) blas.threads = blas.activeThreads = count;
      return set;
    },
  };
  return blas;
}

// A CBLAS library (OpenBLAS, Accelerate, ...), or else oneDNN, at `path`.
function openBlas(path: string): Blas {
  let library: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    library = Deno.dlopen(path, SYMBOLS);
  } catch (error) {
    if (!/dnnl/i.test(path)) throw error;
    return wrapDnnl(path, Deno.dlopen(path, DNNL_SYMBOLS));
  }
  return wrap(path, library);
}

let openmp: Deno.DynamicLibrary<typeof OPENMP_SYMBOLS> | null | undefined;
let openMpThreads: number | undefined;

/**
 * Sets OpenMP's thread count (oneDNN's threads: its sgemm and its convolutions) where libgomp
 * loads, skipping the call when the count is already set; false without thread control.
 */
export function setOpenMpThreads(count: number): boolean {
  if (openmp === undefined) {
    try {
      openmp = Deno.dlopen("libgomp.so.1", OPENMP_SYMBOLS);
    } catch {
      openmp = null; // no thread control: oneDNN uses OpenMP's default, every core
    }
  }
  if (openmp === null) return false;
  if (count !== openMpThreads) openmp.symbols.omp_set_num_threads(count);
  openMpThreads = count;
  return true;
}

function wrapDnnl(path: string, library: Deno.DynamicLibrary<typeof DNNL_SYMBOLS>): Blas {
  const dnnlSgemm = library.symbols.dnnl_sgemm as unknown as (...args: number[]) => number;
  const blas: Blas = {
    path,
    threads: undefined,
    activeThreads: undefined,
    core: "oneDNN",
    sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      if (blas.threads !== undefined) {
        const wanted = threadsForProduct(m * n * k, blas.threads);
        setOpenMpThreads(wanted);
        blas.activeThreads = wanted;
      }
      const status = dnnlSgemm(
        transA ? T : N,
        transB ? T : N,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
      );
      if (status !== 0) {
        throw new Error(`dnnl_sgemm failed (status ${status}) for ${m}x${n}x${k}`);
      }
    },
    setThreads(count) {
      if (!setOpenMpThreads(count)) return false;
      blas.threads = count;
      blas.activeThreads = count;
      return true;
    },
  };
  return blas;
}

function wrap(path: string, library: Deno.DynamicLibrary<typeof SYMBOLS>): Blas {
  const { openblas_set_num_threads, openblas_get_corename } = library.symbols;
  const corename = openblas_get_corename?.();
  // Deno types usize as bigint, but takes a number too (and converts no BigInt per call).
  const cblas_sgemm = library.symbols.cblas_sgemm as unknown as (...args: number[]) => void;
  const blas: Blas = {
    path,
    threads: undefined,
    activeThreads: undefined,
    core: corename ? new Deno.UnsafePointerView(corename).getCString() : undefined,
    sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
      if (blas.threads !== undefined && openblas_set_num_threads !== null) {
        const wanted = threadsForProduct(m * n * k, blas.threads);
        if (wanted !== blas.activeThreads) {
          openblas_set_num_threads(wanted);
          blas.activeThreads = wanted;
        }
      }
      cblas_sgemm(
        ROW_MAJOR,
        transA ? TRANS : NO_TRANS,
        transB ? TRANS : NO_TRANS,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
      );
    },
    setThreads(count) {
      if (openblas_set_num_threads === null) return false;
      openblas_set_num_threads(count);
      blas.threads = count;
      blas.activeThreads = count;
      return true;
    },
  };
  return blas;
}

function ffiAllowed(): boolean {
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

// Deno says "Could not open library: Could not open library: <dlerror>": keep dlerror's words.
function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0].replace(/^(Could not open library: )+/, "");
}
