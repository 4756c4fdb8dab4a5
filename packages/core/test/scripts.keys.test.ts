import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LUA_DIR, SCRIPT_KEYS, scriptSource, VERSION } from "../src/index.js";

/** The highest KEYS[i] a script's header names. */
function headerKeyCount(name: string): number {
  const text = readFileSync(`${LUA_DIR}${name}.lua`, "utf8");
  const header = text
    .split("\n")
    .filter((l) => l.startsWith("--"))
    .join("\n");
  const nums = [...header.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
  return Math.max(0, ...nums);
}

describe("Lua scripts", () => {
  const files = readdirSync(LUA_DIR)
    .filter((f) => f.endsWith(".lua"))
    .map((f) => f.slice(0, -4));

  it("has a registered key count for every script file and a file for every count", () => {
    expect(files.sort()).toEqual(Object.keys(SCRIPT_KEYS).sort());
  });

  it.each(Object.entries(SCRIPT_KEYS))("%s: header names exactly its %i keys and the body uses no other", (name, n) => {
    expect(headerKeyCount(name)).toBe(n);
    const body = readFileSync(`${LUA_DIR}${name}.lua`, "utf8");
    const used = [...body.matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1]));
    expect(Math.max(...used)).toBeLessThanOrEqual(n);
  });

  it("registers each script under name:version", () => {
    expect(scriptSource("acquire").split("\n")[0]).toBe(`-- batchjob acquire:${VERSION}`);
  });

  it("VERSION matches package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
