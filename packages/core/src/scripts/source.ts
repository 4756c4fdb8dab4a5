/**
 * The text of each Lua script and the KEYS it takes, read from its header:
 * 1. `-- KEYS: pending items chunk` names its keys, in KEYS order;
 * 2. `--- @include "fail"` lines pull in `lua/includes/fail.lua`, which may
 *    include others; each include comes once, after what it includes;
 * 3. the text run is a version line, the includes, a `local K = {pending =
 *    KEYS[1], ...}` made from the header, then the script, which reads its
 *    keys as `K.pending`, never by position;
 * 4. `--- @each-type` marks a script that reads several job types in one
 *    call: KEYS is the header's names once per type, and the script gets
 *    `KEY_GROUPS` (how many) and `keysOf(g)` (the K of the g-th, from 1).
 * `keysFor` builds a call's KEYS from those names (see ScriptKeyValues).
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ScriptKeyValues } from "../keys.js";
import { VERSION } from "../version.js";

/** Every script in `lua/`, by file name. */
export const SCRIPT_NAMES = [
  "enqueue",
  "acquire",
  "ack",
  "release",
  "settle",
  "extend",
  "reclaim",
  "dead-retry",
  "dead-purge",
  "return-chunk",
  "heartbeat",
  "host-list",
  "backlog",
  "reserve",
  "stop-tokens",
  "leader-renew",
  "leader-release",
  "mark-pushed",
  "pending-age",
  "take-stop",
] as const;

export type ScriptName = (typeof SCRIPT_NAMES)[number];

export const LUA_DIR = fileURLToPath(new URL("../../lua/", import.meta.url));

/** What the header of one Lua file declares, and its text. */
interface LuaFile {
  /** The names of `-- KEYS:`; null when the file has no such line (an include). */
  keys: string[] | null;
  includes: string[];
  /** `--- @each-type`: KEYS repeats the header's names once per job type. */
  eachType: boolean;
  text: string;
}

const KEYS_LINE = /^-- KEYS:(.*)$/;
const INCLUDE_LINE = /^--- @include "([a-z0-9-]+)"\s*$/;
const EACH_TYPE_LINE = /^--- @each-type\s*$/;
const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Reads the header: the leading comment lines, up to the first line of code. */
function parseLua(path: string): LuaFile {
  const text = readFileSync(path, "utf8");
  let keys: string[] | null = null;
  const includes: string[] = [];
  let eachType = false;
  let inHeader = true;
  for (const line of text.split("\n")) {
    if (inHeader && line.trim() !== "" && !line.startsWith("--")) inHeader = false;
    if (line.startsWith("--- @include")) {
      const m = INCLUDE_LINE.exec(line);
      if (!inHeader || !m) throw new Error(`${path}: write includes as --- @include "name" in the header: ${line}`);
      includes.push(m[1] as string);
      continue;
    }
    if (line.startsWith("--- @each-type")) {
      if (!inHeader || !EACH_TYPE_LINE.test(line))
        throw new Error(`${path}: write "--- @each-type" in the header: ${line}`);
      eachType = true;
      continue;
    }
    const k = inHeader ? KEYS_LINE.exec(line) : null;
    if (!k) continue;
    if (keys) throw new Error(`${path}: more than one "-- KEYS:" line`);
    keys = (k[1] as string).trim().split(/\s+/).filter(Boolean);
    for (const [i, name] of keys.entries()) {
      if (!KEY_NAME.test(name) || keys.indexOf(name) !== i) throw new Error(`${path}: bad or repeated key "${name}"`);
    }
  }
  return { keys, includes, eachType, text };
}

/** The includes of `file`, transitively, each once, every one after those it includes. */
function resolveIncludes(dir: string, file: LuaFile, from: string): LuaFile[] {
  const out: LuaFile[] = [];
  const done = new Set<string>();
  const visiting: string[] = [];
  const visit = (name: string) => {
    if (done.has(name)) return;
    if (visiting.includes(name)) {
      throw new Error(`${from}.lua: includes form a cycle: ${[...visiting, name].join(" -> ")}`);
    }
    visiting.push(name);
    const path = `${dir}includes/${name}.lua`;
    if (!existsSync(path)) {
      throw new Error(`${from}.lua: includes "${name}", which is not in includes/ (${visiting.join(" -> ")})`);
    }
    const inc = parseLua(path);
    if (inc.keys || inc.eachType) {
      throw new Error(`includes/${name}.lua: an include takes keys from its caller, not a KEYS or @each-type line`);
    }
    for (const sub of inc.includes) visit(sub);
    visiting.pop();
    done.add(name);
    out.push(inc);
  };
  for (const name of file.includes) visit(name);
  return out;
}

export interface AssembledScript {
  /** The names of its `-- KEYS:` line, in KEYS order. */
  keys: readonly string[];
  /** `--- @each-type`: a call passes `keys` once per job type it reads. */
  eachType: boolean;
  /** The text Redis runs. */
  source: string;
}

/** Reads `<dir><name>.lua` and the includes it names (in `<dir>includes/`), and assembles the text Redis runs. */
export function assembleScript(dir: string, name: string, version: string): AssembledScript {
  const file = parseLua(`${dir}${name}.lua`);
  if (!file.keys) throw new Error(`${name}.lua: the header names no "-- KEYS:"`);
  const keys = file.keys;
  let prologue = `local K = {${keys.map((k, i) => `${k} = KEYS[${i + 1}]`).join(", ")}}`;
  if (file.eachType) {
    const at = keys.map((k, i) => `${k} = KEYS[b + ${i + 1}]`).join(", ");
    prologue += `\nlocal KEY_GROUPS = #KEYS / ${keys.length}`;
    prologue += `\nlocal function keysOf(g) local b = (g - 1) * ${keys.length} return {${at}} end`;
  }
  const parts = [`-- batchjob ${name}:${version}`];
  for (const inc of resolveIncludes(dir, file, name)) parts.push(inc.text);
  parts.push(`-- the keys of ${name}, named by its header\n${prologue}\n`, file.text);
  return { keys, eachType: file.eachType, source: parts.join("\n") };
}

const scripts = new Map<ScriptName, AssembledScript>();

function script(name: ScriptName): AssembledScript {
  let s = scripts.get(name);
  if (!s) {
    s = assembleScript(LUA_DIR, name, VERSION);
    scripts.set(name, s);
  }
  return s;
}

/** The full text run for `name`: a version line, its includes, its keys as `K`, the script. */
export function scriptSource(name: ScriptName): string {
  return script(name).source;
}

/** The names of the keys `name` takes, in KEYS order, as its `-- KEYS:` header line gives them. */
export function scriptKeyNames(name: ScriptName): readonly string[] {
  return script(name).keys;
}

/** Whether `name` reads several job types in one call (`--- @each-type`: its header's keys once per type). */
export function scriptEachType(name: ScriptName): boolean {
  return script(name).eachType;
}

/**
 * The KEYS of a call of `name`: each name of its header, looked up in
 * `values`. A name with no value is a bug in the wrapper and throws.
 */
export function keysFor(name: ScriptName, values: ScriptKeyValues): string[] {
  const names = script(name).keys;
  // the header's names are checked against ScriptKeyValues here, at run time (the test calls every wrapper)
  const byName = values as Readonly<Record<string, string | undefined>>;
  const keys = new Array<string>(names.length);
  for (let i = 0; i < names.length; i++) {
    const key = byName[names[i] as string];
    if (key === undefined) {
      throw new Error(`internal: ${name}.lua takes key "${names[i]}", which its caller did not give`);
    }
    keys[i] = key;
  }
  return keys;
}
