/**
 * The one place tests get their assertions from, with the semantics of Deno's `@std/assert`
 * (JSR is not reachable here): `assertEquals` and `assertNotEquals` compare deeply,
 * `assertThrows(fn, ErrorClass, msgIncludes)` and `assertRejects` check the error's class and
 * that its message includes the text, and return the error. Swapping this file for
 * `@std/assert` is a one-file change; keep the `RegExp` form of `assertThrows`/`assertRejects`
 * (an extension: the pattern is matched against `String(error)`, "Name: message") as a
 * wrapper here when doing it.
 */
import { deepStrictEqual, match, notDeepStrictEqual, ok, strictEqual } from "node:assert/strict";

/** Asserts that `actual` and `expected` are deeply equal (same values, types and prototypes). */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

/** Asserts that `actual` and `expected` are not deeply equal: two equal fresh arrays fail. */
export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  notDeepStrictEqual(actual, expected, message);
}

/** Asserts that `actual` is the same value as `expected` (`Object.is`). */
export function assertStrictEquals<T>(actual: unknown, expected: T, message?: string): void {
  strictEqual(actual, expected, message);
}

/** Asserts that `expr` is truthy. */
export function assert(expr: unknown, message?: string): asserts expr {
  ok(expr, message);
}

/** Asserts that `actual` matches the regular expression `expected`. */
export function assertMatch(actual: string, expected: RegExp, message?: string): void {
  match(actual, expected, message);
}

/** An error class, as `assertThrows(fn, TypeError)` takes it. */
// deno-lint-ignore no-explicit-any
export type ErrorClass<E extends Error = Error> = abstract new (...args: any[]) => E;

/** Thrown when an assertion fails (the name `@std/assert` gives it). */
export class AssertionError extends Error {
  /** Makes an assertion failure with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/**
 * Asserts that `fn` throws; with `ErrorClass`, an instance of it whose message includes
 * `msgIncludes`; with a `RegExp`, an error whose `String(error)` matches it. Returns the error.
 */
export function assertThrows(fn: () => unknown, message?: string): unknown;
/** Asserts that `fn` throws an error matching `pattern` (matched against `String(error)`). */
export function assertThrows(fn: () => unknown, pattern: RegExp, message?: string): Error;
/** Asserts that `fn` throws an `ErrorClass` whose message includes `msgIncludes`. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  errorClass: ErrorClass<E>,
  msgIncludes?: string,
  message?: string,
): E;
export function assertThrows(
  fn: () => unknown,
  expected?: string | RegExp | ErrorClass,
  msgIncludes?: string,
  message?: string,
): unknown {
  let thrown = false;
  let error: unknown;
  try {
    fn();
  } catch (caught) {
    thrown = true;
    error = caught;
  }
  const [matcher, text, suffix] = splitExpectation(expected, msgIncludes, message);
  if (!thrown) throw new AssertionError(`Expected function to throw${suffix}.`);
  checkError(error, matcher, text, suffix);
  return error;
}

/**
 * Asserts that the promise `fn` returns rejects; with `ErrorClass`, with an instance of it
 * whose message includes `msgIncludes`; with a `RegExp`, with an error whose `String(error)`
 * matches it. Returns the error.
 */
export function assertRejects(fn: () => PromiseLike<unknown>, message?: string): Promise<unknown>;
/** Asserts that `fn`'s promise rejects with an error matching `pattern`. */
export function assertRejects(
  fn: () => PromiseLike<unknown>,
  pattern: RegExp,
  message?: string,
): Promise<Error>;
/** Asserts that `fn`'s promise rejects with an `ErrorClass` whose message includes `msgIncludes`. */
export function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  errorClass: ErrorClass<E>,
  msgIncludes?: string,
  message?: string,
): Promise<E>;
export async function assertRejects(
  fn: () => PromiseLike<unknown>,
  expected?: string | RegExp | ErrorClass,
  msgIncludes?: string,
  message?: string,
): Promise<unknown> {
  const [matcher, text, suffix] = splitExpectation(expected, msgIncludes, message);
  let promise: PromiseLike<unknown>;
  try {
    promise = fn();
  } catch (error) {
    throw new AssertionError(
      `Function throws when expected to reject${suffix}: ${String(error)}`,
    );
  }
  if (typeof promise?.then !== "function") {
    throw new AssertionError(`Function returns a ${typeof promise}, not a promise${suffix}.`);
  }
  let rejected = false;
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    rejected = true;
    error = caught;
  }
  if (!rejected) throw new AssertionError(`Expected function to reject${suffix}.`);
  checkError(error, matcher, text, suffix);
  return error;
}

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

type Matcher = RegExp | ErrorClass | undefined;

/** Sorts the optional arguments into a matcher, the text to include and the ": message" suffix. */
function splitExpectation(
  expected: string | RegExp | ErrorClass | undefined,
  msgIncludes: string | undefined,
  message: string | undefined,
): [Matcher, string | undefined, string] {
  if (typeof expected === "string") return [undefined, undefined, `: ${expected}`];
  if (expected instanceof RegExp) {
    return [expected, undefined, msgIncludes === undefined ? "" : `: ${msgIncludes}`];
  }
  if (expected !== undefined && typeof expected !== "function") {
    throw new TypeError(
      `assertThrows/assertRejects take an error class or a RegExp, got ${typeof expected}`,
    );
  }
  return [expected, msgIncludes, message === undefined ? "" : `: ${message}`];
}

function checkError(error: unknown, matcher: Matcher, text: string | undefined, suffix: string) {
  if (matcher instanceof RegExp) {
    if (!matcher.test(String(error))) {
      throw new AssertionError(
        `Expected error matching ${matcher}, got "${String(error)}"${suffix}.`,
      );
    }
    return;
  }
  if (matcher === undefined) return;
  if (!(error instanceof matcher)) {
    throw new AssertionError(
      `Expected error to be an instance of "${matcher.name}", got ${describe(error)}${suffix}.`,
    );
  }
  if (text !== undefined && !(error as Error).message.includes(text)) {
    throw new AssertionError(
      `Expected error message to include "${text}", got "${(error as Error).message}"${suffix}.`,
    );
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `"${error.name}: ${error.message}"`;
  return `a thrown ${typeof error} (${String(error)})`;
}
