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
