/**
 * Convolutions on oneDNN's own primitives (forward, input gradient, filter gradient) through
 * Deno's FFI, for the native conv kernels (native_conv.ts). They are what PyTorch runs on the
 * CPU: JIT kernels for the machine's vector unit that keep the filter in a blocked layout, 2-4x
 * faster than im2col + sgemm on the models' convs (keras-cnn's conv2: forward 3.8 against 7.3 ms,
 * input gradient 3.6 against 9.0, filter gradient 4.1 against 6.1, one thread, busy machine).
 *
 * The images and gradients stay where tf.js keeps them, NHWC in the wasm heap, described to
 * oneDNN by their strides; the filter (tf.js' [kh, kw, ci, co]) is reordered on every call into
 * the layout the primitive chose, and the filter gradient back. Primitives are built once per
 * geometry and thread count. oneDNN 2.x's C API (Debian 12's libdnnl2, 2.6); where the library
 * is missing, has another API, or `SIZEWISE_BLAS` names another library, `oneDnnConvs()` is
 * undefined and the sgemm kernels run.
 */
import { oneDnnCandidates, setOpenMpThreads, threadsForProduct } from "./blas.ts";
import { readSetting } from "../common/settings.ts";

/** The geometry of a 2D convolution, NHWC, dilation 1. */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
}

/**
 * The three convolutions on `threads` threads (fewer for small ones, as the BLAS does), on
 * byte addresses (0 for no bias); each returns false where oneDNN has no primitive for it.
 */
export interface OneDnnConvs {
  /** Whether oneDNN has a primitive for this kind and geometry (built here, then cached). */
  has(kind: ConvKind, g: ConvGeometry, threads: number, bias?: boolean): boolean;
  /** y = conv(x, filter) + bias. */
  forward(
    g: ConvGeometry,
    threads: number,
    x: number,
    filter: number,
    bias: number,
    y: number,
  ): boolean;
  /** dx = the input gradient of dy through filter. */
  inputGradient(g: ConvGeometry, threads: number, dx: number, filter: number, dy: number): boolean;
  /** dFilter = the filter gradient of dy over x, in tf.js' [kh, kw, ci, co]. */
  filterGradient(
    g: ConvGeometry,
    threads: number,
    x: number,
    dFilter: number,
    dy: number,
  ): boolean;
  /** Calls that ran on oneDNN so far (tests check the path ran). */
  calls: number;
  /** Plans (primitives for a kind and geometry) held now. */
  plans(): number;
}

const SYMBOLS = {
  dnnl_engine_create: { parameters: ["buffer", "i32", "usize"], result: "i32" },
  dnnl_stream_create: { parameters: ["buffer", "pointer", "u32"], result: "i32" },
  dnnl_memory_desc_init_by_tag: {
    parameters: ["buffer", "i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  dnnl_memory_desc_init_by_strides: {
    parameters: ["buffer", "i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  dnnl_memory_desc_equal: { parameters: ["pointer", "buffer"], result: "i32" },
  dnnl_memory_desc_get_size: { parameters: ["pointer"], result: "usize" },
  dnnl_convolution_forward_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_convolution_backward_data_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_convolution_backward_weights_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_primitive_desc_create: {
    parameters: ["buffer", "buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_desc_query_md: { parameters: ["pointer", "i32", "i32"], result: "pointer" },
  dnnl_reorder_primitive_desc_create: {
    parameters: ["buffer", "pointer", "pointer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_create: { parameters: ["buffer", "pointer"], result: "i32" },
  dnnl_memory_create: { parameters: ["buffer", "pointer", "pointer", "usize"], result: "i32" },
  dnnl_memory_set_data_handle: { parameters: ["pointer", "usize"], result: "i32" },
  dnnl_primitive_execute: { parameters: ["pointer", "pointer", "i32", "buffer"], result: "i32" },
  dnnl_stream_wait: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_desc_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_memory_destroy: { parameters: ["pointer"], result: "i32" },
} as const;

// dnnl_types.h (2.x): engine, data type, propagation and algorithm kinds, queries, arguments.
const CPU_ENGINE = 1;
const IN_ORDER_STREAM = 1;
const F32 = 3;
const FORWARD_TRAINING = 64;
const CONVOLUTION_DIRECT = 1;
const FORMAT_ANY = 1; // dnnl_format_tag_any
const QUERY = { weights: 131, diffWeights: 132 };
const ARG = {
  src: 1,
  dst: 17,
  weights: 33,
  bias: 41,
  diffSrc: 129,
  diffDst: 145,
  diffWeights: 161,
};
// sizeof(dnnl_memory_desc_t) is ~730 bytes and a convolution descriptor ~8 descriptors more;
// these buffers are larger than either, whatever the build's padding.
const MEMORY_DESC_BYTES = 4096;
const OP_DESC_BYTES = 65536;
// Plans kept (least recently used dropped first): a training run needs ~3 per conv layer and
// batch size; a search trains many models in one worker process, and each plan holds JIT code
// and scratch memory.
const MAX_PLANS = 96;
let planLimit = MAX_PLANS;

/** Sets how many plans are kept (default 96); tests lower it to see plans dropped and rebuilt. */
export function setOneDnnPlanLimit(limit = MAX_PLANS): void {
  planLimit = Math.max(1, limit);
}

type Library = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
/** The three convolutions of a conv layer. */
export type ConvKind = "forward" | "inputGradient" | "filterGradient";
type Pointer = Deno.PointerValue;

interface Plan {
  primitive: Pointer;
  /** Memory objects by argument; their data handles are set before each run. */
  memories: Map<number, Pointer>;
  args: Uint8Array;
  /** The filter (or its gradient) in the primitive's own layout, where that differs. */
  blocked?: { address: number; buffer: Float32Array; reorder: Reorder };
  /** What oneDNN allocated for the plan, freed when the plan is dropped. */
  owned: { primitives: Pointer[]; descs: Pointer[]; memories: Pointer[] };
}

interface Reorder {
  primitive: Pointer;
  args: Uint8Array;
}

let loaded: OneDnnConvs | null | undefined;

/** oneDNN's convolutions, or undefined where the library (2.x) does not load. */
export function oneDnnConvs(): OneDnnConvs | undefined {
  if (loaded === undefined) {
    try {
      loaded = load() ?? null;
    } catch {
      loaded = null; // no CPU engine or stream: the sgemm kernels run
    }
  }
  return loaded ?? undefined;
}

// Where to look: the oneDNN that SIZEWISE_BLAS names, none where it names another library (or
// "off"), else the OS's candidates.
function libraryPaths(): string[] {
  const setting = readSetting("blas");
  if (setting === undefined) return oneDnnCandidates();
  return /dnnl/i.test(setting) ? [setting] : [];
}

function load(): OneDnnConvs | undefined {
  let library: Library | undefined;
  for (const path of libraryPaths()) {
    try {
      library = Deno.dlopen(path, SYMBOLS).symbols;
      break;
    } catch {
      // not there, or oneDNN 3 (no *_desc_init): the sgemm kernels run
    }
  }
  if (library === undefined) return undefined;
  const api = library;
  const engine = created((out) => api.dnnl_engine_create(out, CPU_ENGINE, 0n), "engine");
  const stream = created((out) => api.dnnl_stream_create(out, engine, IN_ORDER_STREAM), "stream");
  const plans = new Map<string, Plan | null>();

  const descriptor = (dims: number[], strides: number[]) => {
    const desc = new Uint8Array(MEMORY_DESC_BYTES);
    check(
      api.dnnl_memory_desc_init_by_strides(desc, dims.length, int64s(dims), F32, int64s(strides)),
      "memory descriptor",
    );
    return desc;
  };
  // Format "any": the primitive chooses the layout (what PyTorch asks for too).
  const anyDescriptor = (dims: number[]) => {
    const desc = new Uint8Array(MEMORY_DESC_BYTES);
    check(
      api.dnnl_memory_desc_init_by_tag(desc, dims.length, int64s(dims), F32, FORMAT_ANY),
      "memory descriptor",
    );
    return desc;
  };
  const memory = (desc: Uint8Array | Pointer) => {
    const made = created(
      (out) =>
        api.dnnl_memory_create(
          out,
          desc instanceof Uint8Array ? Deno.UnsafePointer.of(desc) : desc,
          engine,
          0n,
        ),
      "memory",
    );
    owned.memories.push(made);
    return made;
  };

  // A plain filter [co, ci, kh, kw] laid out as tf.js' [kh, kw, ci, co].
  const userFilter = (g: ConvGeometry) =>
    descriptor(
      [g.outChannels, g.inChannels, g.filterHeight, g.filterWidth],
      [
        1,
        g.outChannels,
        g.filterWidth * g.inChannels * g.outChannels,
        g.inChannels * g.outChannels,
      ],
    );
  const images = (n: number, c: number, h: number, w: number) =>
    descriptor([n, c, h, w], [h * w * c, 1, w * c, c]);

  // The primitive of one kind for one geometry (or null where oneDNN has none for it).
  // oneDNN sizes its kernels' work split for the threads it is built under: one plan per count.
  const plan = (kind: ConvKind, g: ConvGeometry, bias: boolean, wanted: number) => {
    const threads = threadsForProduct(macs(g), wanted);
    setOpenMpThreads(threads);
    const key = `${kind} ${Object.values(g).join(",")} ${bias} ${threads}`;
    let found = plans.get(key);
    if (found !== undefined) {
      plans.delete(key); // re-inserted below: the most recently used last
    } else {
      try {
        found = buildPlan(kind, g, bias);
      } catch {
        found = null; // e.g. unimplemented for this geometry: the sgemm kernels take it
      }
    }
    plans.set(key, found);
    while (plans.size > planLimit) {
      const [oldest, dropped] = plans.entries().next().value!;
      plans.delete(oldest);
      if (dropped !== null) free(dropped);
    }
    return found;
  };

  let owned: Plan["owned"] = { primitives: [], descs: [], memories: [] };
  const free = (p: Plan) => {
    for (const primitive of p.owned.primitives) api.dnnl_primitive_destroy(primitive);
    for (const desc of p.owned.descs) api.dnnl_primitive_desc_destroy(desc);
    for (const memory of p.owned.memories) api.dnnl_memory_destroy(memory);
  };

  const buildPlan = (kind: ConvKind, g: ConvGeometry, bias: boolean): Plan => {
    owned = { primitives: [], descs: [], memories: [] };
    try {
      return { ...buildParts(kind, g, bias), owned };
    } catch (error) {
      free({ owned } as Plan);
      throw error;
    }
  };

  const buildParts = (kind: ConvKind, g: ConvGeometry, bias: boolean) => {
    const src = images(g.batch, g.inChannels, g.inHeight, g.inWidth);
    const dst = images(g.batch, g.outChannels, g.outHeight, g.outWidth);
    const filterAny = anyDescriptor([
      g.outChannels,
      g.inChannels,
      g.filterHeight,
      g.filterWidth,
    ]);
    const biasDesc = descriptor([g.outChannels], [1]);
    const strides = int64s([g.strideHeight, g.strideWidth]);
    const padL = int64s([g.padTop, g.padLeft]);
    const padR = int64s([g.padBottom, g.padRight]);
    const forwardOp = new Uint8Array(OP_DESC_BYTES);
    check(
      api.dnnl_convolution_forward_desc_init(
        forwardOp,
        FORWARD_TRAINING,
        CONVOLUTION_DIRECT,
        src,
        filterAny,
        bias ? biasDesc : new Uint8Array(MEMORY_DESC_BYTES),
        dst,
        strides,
        padL,
        padR,
      ),
      "convolution descriptor",
    );
    const forwardPd = primitiveDesc(forwardOp, null);
    let pd = forwardPd;
    if (kind === "inputGradient") {
      const op = new Uint8Array(OP_DESC_BYTES);
      check(
        api.dnnl_convolution_backward_data_desc_init(
          op,
          CONVOLUTION_DIRECT,
          src,
          filterAny,
          dst,
          strides,
          padL,
          padR,
        ),
        "input-gradient descriptor",
      );
      pd = primitiveDesc(op, forwardPd);
    } else if (kind === "filterGradient") {
      const op = new Uint8Array(OP_DESC_BYTES);
      check(
        api.dnnl_convolution_backward_weights_desc_init(
          op,
          CONVOLUTION_DIRECT,
          src,
          filterAny,
          new Uint8Array(MEMORY_DESC_BYTES), // tf.js sums the bias gradient itself
          dst,
          strides,
          padL,
          padR,
        ),
        "filter-gradient descriptor",
      );
      pd = primitiveDesc(op, forwardPd);
    }
    const primitive = created((out) => api.dnnl_primitive_create(out, pd), "primitive");
    owned.primitives.push(primitive);
    const filterArg = kind === "filterGradient" ? ARG.diffWeights : ARG.weights;
    const chosen = api.dnnl_primitive_desc_query_md(
      pd,
      kind === "filterGradient" ? QUERY.diffWeights : QUERY.weights,
      0,
    );
    const user = userFilter(g);
    const memories = new Map<number, Pointer>();
    let blocked: Plan["blocked"];
    if (api.dnnl_memory_desc_equal(chosen, user) === 1) {
      memories.set(filterArg, memory(user));
    } else {
      const floats = Number(api.dnnl_memory_desc_get_size(chosen)) / 4;
      const buffer = new Float32Array(floats + 16); // room to align to 64 bytes
      const address = alignedAddress(buffer, 64);
      const own = memory(chosen);
      check(api.dnnl_memory_set_data_handle(own, BigInt(address)), "data handle");
      memories.set(filterArg, own);
      const userMemory = memory(user);
      const [from, to] = kind === "filterGradient" ? [own, userMemory] : [userMemory, own];
      blocked = {
        address,
        buffer,
        reorder: reorder(
          kind === "filterGradient" ? chosen : Deno.UnsafePointer.of(user),
          kind === "filterGradient" ? Deno.UnsafePointer.of(user) : chosen,
          from,
          to,
        ),
      };
      // The user-layout memory is the reorder's; the primitive sees only `own`.
      memories.set(-filterArg, userMemory);
    }
    if (kind === "forward") {
      memories.set(ARG.src, memory(src));
      memories.set(ARG.dst, memory(dst));
      if (bias) memories.set(ARG.bias, memory(biasDesc));
    } else if (kind === "inputGradient") {
      memories.set(ARG.diffSrc, memory(src));
      memories.set(ARG.diffDst, memory(dst));
    } else {
      memories.set(ARG.src, memory(src));
      memories.set(ARG.diffDst, memory(dst));
    }
    const args = execArgs([...memories].filter(([arg]) => arg > 0));
    // Descriptors are copied into the primitives; these buffers may go.
    return { primitive, memories, args, blocked };
  };

  const primitiveDesc = (op: Uint8Array, hint: Pointer) => {
    const made = created(
      (out) => api.dnnl_primitive_desc_create(out, op, null, engine, hint),
      "primitive descriptor",
    );
    owned.descs.push(made);
    return made;
  };

  const reorder = (fromDesc: Pointer, toDesc: Pointer, from: Pointer, to: Pointer): Reorder => {
    const pd = created(
      (out) => api.dnnl_reorder_primitive_desc_create(out, fromDesc, engine, toDesc, engine, null),
      "reorder",
    );
    owned.descs.push(pd);
    const primitive = created((out) => api.dnnl_primitive_create(out, pd), "reorder primitive");
    owned.primitives.push(primitive);
    return { primitive, args: execArgs([[ARG.src, from], [ARG.dst, to]]) };
  };

  const run = (primitive: Pointer, args: Uint8Array) => {
    check(api.dnnl_primitive_execute(primitive, stream, args.length / 16, args), "execute");
    check(api.dnnl_stream_wait(stream), "stream wait");
  };
  const setHandle = (memory: Pointer | undefined, address: number) =>
    check(api.dnnl_memory_set_data_handle(memory!, BigInt(address)), "data handle");

  // Runs `p` with the filter given at `filter` in tf.js' layout (reordered in or out).
  const execute = (p: Plan, filterArg: number, filter: number, handles: [number, number][]) => {
    for (const [arg, address] of handles) setHandle(p.memories.get(arg), address);
    if (p.blocked === undefined) {
      setHandle(p.memories.get(filterArg), filter);
      run(p.primitive, p.args);
    } else if (filterArg === ARG.weights) {
      setHandle(p.memories.get(-filterArg), filter);
      run(p.blocked.reorder.primitive, p.blocked.reorder.args);
      run(p.primitive, p.args);
    } else {
      run(p.primitive, p.args);
      setHandle(p.memories.get(-filterArg), filter);
      run(p.blocked.reorder.primitive, p.blocked.reorder.args);
    }
    convs.calls++;
  };

  const convs: OneDnnConvs = {
    calls: 0,
    has: (kind, g, threads, bias = false) => plan(kind, g, bias, threads) !== null,
    plans: () => plans.size,
    forward(g, threads, x, filter, bias, y) {
      const p = plan("forward", g, bias !== 0, threads);
      if (p === null) return false;
      const handles: [number, number][] = [[ARG.src, x], [ARG.dst, y]];
      if (bias !== 0) handles.push([ARG.bias, bias]);
      execute(p, ARG.weights, filter, handles);
      return true;
    },
    inputGradient(g, threads, dx, filter, dy) {
      const p = plan("inputGradient", g, false, threads);
      if (p === null) return false;
      execute(p, ARG.weights, filter, [[ARG.diffSrc, dx], [ARG.diffDst, dy]]);
      return true;
    },
    filterGradient(g, threads, x, dFilter, dy) {
      const p = plan("filterGradient", g, false, threads);
      if (p === null) return false;
      execute(p, ARG.diffWeights, dFilter, [[ARG.src, x], [ARG.diffDst, dy]]);
      return true;
    },
  };
  return convs;
}

/** Multiply-adds of one pass of the conv (each of the three kinds does as many). */
export function macs(g: ConvGeometry): number {
  return g.batch * g.outHeight * g.outWidth * g.outChannels * g.filterHeight * g.filterWidth *
    g.inChannels;
}

function created(make: (out: Uint8Array) => number, what: string): Pointer {
  const out = new BigUint64Array(1);
  check(make(new Uint8Array(out.buffer)), what);
  return Deno.UnsafePointer.create(out[0]);
}

function check(status: number, what: string): void {
  if (status !== 0) throw new Error(`oneDNN: the ${what} failed (status ${status})`);
}

function int64s(values: number[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
}

// dnnl_exec_arg_t: { int arg; dnnl_memory_t memory; } (16 bytes, padded).
function execArgs(pairs: [number, Pointer][]): Uint8Array {
  const words = new BigUint64Array(pairs.length * 2);
  pairs.forEach(([arg, memory], i) => {
    words[2 * i] = BigInt(arg);
    words[2 * i + 1] = BigInt(Deno.UnsafePointer.value(memory));
  });
  return new Uint8Array(words.buffer);
}

function alignedAddress(buffer: Float32Array, alignment: number): number {
  const start = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
  return Math.ceil(start / alignment) * alignment;
}
