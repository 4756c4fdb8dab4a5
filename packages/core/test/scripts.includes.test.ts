import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { assembleScript, LUA_DIR, SCRIPT_NAMES, scriptSource } from "../src/scripts/source.js";

const INCLUDE = /^--- @include "([^"]+)"$/gm;

/** The includes a Lua text names itself. */
function includesOf(text: string): string[] {
  return [...text.matchAll(INCLUDE)].map((m) => m[1] as string);
}

const includeText = (name: string) => readFileSync(`${LUA_DIR}includes/${name}.lua`, "utf8");

/** The includes a script needs: those it names, those they name, and so on. */
function closure(names: string[], into = new Set<string>()): Set<string> {
  for (const n of names) {
    if (into.has(n)) continue;
    into.add(n);
    closure(includesOf(includeText(n)), into);
  }
  return into;
}

describe("Lua includes", () => {
  it.each(SCRIPT_NAMES)("%s: carries what it includes, each once, every include after those it needs", (name) => {
    const source = scriptSource(name);
    const wanted = closure(includesOf(readFileSync(`${LUA_DIR}${name}.lua`, "utf8")));
    for (const file of readdirSync(`${LUA_DIR}includes`)) {
      const inc = file.slice(0, -4);
      const text = includeText(inc);
      const at = source.indexOf(text);
      if (!wanted.has(inc)) {
        expect(at, `${name} carries ${inc}`).toBe(-1);
        continue;
      }
      expect(at, `${name} lacks ${inc}`).toBeGreaterThan(0);
      expect(source.lastIndexOf(text), `${name} carries ${inc} twice`).toBe(at);
      for (const dep of includesOf(text)) expect(source.indexOf(includeText(dep))).toBeLessThan(at);
    }
  });

  it("a leader-lease script carries no chunk helpers", () => {
    for (const name of ["leader-renew", "leader-release"] as const) {
      expect(scriptSource(name)).not.toMatch(/local function/);
      expect(scriptSource(name).split("\n").length).toBeLessThan(25);
    }
    expect(scriptSource("heartbeat")).toMatch(/local function nowMs/);
    expect(scriptSource("heartbeat")).not.toMatch(/settleChunk|acquireChunk|returnItems/);
  });

  it("every include is used by some script", () => {
    const used = new Set<string>();
    for (const name of SCRIPT_NAMES) closure(includesOf(readFileSync(`${LUA_DIR}${name}.lua`, "utf8")), used);
    expect([...used].sort()).toEqual(
      readdirSync(`${LUA_DIR}includes`)
        .map((f) => f.slice(0, -4))
        .sort(),
    );
  });
});

describe("assembling a script", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });

  /** A lua directory of `files` (path under it -> text). */
  function luaDir(files: Record<string, string>): string {
    dir = mkdtempSync(join(tmpdir(), "bj-lua-"));
    mkdirSync(join(dir, "includes"));
    for (const [path, text] of Object.entries(files)) writeFileSync(join(dir, path), text);
    return `${dir}/`;
  }

  it("puts the includes in dependency order, each once, then K from the header, then the script", () => {
    const d = luaDir({
      "s.lua": '-- s\n-- KEYS: a b\n--- @include "x"\n--- @include "y"\n\nreturn K.a\n',
      "includes/x.lua": '-- x\n--- @include "y"\nlocal X = 1\n',
      "includes/y.lua": "-- y\nlocal Y = 2\n",
    });
    const s = assembleScript(d, "s", "9.9.9");
    expect(s.keys).toEqual(["a", "b"]);
    const lines = s.source.split("\n");
    expect(lines[0]).toBe("-- batchjob s:9.9.9");
    const pos = (l: string) => lines.indexOf(l);
    expect(pos("local Y = 2")).toBeLessThan(pos("local X = 1"));
    expect(lines.filter((l) => l === "local Y = 2")).toHaveLength(1);
    expect(pos("local X = 1")).toBeLessThan(pos("local K = {a = KEYS[1], b = KEYS[2]}"));
    expect(pos("local K = {a = KEYS[1], b = KEYS[2]}")).toBeLessThan(pos("return K.a"));
  });

  it("refuses a cycle, a missing include, an include outside the header, and a script without KEYS", () => {
    const d = luaDir({
      "cycle.lua": '-- KEYS: a\n--- @include "p"\nreturn 1\n',
      "includes/p.lua": '--- @include "q"\nlocal P = 1\n',
      "includes/q.lua": '--- @include "p"\nlocal Q = 1\n',
      "missing.lua": '-- KEYS: a\n--- @include "nope"\nreturn 1\n',
      "late.lua": '-- KEYS: a\nlocal x = 1\n--- @include "q"\nreturn x\n',
      "nokeys.lua": "-- no keys line\nreturn 1\n",
      "twice.lua": "-- KEYS: a a\nreturn 1\n",
    });
    expect(() => assembleScript(d, "cycle", "1")).toThrow(/cycle: p -> q -> p/);
    expect(() => assembleScript(d, "missing", "1")).toThrow(/includes "nope", which is not in includes/);
    expect(() => assembleScript(d, "late", "1")).toThrow(/in the header/);
    expect(() => assembleScript(d, "nokeys", "1")).toThrow(/KEYS/);
    expect(() => assembleScript(d, "twice", "1")).toThrow(/repeated key "a"/);
  });
});
