/**
 * SGD with (Nesterov) momentum whose update runs as one kernel per variable on wasm. tf.js's
 * MomentumOptimizer runs six elementwise kernels per variable (plus a tidy scope), each a
 * pass over memory with its own bookkeeping: keras-cnn's 1.2M weights take ~4 ms a step that
 * way, 2.5 ms in one pass (the floor: three arrays read, two written). Results match tf.js's
 * to float rounding; other backends run tf.js's own update. The kernel writes new buffers, not
 * the old ones in place: XNNPACK caches packed weights by buffer, and clones share buffers.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { heapOffset, simdLoops } from "./simd.ts";

/** The kernel that computes one variable's momentum update (wasm only). */
export const MOMENTUM_UPDATE = "MomentumUpdate";

/** Attributes of the `MomentumUpdate` kernel. */
export interface MomentumUpdateAttrs {
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  /**
   * A second gradient of the same shape as `dy` and the weights of the two (data-parallel
   * training): the step then uses `a * dy + b * other`. Plain values, not a tensor, so the
   * worker's gradient is read where it lies, in shared memory, without a copy.
   */
  mix?: { other: Float32Array; a: number; b: number };
}

interface MomentumUpdateArgs {
  inputs: { x: tf.TensorInfo; accumulation: tf.TensorInfo; dy: tf.TensorInfo };
  backend: tf.KernelBackend;
  attrs: MomentumUpdateAttrs;
}

type VariableGradients = Parameters<tf.MomentumOptimizer["applyGradients"]>[0];

// The fields of tf.MomentumOptimizer this subclass reads (private in its typings).
interface MomentumState {
  learningRate: number;
  momentum: number;
  useNesterov: boolean;
  accumulations: { originalName: string; variable: tf.Variable }[];
}

/**
 * tf.train.momentum() with a fused update on wasm. Accumulators live where tf.js keeps them
 * (one per variable, in the order of minimize()'s varList), so code that reads or restores
 * them works unchanged.
 */
export class FusedMomentumOptimizer extends tf.MomentumOptimizer {
  override applyGradients(variableGradients: VariableGradients): void {
    if (!this.#fused()) return super.applyGradients(variableGradients);
    const named = Array.isArray(variableGradients)
      ? variableGradients
      : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    this.#update(named.map(({ name, tensor }) => ({ name, dy: tensor })));
  }

  /**
   * Applies the weighted mean `a * mine + b * theirs` of two gradients of the same variables
   * (in `names`' order; `theirs` as flat values), as `applyGradients` would, with the mean
   * computed inside the fused update on wasm instead of as a pass of its own.
   */
  applyMixedGradients(
    names: string[],
    mine: tf.Tensor[],
    theirs: Float32Array[],
    [a, b]: [number, number],
  ): void {
    if (this.#fused()) {
      this.#update(
        names.map((name, i) => ({ name, dy: mine[i], mix: { other: theirs[i], a, b } })),
      );
      return;
    }
    const mixed = tf.tidy(() =>
      mine.map((dy, i) => tf.add(tf.mul(dy, a), tf.mul(tf.tensor(theirs[i], dy.shape), b)))
    );
    super.applyGradients(names.map((name, i) => ({ name, tensor: mixed[i] })));
    tf.dispose(mixed);
  }

  #fused(): boolean {
    return tf.getBackend() === "wasm" && tf.getKernel(MOMENTUM_UPDATE, "wasm") !== undefined;
  }

  #update(
    updates: { name: string; dy: tf.Tensor | null; mix?: MomentumUpdateAttrs["mix"] }[],
  ): void {
    const state = this as unknown as MomentumState;
    updates.forEach(({ name, dy, mix }, i) => {
      const value = tf.engine().registeredVariables[name];
      state.accumulations[i] ??= {
        originalName: `${name}/momentum`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      if (dy == null) return;
      const accumulation = state.accumulations[i].variable;
      const attrs = {
        learningRate: state.learningRate,
        momentum: state.momentum,
        nesterov: state.useNesterov,
        mix,
      };
      const [newValue, newAccumulation] = tf.engine().runKernel(
        MOMENTUM_UPDATE,
        { x: value, accumulation, dy },
        attrs as unknown as tf.NamedAttrMap,
      ) as tf.Tensor[];
      accumulation.assign(newAccumulation);
      value.assign(newValue);
      tf.dispose([newValue, newAccumulation]);
    });
    this.incrementIterations();
  }
}

/** Registers the `MomentumUpdate` kernel on wasm (once; then a no-op). */
export function registerMomentumKernel(): void {
  if (tf.getKernel(MOMENTUM_UPDATE, "wasm") !== undefined) return;
  tf.registerKernel({
    kernelName: MOMENTUM_UPDATE,
    backendName: "wasm",
    kernelFunc: momentumUpdate as unknown as tf.KernelFunc,
  });
}

// tf.js: a' = m * a + g; Nesterov: x' = -lr * (g + a' * m) + x, else x' = -lr * a' + x. The
// SIMD loop (simd.wat) rounds each operation as tf.js does. The JS loop, for data-parallel
// steps and where SIMD is off, computes in double precision and rounds once when stored, so it
// differs from tf.js in the last bits (rounding each step with Math.fround made it 2.5x slower).
function momentumUpdate({ inputs, backend, attrs }: MomentumUpdateArgs): tf.TensorInfo[] {
  const wasm = backend as BackendWasm;
  const newValue = wasm.makeOutput(inputs.x.shape, "float32");
  const newAccumulation = wasm.makeOutput(inputs.x.shape, "float32");
  const simd = attrs.mix ? undefined : simdLoops(wasm);
  if (simd !== undefined) {
    // 4 floats at a time, each operation rounded to float32 as tf.js's own update does.
    const step = attrs.nesterov ? simd.momentumNesterov : simd.momentumPlain;
    const at = (info: tf.TensorInfo) => heapOffset(wasm, info);
    step(
      at(inputs.x),
      at(inputs.accumulation),
      at(inputs.dy),
      at(newValue),
      at(newAccumulation),
      tf.util.sizeFromShape(inputs.x.shape),
      attrs.momentum,
      -attrs.learningRate,
    );
    return [newValue, newAccumulation];
  }
  // Views after both allocations: growing the heap detaches earlier ones.
  const x = wasm.typedArrayFromHeap(inputs.x) as Float32Array;
  const a = wasm.typedArrayFromHeap(inputs.accumulation) as Float32Array;
  const g = wasm.typedArrayFromHeap(inputs.dy) as Float32Array;
  const xOut = wasm.typedArrayFromHeap(newValue) as Float32Array;
  const aOut = wasm.typedArrayFromHeap(newAccumulation) as Float32Array;
  const m = Math.fround(attrs.momentum);
  const c = Math.fround(-attrs.learningRate);
  if (attrs.mix) {
    const { other: g2, a: wa, b: wb } = attrs.mix;
    if (g2.length !== x.length) {
      throw new Error(
        `MomentumUpdate: the second gradient has ${g2.length} values, not ${x.length}`,
      );
    }
    for (let i = 0; i < x.length; i++) {
      const gradient = wa * g[i] + wb * g2[i];
      const acc = m * a[i] + gradient;
      aOut[i] = acc;
      xOut[i] = attrs.nesterov ? c * (gradient + acc * m) + x[i] : c * acc + x[i];
    }
  } else if (attrs.nesterov) {
    for (let i = 0; i < x.length; i++) {
      const gradient = g[i];
      const acc = m * a[i] + gradient;
      aOut[i] = acc;
      xOut[i] = c * (gradient + acc * m) + x[i];
    }
  } else {
    for (let i = 0; i < x.length; i++) {
      const acc = m * a[i] + g[i];
      aOut[i] = acc;
      xOut[i] = c * acc + x[i];
    }
  }
  return [newValue, newAccumulation];
}
