/**
 * Where the launchers' own entry points (fork-child.js, guardian.js) are:
 * next to this file in a build, or under dist/ when this file runs from src/
 * (vitest runs the TypeScript sources; the entry points run as built JS).
 */
import { existsSync } from "node:fs";
import { sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The absolute path of the built entry point `file` (e.g. "guardian.js") of this folder. */
export function entryPath(file: string): string {
  const here = fileURLToPath(new URL(`./${file}`, import.meta.url));
  if (existsSync(here)) return here;
  const src = `${sep}src${sep}`;
  const at = here.lastIndexOf(src);
  return at < 0 ? here : `${here.slice(0, at)}${sep}dist${sep}${here.slice(at + src.length)}`;
}
