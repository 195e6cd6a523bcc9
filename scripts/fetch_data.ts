/**
 * `deno task data`: makes sure the four MNIST files are in data/mnist (or --dir) and verified.
 * Usage: deno task data [--dir <folder>] [--mirror <folder or http(s) URL base>]
 */
import { parseArgs } from "node:util";
import { clearProgressLine, runMain, scriptArgs, showProgressLine } from "./common/cli.ts";
import { defaultMnistDir, ensureMnistFiles, PUBLIC_MIRRORS } from "../lib/data/mnist_files.ts";

const HELP = `Usage: deno task data [--dir <folder>] [--mirror <folder or URL>]

Puts the four MNIST .gz files into <folder> (default ${defaultMnistDir()}) and checks each
against data/SHA256SUMS. Missing files come from --mirror, else env MNIST_MIRROR, else the
public mirrors in order:
${PUBLIC_MIRRORS.map((url) => `  ${url}`).join("\n")}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: scriptArgs(),
    options: {
      dir: { type: "string" },
      mirror: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const dir = values.dir ?? defaultMnistDir();
  console.log(`MNIST files in ${dir}:`);
  let current = "";
  const reports = await ensureMnistFiles({
    dir,
    mirror: values.mirror,
    onProgress: ({ name, source, bytes, totalBytes }) => {
      if (current !== `${name} ${source}`) {
        current = `${name} ${source}`;
        console.log(`  ${name}: fetching from ${source}`);
      }
      const of = totalBytes ? ` of ${(totalBytes / 2 ** 20).toFixed(1)} MB` : " MB";
      showProgressLine(`  ${name}: ${(bytes / 2 ** 20).toFixed(1)}${of}`);
    },
  });
  clearProgressLine();
  for (const report of reports) {
    for (const failure of report.failedAttempts) {
      console.log(`  ${report.name}: skipped ${failure}`);
    }
    const what = report.status === "present" ? "present" : `fetched from ${report.source}`;
    console.log(`  ${report.name}: ${what}, SHA-256 verified (${report.sha256.slice(0, 12)}…)`);
  }
}

if (import.meta.main) await runMain(main);
