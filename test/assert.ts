/**
 * The one place tests get their assertions from. JSR is not reachable here, so this
 * re-exports Node's strict assert; swapping it for `@std/assert` is a one-file change.
 */
export {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  notStrictEqual as assertNotEquals,
  ok as assert,
  rejects as assertRejects,
  strictEqual as assertStrictEquals,
  throws as assertThrows,
} from "node:assert/strict";

/** Asserts that `actual` is within `tolerance` of `expected`. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  message?: string,
): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new Error(
      message ??
        `Expected ${actual} to be within ${tolerance} of ${expected} (difference ${
          Math.abs(actual - expected)
        })`,
    );
  }
}

/** Asserts that `actual` matches `expected` within `tolerance` times the largest |expected|. */
export function assertMaxRelativeError(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  message = "arrays",
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${message}: expected ${expected.length} values, got ${actual.length}`);
  }
  let scale = 0;
  let worst = 0;
  let worstIndex = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    const error = Math.abs(actual[i] - expected[i]);
    if (Number.isNaN(error)) {
      throw new Error(`${message}: index ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
    if (error > worst) [worst, worstIndex] = [error, i];
  }
  const relative = scale === 0 ? worst : worst / scale;
  if (!(relative <= tolerance)) {
    throw new Error(
      `${message}: max relative error ${relative.toExponential(2)} exceeds ${tolerance} ` +
        `(index ${worstIndex}: ${actual[worstIndex]} vs ${expected[worstIndex]}, scale ${scale})`,
    );
  }
}
