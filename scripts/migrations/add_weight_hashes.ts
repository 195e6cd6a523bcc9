/**
 * One-off migration (issue 14): adds `weightsSha256`, the SHA-256 of each result's `.bin`, to
 * result files stored before the store recorded it, then checks that each result loads, that
 * its weights match, and that they reproduce the stored final test accuracy exactly. Run once
 * on the committed full-schedule results, which took hours to train and are not retrained:
 *   deno run -A scripts/migrations/add_weight_hashes.ts data/reproduction
 */
import { initBackend } from "../../lib/backend/backend.ts";
import { loadMnist } from "../../lib/data/mnist.ts";
import { checkResultWeights, loadResult } from "../../lib/training/results.ts";
import { sha256Hex } from "../../lib/training/store_files.ts";
import { loadTrainedModel } from "../../lib/training/trained_model.ts";
import { evaluateModel } from "../../lib/training/train.ts";
import { runMain } from "../common/cli.ts";

async function main(): Promise<void> {
  const dir = Deno.args[0];
  if (!dir) throw new Error("Give the results folder to migrate, e.g. data/reproduction");
  await initBackend();
  const keys = [...Deno.readDirSync(dir)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".json"))
    .map((entry) => entry.name.slice(0, -".json".length)).sort();
  for (const key of keys) {
    const path = `${dir}/${key}.json`;
    const text = await Deno.readTextFile(path);
    const stored = JSON.parse(text);
    if (JSON.stringify(stored, null, 1) + "\n" !== text) {
      throw new Error(`${path} is not formatted as the store writes it; migrate it by hand`);
    }
    if (stored.weightsSha256 === undefined) {
      stored.weightsSha256 = await sha256Hex(await Deno.readFile(`${dir}/${key}.bin`));
      await Deno.writeTextFile(path, JSON.stringify(stored, null, 1) + "\n");
      console.log(`${key}: weightsSha256 ${stored.weightsSha256} added`);
    }
    const result = (await loadResult(dir, key))!;
    await checkResultWeights(dir, result);
    const { testSize, seed } = result.config;
    const test = (await loadMnist({ trainSize: 1, testSize, seed })).test;
    const model = await loadTrainedModel(result, { resultsDir: dir });
    const { accuracy } = evaluateModel(model, test, { batchSize: result.config.evalBatchSize });
    model.dispose();
    const recorded = result.history.at(-1)!.testAccuracy;
    if (accuracy !== recorded) {
      throw new Error(`${key}: the weights give ${accuracy}, the result records ${recorded}`);
    }
    console.log(`${key}: loads, weights match, test accuracy ${accuracy} as recorded`);
  }
}

if (import.meta.main) await runMain(main);
