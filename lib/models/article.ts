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

/** The rule of thumb's bounds for MNIST: about #features to about #observations. */
export const RULE_OF_THUMB = {
  /** 28 x 28 pixels per image. */
  features: 784,
  /** Training images. */
  observations: 60_000,
} as const;

/** Where a parameter count falls against the rule of thumb. */
export function ruleOfThumbPosition(params: number): "below" | "inside" | "above" {
  if (params < RULE_OF_THUMB.features) return "below";
  if (params > RULE_OF_THUMB.observations) return "above";
  return "inside";
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

/** A Markdown table: each model's parameters, where they fall against the band, its accuracy. */
export function formatRuleOfThumb(rows: RuleOfThumbRow[]): string {
  return formatTable(
    ["model", "parameters", "against the band", "accuracy", "from"],
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
