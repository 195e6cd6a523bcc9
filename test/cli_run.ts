/** Runs a script of scripts/ in its own Deno process, as `deno task` would; for the CLI tests. */
import { fileURLToPath } from "node:url";

/** What a script printed and its exit code. */
export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The command for `scripts/<name>` with the tasks' permissions; `.spawn()` it to signal the child. */
export function scriptCommand(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Deno.Command {
  const script = fileURLToPath(new URL(`../scripts/${name}`, import.meta.url));
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-net",
      "--allow-run",
      "--allow-ffi",
      "--allow-sys=uid",
      script,
      ...args,
    ],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs `scripts/<name>` with `args` and `env` (added to this process's environment). */
export async function runScript(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<ScriptRun> {
  const output = await scriptCommand(name, args, env).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}
