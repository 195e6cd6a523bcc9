import { assertEquals } from "./assert.ts";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const LIB = fileURLToPath(new URL("../lib/", import.meta.url));
// lib/mod.ts's order: each folder may import only itself and the folders before it.
const FOLDERS = [
  "common",
  "data",
  "models",
  "backend",
  "training",
  "measure",
  "studies",
  "plots",
  "notebook",
];

function libFiles(dir = LIB): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) files.push(...libFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

function folderOf(path: string): string {
  return relative(LIB, path).split("/")[0];
}

function importsOf(path: string): string[] {
  const text = Deno.readTextFileSync(path);
  const found = text.matchAll(
    /(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"|new URL\(\s*"(\.{1,2}\/[^"]+\.ts)"/g,
  );
  return [...found].map((match) => resolve(dirname(path), match[1] ?? match[2]));
}

Deno.test("lib/mod.ts re-exports the folders in the order the layout test checks", () => {
  const text = Deno.readTextFileSync(join(LIB, "mod.ts"));
  const order = [...text.matchAll(/export \* from "\.\/([a-z_]+)\/mod\.ts"/g)].map((m) => m[1]);
  assertEquals(order, FOLDERS);
});

Deno.test("every lib/ file sits in one of the folders, none loose beside mod.ts", () => {
  const loose = libFiles().filter((path) =>
    dirname(path) === resolve(LIB) && !path.endsWith("mod.ts")
  );
  assertEquals(loose, []);
  const unknown = libFiles().map(folderOf).filter((f) => f !== "mod.ts" && !FOLDERS.includes(f));
  assertEquals([...new Set(unknown)], []);
});

Deno.test("no lib/ folder imports a folder that comes after it, nor anything outside lib/", () => {
  const wrong: string[] = [];
  for (const path of libFiles()) {
    if (path === join(LIB, "mod.ts")) continue;
    const from = FOLDERS.indexOf(folderOf(path));
    for (const target of importsOf(path)) {
      const where = relative(LIB, target);
      const to = FOLDERS.indexOf(where.split("/")[0]);
      if (where.startsWith("..") || to > from) wrong.push(`${relative(LIB, path)} -> ${where}`);
    }
  }
  assertEquals(wrong, []);
});
