import {
  assert,
  assertAlmostEquals,
  assertEquals,
  AssertionError,
  assertMatch,
  assertMaxRelativeError,
  assertNotEquals,
  assertRejects,
  assertStrictEquals,
  assertThrows,
} from "./assert.ts";

/** Runs `check` and returns what it threw; fails the test when it did not throw. */
function failureOf(check: () => unknown): Error {
  try {
    check();
  } catch (error) {
    return error as Error;
  }
  throw new Error("Expected the assertion to fail, but it passed");
}

/** The same for an async assertion. */
async function rejectionOf(check: () => Promise<unknown>): Promise<Error> {
  try {
    await check();
  } catch (error) {
    return error as Error;
  }
  throw new Error("Expected the assertion to fail, but it passed");
}

class ParseError extends Error {}

Deno.test("assertEquals() compares deeply, and fails on a different value or type", () => {
  assertEquals([1, { a: [2] }], [1, { a: [2] }]);
  assertEquals(new Float32Array([1, 2]), new Float32Array([1, 2]));
  failureOf(() => assertEquals([1, 2], [1, 3]));
  failureOf(() => assertEquals(new Float32Array([1]), [1])); // same numbers, another type
  assertMatch(failureOf(() => assertEquals(1, 2, "the count")).message, /the count/);
});

Deno.test("assertNotEquals() compares deeply: two equal fresh arrays fail", () => {
  assertNotEquals([1, 2], [1, 3]);
  assertNotEquals({ a: 1 }, { a: 2 });
  failureOf(() => assertNotEquals([1, 2], [1, 2]));
  failureOf(() => assertNotEquals(Array.from([3, 4]), Array.from([3, 4])));
  failureOf(() => assertNotEquals({ a: [1] }, { a: [1] }));
  assertMatch(failureOf(() => assertNotEquals(1, 1, "seeds differ")).message, /seeds differ/);
});

Deno.test("assert(), assertStrictEquals() and assertMatch() fail on the wrong input", () => {
  assert(1);
  failureOf(() => assert(0));
  assertMatch(failureOf(() => assert(false, "why it failed")).message, /why it failed/);
  assertStrictEquals(2, 2);
  failureOf(() => assertStrictEquals([1], [1])); // another array: not the same value
  assertMatch("epoch 3/20", /epoch \d+\/20/);
  failureOf(() => assertMatch("epoch 3/20", /epoch \d+\/10/));
});

Deno.test("assertThrows() fails when nothing is thrown, and returns what was", () => {
  const error = new ParseError("bad header");
  assertStrictEquals(
    assertThrows(() => {
      throw error;
    }),
    error,
  );
  const failure = failureOf(() => assertThrows(() => 1));
  assert(failure instanceof AssertionError);
  assertMatch(failure.message, /Expected function to throw/);
  assertMatch(failureOf(() => assertThrows(() => 1, "parse must fail")).message, /parse must fail/);
});

Deno.test("assertThrows(fn, ErrorClass, msgIncludes) checks the class and the message's text", () => {
  const thrower = () => {
    throw new ParseError("Cannot parse labels.gz: wrong magic number 1234");
  };
  const error = assertThrows(thrower, ParseError, "wrong magic number");
  assertEquals(error.message, "Cannot parse labels.gz: wrong magic number 1234");
  assertThrows(thrower, Error, "labels.gz"); // a subclass counts
  // The text is checked, not shown only when nothing throws (node:assert's third argument).
  assertMatch(
    failureOf(() => assertThrows(thrower, Error, "batch norm")).message,
    /Expected error message to include "batch norm", got "Cannot parse labels\.gz/,
  );
  assertMatch(
    failureOf(() => assertThrows(thrower, TypeError)).message,
    /Expected error to be an instance of "TypeError"/,
  );
  failureOf(() =>
    assertThrows(() => {
      throw "a string";
    }, Error)
  );
  failureOf(() => assertThrows(() => undefined, Error, "anything"));
});

Deno.test("assertThrows(fn, RegExp) matches the pattern against String(error)", () => {
  const thrower = () => {
    throw new RangeError("seed must be an integer; got 0.5");
  };
  assertThrows(thrower, /seed must be an integer/);
  assertThrows(thrower, /^RangeError: seed/);
  assertMatch(
    failureOf(() => assertThrows(thrower, /trainSize/)).message,
    /Expected error matching \/trainSize\/, got "RangeError: seed must be an integer; got 0\.5"/,
  );
  failureOf(() => assertThrows(() => 1, /seed/));
});

Deno.test("assertRejects() checks the rejection like assertThrows, and returns the error", async () => {
  const reject = () => Promise.reject(new ParseError("Training diverged at epoch 1"));
  const error = await assertRejects(reject, ParseError, "diverged");
  assertEquals(error.message, "Training diverged at epoch 1");
  await assertRejects(reject, /^Error: Training diverged/);
  await assertRejects(reject);
  assertMatch(
    (await rejectionOf(() => assertRejects(reject, Error, "batch norm"))).message,
    /Expected error message to include "batch norm", got "Training diverged at epoch 1"/,
  );
  await rejectionOf(() => assertRejects(reject, TypeError));
  await rejectionOf(() => assertRejects(reject, /epoch 2/));
  assertMatch(
    (await rejectionOf(() => assertRejects(() => Promise.resolve(1)))).message,
    /Expected function to reject/,
  );
  assertMatch(
    (await rejectionOf(() =>
      assertRejects(() => {
        throw new Error("sync");
      })
    )).message,
    /Function throws when expected to reject/,
  );
});

Deno.test("assertAlmostEquals() and assertMaxRelativeError() fail outside the tolerance", () => {
  assertAlmostEquals(0.1 + 0.2, 0.3);
  failureOf(() => assertAlmostEquals(0.31, 0.3, 1e-3));
  failureOf(() => assertAlmostEquals(NaN, 0.3, 1));
  assertMaxRelativeError([1, 2.0001], [1, 2], 1e-4);
  failureOf(() => assertMaxRelativeError([1, 2.01], [1, 2], 1e-4));
  failureOf(() => assertMaxRelativeError([1], [1, 2], 1));
  failureOf(() => assertMaxRelativeError([NaN], [1], 1));
});
