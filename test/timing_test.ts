import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { initBackend } from "../lib/backend/backend.ts";
import { buildModel } from "../lib/models/registry.ts";
import {
  formatTiming,
  measureTrainStep,
  scaleTiming,
  timeRepeated,
  timingOf,
} from "../lib/measure/timing.ts";

await initBackend("wasm");

Deno.test("timeRepeated() runs the warm-ups untimed, then times every repeat", () => {
  let calls = 0;
  const timing = timeRepeated(() => calls++, { warmups: 2, repeats: 5 });
  assertEquals(calls, 7);
  assertEquals([timing.warmups, timing.repeats, timing.seconds.length], [2, 5, 5]);
  assertEquals(timeRepeated(() => {}).repeats, 5); // the default: 5 repeats after 1 warm-up
  assertThrows(() => timeRepeated(() => {}, { repeats: 0 }), /repeats must be a whole number/);
  assertThrows(() => timeRepeated(() => {}, { warmups: -1 }), /warmups must be/);
});

Deno.test("timingOf() gives the median with the fastest and slowest; scaleTiming() scales all", () => {
  const timing = timingOf([3, 1, 2, 10, 2]);
  assertEquals([timing.medianSeconds, timing.minSeconds, timing.maxSeconds], [2, 1, 10]);
  const scaled = scaleTiming(timing, 10);
  assertEquals([scaled.medianSeconds, scaled.minSeconds, scaled.maxSeconds], [20, 10, 100]);
  assertEquals(formatTiming(timing, 1), "2.0 s (1.0-10.0, median of 5)");
  assertThrows(() => timingOf([]), /at least one timed repeat/);
});

Deno.test("measureTrainStep() times real SGD steps of a model and leaks no tensors", () => {
  const model = buildModel("small-net", { seed: 0 });
  const before = tf.memory().numTensors;
  const weightsBefore = Array.from(model.trainableWeights[0].read().dataSync());
  const timing = measureTrainStep(model, { batchSize: 8, repeats: 5 });
  assertEquals(tf.memory().numTensors, before, "measureTrainStep() leaks tensors");
  assertEquals(timing.repeats, 5);
  assert(timing.minSeconds > 0);
  // The steps did train: the first layer's weights moved.
  const after = Array.from(model.trainableWeights[0].read().dataSync());
  assert(after.some((value, i) => value !== weightsBefore[i]), "the weights changed");
  assertThrows(() => measureTrainStep(model, { batchSize: 0 }), /batchSize must be a positive/);
  model.dispose();
});
