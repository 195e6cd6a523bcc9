/**
 * A grid search inside a notebook: one output that redraws the candidates finished so far
 * (accuracy against parameters) and the progress of the one training now.
 */
import { createLiveDisplay, type JupyterDisplay } from "./display.ts";
import { plotAccuracyVsParams } from "../plots/mod.ts";
import {
  candidateLabel,
  type CandidateStart,
  type SearchBudget,
  type SearchCandidate,
  searchMinimalModel,
  type SearchOptions,
  type SearchResult,
  type SearchSpace,
} from "../studies/search.ts";

/** Options of `searchLive`: those of `searchMinimalModel`, plus where to display (for tests). */
export interface SearchLiveOptions extends SearchOptions {
  jupyter?: JupyterDisplay;
}

/** Runs `searchMinimalModel` with a chart of the finished candidates redrawn in one output. */
export async function searchLive(
  space: SearchSpace,
  budget: SearchBudget,
  options: SearchLiveOptions = {},
): Promise<SearchResult & { redraws: number }> {
  const live = createLiveDisplay({ jupyter: options.jupyter });
  const target = options.targetAccuracy ?? 0.95;
  const finished: SearchCandidate[] = [];
  let total = 0;
  let status = "Starting…";
  const draw = () =>
    plotAccuracyVsParams(
      finished.map((c) => ({
        model: c.name,
        params: c.params,
        accuracy: c.accuracy,
        label: candidateLabel(c.spec),
      })),
      {
        threshold: target,
        title: `Search: ${finished.length} of ${total} candidates done`,
        subtitle: status,
      },
    );
  let current: CandidateStart | undefined;
  const result = await searchMinimalModel(space, budget, {
    ...options,
    onCandidateStart: async (start) => {
      current = start;
      total = start.total;
      status = `Looking for ${start.name} (${start.params} parameters)…`;
      await options.onCandidateStart?.(start);
    },
    onResume: async (history) => {
      status = `Resuming ${current?.name} after epoch ${history.length}…`;
      await options.onResume?.(history);
    },
    onBatch: async (progress) => {
      status = `Training ${current?.name} (${current?.params} parameters): epoch ` +
        `${progress.epoch} of ${budget.numEpochs}, ` +
        `${Math.round(progress.batch / progress.numBatches * 100)}%`;
      await live.update(draw);
      await options.onBatch?.(progress);
    },
    onCandidateDone: async (candidate, start) => {
      finished.push(candidate);
      status = `${candidate.name}: ${(candidate.accuracy * 100).toFixed(2)}%` +
        `${candidate.cached ? " (stored)" : ""}.`;
      await live.update(draw);
      await options.onCandidateDone?.(candidate, start);
    },
  });
  status = `Done: ${result.trained} trained, ${result.candidates.length - result.trained} ` +
    `read from the store. Dashed line: the target, ${(target * 100).toFixed(0)}%.`;
  await live.done(draw);
  return { ...result, redraws: live.updates };
}
