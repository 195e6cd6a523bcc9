/**
 * The frontier's search spaces: named lists of candidates from the families of
 * lib/models/families.ts, each candidate a name, a spec and its parameter count. Adding a
 * space is one entry in `FRONTIER_SPACES`; everything that lists spaces reads it.
 */
import {
  type DownsampledSpec,
  familyParams,
  type FamilySpec,
  familySpecName,
} from "../models/families.ts";

/** One candidate of a frontier space. */
export interface FrontierCandidate {
  /** Unique in its space; the stored run's model name. */
  name: string;
  spec: FamilySpec;
  /** Trainable parameters, from the spec. */
  params: number;
  /** Why it is there, for the named ones (the Small Net readings). */
  note?: string;
}

/** A frontier space: what it is for, and its candidates, smallest first. */
export interface FrontierSpace {
  name: string;
  description: string;
  candidates: FrontierCandidate[];
}

const SMALL_NET = { batchNorm: true, activation: "leakyRelu" } as const;

/**
 * The 518-parameter readings of the article's Small Net a reader might guess (issue 13 item
 * 7): 3x3 as the count says, 5x5 as the text says (598), a 2x2 max pool after block 1, and a
 * stride-2 first conv.
 */
export const SMALL_NET_READINGS: readonly FrontierCandidate[] = [
  named("small-net-3x3", "the article's layers with a 3x3 first conv, as its 518 adds up", {
    family: "small",
    filters1: 5,
    filters2: 8,
    kernelSize: 3,
    ...SMALL_NET,
  }),
  named("small-net-5x5", "the article's layers with a 5x5 first conv, as its text says (598)", {
    family: "small",
    filters1: 5,
    filters2: 8,
    kernelSize: 5,
    ...SMALL_NET,
  }),
  named("small-net-pooled", "the 3x3 reading with a 2x2 max pool after block 1", {
    family: "downsampled",
    filters: [5, 8],
    kernelSize: 3,
    downsample: "pool",
    ...SMALL_NET,
  }),
  named("small-net-strided", "the 3x3 reading with a stride-2 first conv", {
    family: "downsampled",
    filters: [5, 8],
    kernelSize: 3,
    downsample: "stride",
    ...SMALL_NET,
  }),
];

function downsampled(
  downsample: DownsampledSpec["downsample"],
  filters: number[],
  kernelSize = 3,
): DownsampledSpec {
  return { family: "downsampled", filters, kernelSize, downsample, ...SMALL_NET };
}

/**
 * The frontier's candidates: every family, ~90 to ~40,000 parameters, denser near the article's
 * sizes (518, 7,090, 21,840) where the targets sit.
 */
function frontierGrid(): FamilySpec[] {
  const specs: FamilySpec[] = [];
  for (const [filters1, filters2] of [[3, 6], [8, 16], [16, 32]]) {
    for (const kernelSize of [3, 5]) {
      specs.push({ family: "small", filters1, filters2, kernelSize, ...SMALL_NET });
    }
  }
  const pooled = [[2, 2], [2, 3], [2, 4], [3, 6], [4, 8], [6, 12], [8, 16], [12, 24]];
  const pooledDeep = [
    [4, 8, 16],
    [6, 12, 24],
    [8, 16, 32],
    [10, 16, 32],
    [8, 18, 32],
    [10, 20, 40],
    [12, 24, 48],
    [14, 28, 56],
    [15, 30, 60],
    [16, 32, 64],
  ];
  for (const filters of [...pooled, ...pooledDeep]) specs.push(downsampled("pool", filters));
  for (const filters of [[4, 8], [8, 16]]) specs.push(downsampled("pool", filters, 5));
  for (
    const filters of [[2, 2], [2, 4], [3, 6], [4, 8], [6, 12], [8, 16], [4, 8, 16], [8, 16, 32]]
  ) {
    specs.push(downsampled("stride", filters));
  }
  for (
    const widths of [
      [2, 3, 4],
      [2, 4, 8],
      [3, 6, 12],
      [4, 8, 16],
      [6, 12, 24],
      [8, 16, 32],
      [12, 24, 48],
      [16, 32, 64],
      [24, 48, 64],
    ]
  ) specs.push({ family: "bn", widths });
  for (
    const [stem, widths] of [
      [2, [3]],
      [2, [4]],
      [4, [8]],
      // Near Small Net's 518, where sep-4-8.16 (530) is just over.
      [2, [4, 8, 14]],
      [3, [8, 16]],
      [2, [6, 8, 12]],
      [4, [8, 15]],
      [5, [8, 14]],
      [4, [8, 16]],
      [6, [12, 24]],
      [8, [16, 32]],
      [8, [16, 32, 64]],
      [16, [32, 64]],
      [16, [32, 64, 128]],
      [24, [48, 96, 128]],
    ] as [number, number[]][]
  ) specs.push({ family: "separable", stem, widths });
  // Under 518, every net above trains to about as low a loss on its training images as on new
  // ones: too little capacity, not overfitting. Deeper separable stacks, and a dense head that
  // sees where each feature is (flatten) rather than only its average, spend it differently;
  // the first flatten-head nets gained a point at ~500, so they span ~180 to ~3,000.
  for (const [stem, widths] of [[4, [6, 8, 10]], [3, [6, 8, 11]]] as [number, number[]][]) {
    specs.push({ family: "separable", stem, widths });
  }
  for (
    const [stem, widths] of [
      [2, [3, 1]],
      [2, [4, 1]],
      [3, [6, 1]],
      [4, [7, 1]],
      [4, [10, 2]],
      [3, [8, 3]],
      [3, [9, 3]],
      [4, [8, 3]],
      [5, [12, 2]],
      [6, [10, 2]],
      [3, [10, 3]],
      [6, [16, 3]],
      [8, [16, 4]],
      [8, [16, 8]],
      [12, [24, 8]],
      [16, [32, 16]],
    ] as [number, number[]][]
  ) specs.push({ family: "separable", stem, widths, head: "flatten" });
  for (
    const stages of [
      [[3, 3], [6, 6], [10]],
      [[4], [8, 8], [12]],
      [[4, 8], [8, 16], [16]],
      [[6, 6], [12, 12], [24]],
      [[8, 8], [16, 16], [16]],
      [[8, 8], [16], [32]],
      [[8, 8], [16, 16], [24, 24]],
      [[12, 12], [24, 24], [32]],
      [[10, 10], [20, 20], [30, 30]],
    ]
  ) specs.push({ family: "vgg", stages });
  return specs;
}

/** The named spaces. */
export const FRONTIER_SPACES: Readonly<Record<string, Readonly<FrontierSpace>>> = {
  frontier: space(
    "frontier",
    "every family from ~90 to ~40,000 parameters, with the Small Net readings: the full " +
      "frontier (hours on the frontier budget)",
    [...SMALL_NET_READINGS, ...frontierGrid().map(unnamed)],
  ),
  "frontier-tour": space(
    "frontier-tour",
    "the Small Net readings, one net of each other family and a flatten-head one: minutes on the quick preset",
    [
      ...SMALL_NET_READINGS,
      unnamed({ family: "bn", widths: [4, 8, 16] }),
      unnamed({ family: "separable", stem: 8, widths: [16, 32] }),
      unnamed({ family: "separable", stem: 4, widths: [8, 3], head: "flatten" }),
      unnamed({ family: "vgg", stages: [[4], [8, 8], [12]] }),
    ],
  ),
  "frontier-smoke": space(
    "frontier-smoke",
    "four tiny nets, one per family: the runner's code path in seconds, for tests",
    [
      unnamed({ family: "small", filters1: 2, filters2: 3, kernelSize: 3, ...SMALL_NET }),
      unnamed(downsampled("pool", [2, 4])),
      unnamed({ family: "bn", widths: [2, 3, 4] }),
      unnamed({ family: "separable", stem: 2, widths: [4] }),
    ],
  ),
};

/** The frontier space names. */
export const FRONTIER_SPACE_NAMES: readonly string[] = Object.keys(FRONTIER_SPACES);

/** Whether `name` is a frontier space (rather than one of the grid search's spaces). */
export function isFrontierSpace(name: string): boolean {
  return Object.hasOwn(FRONTIER_SPACES, name);
}

/** The frontier space called `name` (a copy); an unknown name lists the known ones. */
export function frontierSpaceNamed(name: string): FrontierSpace {
  if (!isFrontierSpace(name)) {
    throw new Error(
      `Unknown frontier space "${name}"; choose one of: ${FRONTIER_SPACE_NAMES.join(", ")}`,
    );
  }
  return structuredClone(FRONTIER_SPACES[name]) as FrontierSpace;
}

/** The candidate called `name` in `space`; an unknown name says which space lacks it. */
export function frontierCandidate(space: FrontierSpace, name: string): FrontierCandidate {
  const found = space.candidates.find((candidate) => candidate.name === name);
  if (found) return found;
  throw new Error(
    `The frontier space "${space.name}" has no candidate "${name}"; its candidates are: ` +
      space.candidates.map((candidate) => candidate.name).join(", "),
  );
}

function named(name: string, note: string, spec: FamilySpec): FrontierCandidate {
  return { name, spec, params: familyParams(spec), note };
}

function unnamed(spec: FamilySpec): FrontierCandidate {
  return { name: familySpecName(spec), spec, params: familyParams(spec) };
}

// Smallest first; a spec listed twice keeps its first (named) entry; names must be unique.
function space(name: string, description: string, candidates: FrontierCandidate[]): FrontierSpace {
  const seen = new Set<string>();
  const unique = candidates.filter((candidate) => {
    const spec = familySpecName(candidate.spec); // spells out every field
    if (seen.has(spec)) return false;
    seen.add(spec);
    return true;
  });
  const names = new Set(unique.map((candidate) => candidate.name));
  if (names.size !== unique.length) throw new Error(`Frontier space "${name}" repeats a name`);
  return { name, description, candidates: unique.sort((a, b) => a.params - b.params) };
}
