/** Runs a program and collects what it printed; shared by notebook running and setup. */

/** What a command printed and how it ended. */
export interface CommandOutput {
  success: boolean;
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `program` with `env` added to this environment; undefined when it is not installed. */
export async function captureCommand(
  program: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CommandOutput | undefined> {
  try {
    const output = await new Deno.Command(program, {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return {
      success: output.success,
      code: output.code,
      stdout: decode(output.stdout),
      stderr: decode(output.stderr),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}
