/**
 * Loads the Lua scripts from packages/core/lua, prepends the shared includes,
 * and registers each on a client as `name:VERSION` (EVALSHA with a fallback
 * to EVAL, through ioredis `defineCommand`).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { RedisClient } from "../redis.js";
import { VERSION } from "../version.js";

/** Number of KEYS each script declares in its header. */
export const SCRIPT_KEYS = {
  enqueue: 4,
  acquire: 8,
  ack: 5,
  release: 8,
  settle: 13,
  extend: 2,
  reclaim: 8,
  "dead-retry": 5,
  "dead-purge": 5,
  "return-chunk": 5,
  heartbeat: 2,
  "host-list": 2,
  backlog: 6,
  "stop-tokens": 2,
  "leader-renew": 1,
  "leader-release": 1,
} as const;

export type ScriptName = keyof typeof SCRIPT_KEYS;

export const LUA_DIR = fileURLToPath(new URL("../../lua/", import.meta.url));
const INCLUDES = ["common", "fail", "acquire"];

let includeText: string | undefined;
const sources = new Map<ScriptName, string>();

/** The full text run for `name`: a version line, the includes, the script. */
export function scriptSource(name: ScriptName): string {
  let text = sources.get(name);
  if (!text) {
    includeText ??= INCLUDES.map((i) => readFileSync(`${LUA_DIR}includes/${i}.lua`, "utf8")).join("\n");
    const body = readFileSync(`${LUA_DIR}${name}.lua`, "utf8");
    text = `-- batchjob ${name}:${VERSION}\n${includeText}\n${body}`;
    sources.set(name, text);
  }
  return text;
}

export function commandName(name: ScriptName): string {
  return `${name}:${VERSION}`;
}

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

const bound = new WeakMap<RedisClient, Map<ScriptName, ScriptCall>>();

/** Returns the registered command of `name` on `client`, registering it once. */
export function scriptCommand(client: RedisClient, name: ScriptName): ScriptCall {
  let byName = bound.get(client);
  if (!byName) {
    byName = new Map();
    bound.set(client, byName);
  }
  let fn = byName.get(name);
  if (!fn) {
    const cmd = commandName(name);
    // ioredis adds defined commands as methods named by the command; it has no typed lookup.
    const table = client as unknown as Record<string, ScriptCall | undefined>;
    if (!table[cmd]) client.defineCommand(cmd, { numberOfKeys: SCRIPT_KEYS[name], lua: scriptSource(name) });
    fn = (table[cmd] as ScriptCall).bind(client);
    byName.set(name, fn);
  }
  return fn;
}
