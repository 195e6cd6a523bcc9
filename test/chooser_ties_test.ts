import { assertAlmostEquals, assertEquals } from "./assert.ts";
import {
  accuracyStandardError,
  type Candidate,
  chooseForDevice,
  rankCandidates,
} from "../lib/studies/chooser.ts";

function candidate(name: string, accuracy: number, weightMB: number, evaluatedOn?: number) {
  return { name, params: 1, weightMB, latencyMs: 1, accuracy, source: "test", evaluatedOn };
}

Deno.test("accuracyStandardError() is the binomial standard error", () => {
  assertAlmostEquals(accuracyStandardError(0.9, 2000), Math.sqrt(0.09 / 2000), 1e-12);
  assertAlmostEquals(accuracyStandardError(0.99, 10_000), 0.000995, 1e-6);
  assertEquals(accuracyStandardError(1, 100), 0);
});

Deno.test("two images of 2,000 apart is a tie: the smaller model ranks first", () => {
  // pytorch float16 at 92.60% against pytorch-gap uint8 at 92.50%, six times smaller:
  // 0.1 points is under one standard error on 2,000 images (0.59 points).
  const ranked = rankCandidates([
    candidate("pytorch (float16)", 0.926, 0.04, 2000),
    candidate("pytorch-gap (uint8)", 0.925, 0.0068, 2000),
  ]);
  assertEquals(ranked.map((c) => c.name), ["pytorch-gap (uint8)", "pytorch (float16)"]);
});

Deno.test("a gap larger than the standard error still ranks the more accurate model first", () => {
  const ranked = rankCandidates([
    candidate("small", 0.90, 0.01, 10_000),
    candidate("big", 0.99, 4.58, 10_000),
  ]);
  assertEquals(ranked.map((c) => c.name), ["big", "small"]);
});

Deno.test("without a count of images, accuracy alone decides as before", () => {
  const ranked = rankCandidates([candidate("a", 0.926, 0.04), candidate("b", 0.925, 0.01)]);
  assertEquals(ranked.map((c) => c.name), ["a", "b"]);
});

Deno.test("bands follow one another: each starts at the best model left", () => {
  const all: Candidate[] = [
    candidate("top-big", 0.990, 4, 10_000),
    candidate("top-small", 0.9895, 1, 10_000), // within 0.1 points of 99.0%: tied
    candidate("mid-big", 0.970, 3, 10_000),
    candidate("mid-small", 0.9695, 0.5, 10_000),
  ];
  const choice = chooseForDevice(all, {});
  assertEquals(choice.fits.map((c) => c.name), ["top-small", "top-big", "mid-small", "mid-big"]);
});
