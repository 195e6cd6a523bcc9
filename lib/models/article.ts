/**
 * The figures the article reports, each attached to the model the article gives it to, with
 * how the article measured it. Where the article gives a figure for only some models, the
 * others are absent (undefined), never guessed. Source: M. Marcinkiewicz, "The Real World is
 * not a Kaggle Competition" (Netguru blog, updated 4 January 2023).
 */
import { formatCount } from "../common/format.ts";
import { formatTable } from "../common/markdown.ts";

/** What the article reports for one model. */
export interface ArticleFigures {
  /** Final test accuracy after the article's 20-epoch schedule, as a fraction. */
  testAccuracy: number;
  /** Final test loss (cross-entropy), where the article gives it. */
  testLoss?: number;
  trainableParams: number;
  /** Weight size in MB (2^20 bytes). */
  weightMB?: number;
  /** Training time of one epoch on the article's CPU, seconds. */
  cpuSecondsPerEpoch?: number;
  /** Inference on the 10,000 test images on the article's CPU, seconds. */
  cpuInferenceSeconds?: number;
  /** GPU memory while training (on the article's GPU, CUDA context included), MB. */
  gpuMemoryMB?: { batch16: number; batch8192: number };
  /** What the model's own authors claim, on their own schedule (not the article's). */
  authorsClaim?: { testAccuracy: number; numEpochs: number };
}

/** The article's numbers by model, in its order. */
export const ARTICLE_FIGURES: Readonly<Record<string, Readonly<ArticleFigures>>> = {
  "keras-mlp": {
    testAccuracy: 0.9860,
    trainableParams: 669_706,
    authorsClaim: { testAccuracy: 0.9840, numEpochs: 20 },
  },
  "keras-cnn": {
    testAccuracy: 0.9926,
    trainableParams: 1_199_882,
    weightMB: 4.58,
    cpuSecondsPerEpoch: 120,
    cpuInferenceSeconds: 10,
    gpuMemoryMB: { batch16: 909, batch8192: 5911 },
    authorsClaim: { testAccuracy: 0.9925, numEpochs: 12 },
  },
  "pytorch": {
    testAccuracy: 0.9896,
    trainableParams: 21_840,
    weightMB: 0.08,
    cpuSecondsPerEpoch: 20,
    cpuInferenceSeconds: 2,
    gpuMemoryMB: { batch16: 539, batch8192: 1247 },
  },
  "pytorch-gap": {
    testAccuracy: 0.9893,
    testLoss: 0.0344,
    trainableParams: 7_090,
    weightMB: 0.03,
  },
  "small-net": {
    testAccuracy: 0.9601,
    testLoss: 0.1387,
    trainableParams: 518,
    cpuSecondsPerEpoch: 11,
    cpuInferenceSeconds: 1,
  },
};

/** One quantity the article reports, and how its measurement differs in kind from ours. */
export interface ArticleQuantity {
  /** What the article measured. */
  article: string;
  /** What this project measures instead, where the two differ in kind. */
  ours: string;
}

/** How the article measured each kind of figure, beside how we measure it. */
export const ARTICLE_MEASUREMENTS: Readonly<Record<string, ArticleQuantity>> = {
  accuracy: {
    article: "test accuracy on MNIST's 10,000 test images after 20 epochs of its schedule",
    ours: "the same, on the same images, with the same schedule",
  },
  time: {
    article: "seconds on the article's own CPU, with Keras or PyTorch",
    ours: "seconds on this machine's CPU with TensorFlow.js; compare ratios, not seconds",
  },
  memory: {
    article: "GPU memory while training, the CUDA context (hundreds of MB) included",
    ours: "what TensorFlow.js allocates for one training step (tf.profile): no fixed overhead",
  },
  weights: {
    article: "the size of all the weights, in MB",
    ours: "4 bytes per parameter as saved by TensorFlow.js (weights.bin), in MB of 2^20 bytes",
  },
};

/** The article's claim about the first epoch: each of its first three models passes 95%. */
export const ARTICLE_FIRST_EPOCH_CLAIM = {
  models: ["keras-mlp", "keras-cnn", "pytorch"],
  minTestAccuracy: 0.95,
} as const;

/** One figure of the article as a flat statement: which model, which quantity, what number. */
export interface ArticleStatement {
  model: string;
  quantity: string;
  value: number;
}

/** Every figure in `ARTICLE_FIGURES` as flat statements, e.g. to hold against a fixture. */
export function articleStatements(): ArticleStatement[] {
  const statements: ArticleStatement[] = [];
  for (const [model, figures] of Object.entries(ARTICLE_FIGURES)) {
    const add = (quantity: string, value: number | undefined) => {
      if (value !== undefined) statements.push({ model, quantity, value });
    };
    add("testAccuracy", figures.testAccuracy);
    add("testLoss", figures.testLoss);
    add("trainableParams", figures.trainableParams);
    add("weightMB", figures.weightMB);
    add("cpuSecondsPerEpoch", figures.cpuSecondsPerEpoch);
    add("cpuInferenceSeconds", figures.cpuInferenceSeconds);
    add("gpuMemoryMBBatch16", figures.gpuMemoryMB?.batch16);
    add("gpuMemoryMBBatch8192", figures.gpuMemoryMB?.batch8192);
    add("authorsTestAccuracy", figures.authorsClaim?.testAccuracy);
    add("authorsNumEpochs", figures.authorsClaim?.numEpochs);
  }
  return statements;
}

/** Each model of the first-epoch claim with its epoch-1 test accuracy, and whether it passes. */
export function checkFirstEpochClaim(
  firstEpochAccuracy: Readonly<Record<string, number | undefined>>,
): { model: string; accuracy: number | undefined; passes: boolean | undefined }[] {
  return ARTICLE_FIRST_EPOCH_CLAIM.models.map((model) => {
    const accuracy = firstEpochAccuracy[model];
    return {
      model,
      accuracy,
      passes: accuracy === undefined
        ? undefined
        : accuracy > ARTICLE_FIRST_EPOCH_CLAIM.minTestAccuracy,
    };
  });
}

/** The order of magnitude of `value`: the power of ten nearest to it on a log scale. */
export function orderOfMagnitude(value: number): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new Error(`orderOfMagnitude() needs a positive number, got ${value}`);
  }
  return 10 ** Math.round(Math.log10(value));
}

/**
 * The article's rule of thumb as it gives it: the parameter count should be of "the same order
 * of magnitude" as the number of observations (MNIST's 60,000 images: about 100,000, a starting
 * upper bound) and as the number of features (784 pixels: about 1,000, a starting lower bound).
 * A starting point for a search, not a law; the article advises starting bigger and shrinking.
 */
export const RULE_OF_THUMB = {
  /** 28 x 28 pixels per image. */
  features: 784,
  /** Training images. */
  observations: 60_000,
  /** The features' order of magnitude: where the article starts the lower bound. */
  lowerBound: orderOfMagnitude(784),
  /** The observations' order of magnitude: where the article starts the upper bound. */
  upperBound: orderOfMagnitude(60_000),
  /** The article's own words for how close to them, the only phrase quoted. */
  phrase: "the same order of magnitude",
  /** Which way to search from there (the article: bigger first, then cut down). */
  advice: "start bigger, then shrink",
} as const;

/** A band of parameter counts within half an order of magnitude of `center` (log scale). */
export function orderOfMagnitudeBand(center: number): { from: number; to: number } {
  return { from: center / Math.sqrt(10), to: center * Math.sqrt(10) };
}

/** Where a parameter count falls against the rule of thumb's order-of-magnitude bands. */
export type RuleOfThumbPosition =
  | "below"
  | "lower bound's order"
  | "between"
  | "upper bound's order"
  | "above";

/**
 * Where `params` falls: within half an order of magnitude of about 1,000 ("lower bound's
 * order"), of about 100,000 ("upper bound's order"), between the two bands, or outside them.
 */
export function ruleOfThumbPosition(params: number): RuleOfThumbPosition {
  const lower = orderOfMagnitudeBand(RULE_OF_THUMB.lowerBound);
  const upper = orderOfMagnitudeBand(RULE_OF_THUMB.upperBound);
  if (params < lower.from) return "below";
  if (params <= lower.to) return "lower bound's order";
  if (params < upper.from) return "between";
  if (params <= upper.to) return "upper bound's order";
  return "above";
}

/** The rule of thumb's two bands, to shade on a chart of parameters (log scale). */
export function ruleOfThumbBands(): { from: number; to: number; label: string }[] {
  return [
    { ...orderOfMagnitudeBand(RULE_OF_THUMB.lowerBound), label: "~1k: features' order" },
    { ...orderOfMagnitudeBand(RULE_OF_THUMB.upperBound), label: "~100k: observations' order" },
  ];
}

/** One model's line in `formatRuleOfThumb`. */
export interface RuleOfThumbRow {
  model: string;
  params: number;
  /** Test accuracy as a fraction. */
  accuracy: number;
  /** Which run the accuracy comes from, e.g. "full schedule" or a preset's name. */
  from: string;
}

/** A Markdown table: each model's parameters, where they fall against the bands, its accuracy. */
export function formatRuleOfThumb(rows: RuleOfThumbRow[]): string {
  return formatTable(
    ["model", "parameters", "against the bands", "accuracy", "from"],
    rows.map((row) => [
      row.model,
      formatCount(row.params),
      ruleOfThumbPosition(row.params),
      `${(row.accuracy * 100).toFixed(2)}%`,
      row.from,
    ]),
    { align: ["l", "r", "l", "r", "l"] },
  );
}
