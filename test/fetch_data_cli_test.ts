import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MNIST_FILE_NAMES } from "../lib/data/mnist_files.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { runScript } from "./cli_run.ts";

const SOURCE_DIR = Deno.env.get("MNIST_MIRROR") ||
  fileURLToPath(new URL("../../shared/data/mnist/", import.meta.url));

Deno.test("data --help names the default folder, MNIST_MIRROR and the public mirrors", async () => {
  const { code, stdout } = await runScript("fetch_data.ts", ["--", "--help"]);
  assertEquals(code, 0);
  assertMatch(stdout, /Usage: deno task data \[--dir <folder>\] \[--mirror <folder or URL>\]/);
  assertMatch(stdout, /data\/mnist/);
  assertMatch(stdout, /MNIST_MIRROR/);
  assertMatch(stdout, /^ {2}https?:\/\//m);
});

Deno.test("data fetches the four files from --mirror into --dir, then finds them present", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sizewise-data-" });
  try {
    const first = await runScript("fetch_data.ts", ["--dir", dir, "--mirror", SOURCE_DIR]);
    assertEquals(first.code, 0, first.stderr);
    for (const name of MNIST_FILE_NAMES) {
      assertMatch(
        first.stdout,
        new RegExp(`${name}: fetched from .*${name}, SHA-256 verified \\([0-9a-f]{12}…\\)`),
      );
      assert((await Deno.stat(join(dir, name))).size > 0);
    }
    // No mirror that works is needed once the files are there.
    const again = await runScript("fetch_data.ts", ["--dir", dir, "--mirror", join(dir, "none")]);
    assertEquals(again.code, 0, again.stderr);
    assertEquals(again.stdout.match(/: present, SHA-256 verified/g)?.length, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data fails with one clear line for a mirror without the files or a wrong option", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sizewise-data-" });
  try {
    const empty = join(dir, "empty-mirror");
    await Deno.mkdir(empty);
    const missing = await runScript("fetch_data.ts", [
      "--dir",
      join(dir, "mnist"),
      "--mirror",
      empty,
    ], {
      MNIST_MIRROR: "",
    });
    assertEquals(missing.code, 1);
    assertMatch(missing.stderr, /no mirror had a good copy/);
    assertMatch(missing.stderr, /Set MNIST_MIRROR to a folder or an http\(s\) URL/);
    const wrong = await runScript("fetch_data.ts", ["--mirrors", empty]);
    assertEquals(wrong.code, 1);
    assertMatch(wrong.stderr, /Unknown option '--mirrors'/);
    for (const run of [missing, wrong]) assert(!run.stderr.includes("    at "), run.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
