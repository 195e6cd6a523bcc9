/**
 * What the command-line scripts share: option parsing, a progress line, the results folder,
 * and the one error handler (`runMain`) with the words on a stop.
 */
import { readSetting, SETTINGS } from "../../lib/common/settings.ts";
import { describeStop, runInProgress } from "../../lib/training/checkpoints.ts";
import { defaultResultsDir } from "../../lib/training/results.ts";
import { PRESET_NAMES } from "../../lib/training/config.ts";

/** Parses "16,8192" into positive integers; anything else is an error naming the option. */
export function parsePositiveIntegers(option: string, text: string): number[] {
  return text.split(",").map((part) => {
    const value = Number(part);
    if (part.trim() === "" || !Number.isInteger(value) || value <= 0) {
      throw new Error(`--${option} takes positive integers, got "${part}"`);
    }
    return value;
  });
}

/** Parses an optional number option; text that is not a number is an error naming the option. */
export function parseNumberOption(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || Number.isNaN(value)) {
    throw new Error(`--${option} must be a number, got "${text}"`);
  }
  return value;
}

/** Redraws one status line on a terminal; does nothing when stderr is a file or a pipe. */
export function showProgressLine(text: string): void {
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(ENCODER.encode(`\r${text}\x1b[K`));
}

/** Clears the status line before ordinary output. */
export function clearProgressLine(): void {
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(ENCODER.encode("\r\x1b[K"));
}

/** Options of `runMain`. */
export interface RunMainOptions {
  /**
   * Say what a stop (Ctrl-C = SIGINT, or SIGTERM) keeps, then exit with 130 or 143; default
   * true. Off for a task that hands Ctrl-C to a child process (Jupyter).
   */
  handleStops?: boolean;
}

/**
 * Runs a script's main function, the one error handler of every entry point: an error prints
 * one clear line (no stack trace; a bug in the code also shows its stack) and exits with code
 * 1; a number returned is the exit code; a stop says what is saved and exits non-zero.
 */
export async function runMain(
  main: () => Promise<void | number>,
  options: RunMainOptions = {},
): Promise<void> {
  const removeStopHandlers = options.handleStops === false ? undefined : handleStops();
  let code = 0;
  try {
    code = (await main()) ?? 0;
  } catch (error) {
    clearProgressLine();
    console.error(`Error: ${describeError(error)}`);
    code = 1;
  } finally {
    removeStopHandlers?.();
  }
  if (code !== 0) Deno.exit(code);
}

/** The words for an error: its message; for parse errors a pointer to --help; for bugs the stack. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
    return `${error.message.split(". To specify a positional")[0]}; see --help for the options`;
  }
  // TypeError, ReferenceError ...: not something the user did; the stack helps a report.
  const internal = ["TypeError", "ReferenceError", "SyntaxError"].includes(error.name);
  return internal ? `${error.message} (a bug, please report it)\n${error.stack}` : error.message;
}

/** What a stop keeps, in words: the run in progress and its checkpoint, if one is training. */
export function stopMessage(signal: Deno.Signal): string {
  const run = runInProgress();
  return run ? `${signal}: ${describeStop(run)}` : `${signal}: stopped`;
}

let stopsTakenOver = false;

/**
 * For a script that must stop its own child processes before it exits (the frontier's
 * workers): runMain's handlers then leave SIGINT and SIGTERM to the script's listeners.
 */
export function takeOverStops(): void {
  stopsTakenOver = true;
}

function handleStops(): () => void {
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const handlers = signals.map((signal) => {
    const handler = () => {
      if (stopsTakenOver) return;
      clearProgressLine();
      console.error(`\n${stopMessage(signal)}`);
      Deno.exit(signal === "SIGINT" ? 130 : 143);
    };
    try {
      Deno.addSignalListener(signal, handler);
    } catch {
      return undefined; // a platform without this signal (Windows has no SIGTERM listener)
    }
    return [signal, handler] as const;
  });
  return () => {
    for (const entry of handlers) if (entry) Deno.removeSignalListener(entry[0], entry[1]);
  };
}

/**
 * Checks the preset a task hands to the notebooks, `--preset` or else `SIZEWISE_PRESET`,
 * before any work: an unknown name is an error naming where it came from.
 */
export function checkPresetOption(flag: string | undefined): void {
  const fromEnv = readSetting("preset");
  const [preset, origin] = flag !== undefined ? [flag, "--preset"] : [fromEnv, SETTINGS.preset];
  if (preset !== undefined && !PRESET_NAMES.includes(preset)) {
    throw new Error(
      `${origin}: unknown preset "${preset}"; choose one of: ${PRESET_NAMES.join(", ")}`,
    );
  }
}

/**
 * The results folder a task uses, checked before any work: `--results-dir` when given, else
 * `SIZEWISE_RESULTS`, else `fallback` (default `defaultResultsDir()`). Created when missing; a
 * file in its place or a folder that cannot be written is an error naming the path and where
 * it came from.
 */
export async function resultsDirOption(
  flag: string | undefined,
  fallback?: string,
): Promise<string> {
  const fromEnv = readSetting("resultsDir");
  const [dir, origin, fix] = flag !== undefined
    ? [flag, "from --results-dir", "give another folder with --results-dir"]
    : fromEnv !== undefined && fallback === undefined
    ? [
      fromEnv,
      `from ${SETTINGS.resultsDir}`,
      `set ${SETTINGS.resultsDir} to a folder, or unset it`,
    ]
    : [fallback ?? defaultResultsDir(), "the default", "give a folder with --results-dir"];
  const problem = await folderProblem(dir);
  if (problem) {
    throw new Error(`The results folder ${dir} (${origin}) cannot be used: ${problem}; ${fix}`);
  }
  return dir;
}

async function folderProblem(dir: string): Promise<string | undefined> {
  try {
    const info = await Deno.stat(dir);
    if (!info.isDirectory) return "it is a file, not a folder";
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      return `its path cannot be reached (${(error as Error).message})`;
    }
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (error) {
      return `it cannot be created (${(error as Error).message})`;
    }
  }
  try {
    await Deno.remove(await Deno.makeTempFile({ dir, prefix: ".write-check-" }));
  } catch (error) {
    return `it cannot be written (${(error as Error).message})`;
  }
  return undefined;
}

const ENCODER = new TextEncoder();

/**
 * The script's own arguments. `deno task train -- --model x` passes the "--" through to the
 * script (Deno 2.9), where parseArgs would take everything after it as positionals; drop it.
 * With `subcommand`, the "--" may follow a first word such as `start`.
 */
export function scriptArgs(
  args: readonly string[] = Deno.args,
  options: { subcommand?: boolean } = {},
): string[] {
  const at = options.subcommand ? 1 : 0;
  return args[at] === "--" ? [...args.slice(0, at), ...args.slice(at + 1)] : [...args];
}
