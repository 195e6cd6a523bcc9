/**
 * The figures the article reports, to set beside ours. Where the article gives a figure for
 * only some models, the others are absent (undefined), never guessed.
 */
import { formatCount } from "../common/format.ts";
import { formatTable } from "../common/markdown.ts";

/** What the article reports for one model. */
export interface ArticleFigures {
  /** Final test accuracy after the 20-epoch schedule, as a fraction. */
  testAccuracy: number;
  testLoss?: number;
  trainableParams: number;
  /** Weight size in MB (2^20 bytes). */
  weightMB?: number;
  /** Training time per epoch on the article's CPU, seconds. */
  cpuSecondsPerEpoch?: number;
  /** Inference on the 10,000 test images on the article's CPU, seconds. */
  cpuInferenceSeconds?: number;
  /** GPU memory while training (PyTorch/Keras on a GPU, CUDA context included), MB. */
  gpuMemoryMB?: { batch16: number; batch8192: number };
}

/**
 * The article's numbers by model. The cost figures (time, inference, memory) are given for
 * the three models it compares first; our reading of which figure belongs to which model is
 * recorded here once, in the article's order (Keras MLP, Keras CNN, PyTorch).
 */
export const ARTICLE_FIGURES: Readonly<Record<string, ArticleFigures>> = {
  "keras-mlp": {
    testAccuracy: 0.9860,
    trainableParams: 669_706,
    cpuSecondsPerEpoch: 20,
    cpuInferenceSeconds: 2,
  },
  "keras-cnn": {
    testAccuracy: 0.9926,
    trainableParams: 1_199_882,
    weightMB: 4.58,
    cpuSecondsPerEpoch: 120,
    cpuInferenceSeconds: 10,
    gpuMemoryMB: { batch16: 1247, batch8192: 5911 },
  },
  "pytorch": {
    testAccuracy: 0.9896,
    trainableParams: 21_840,
    weightMB: 0.08,
    cpuSecondsPerEpoch: 11,
    cpuInferenceSeconds: 1,
    gpuMemoryMB: { batch16: 539, batch8192: 909 },
  },
  "pytorch-gap": { testAccuracy: 0.9893, testLoss: 0.0344, trainableParams: 7_090 },
  "small-net": { testAccuracy: 0.9601, testLoss: 0.1387, trainableParams: 518 },
};

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
