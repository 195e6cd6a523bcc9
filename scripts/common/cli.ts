/** What the command-line scripts share: option parsing, a progress line, and error exits. */

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

/** Runs a script's main function; an error prints one clear line and exits with code 1. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    console.error(`Error: ${(error as Error).message}`);
    Deno.exit(1);
  }
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
