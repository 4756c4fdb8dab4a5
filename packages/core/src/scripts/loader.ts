/**
 * Registers each Lua script on a client as `name:VERSION` (EVALSHA with a
 * fallback to EVAL, through ioredis `defineCommand`), with the text and key
 * count `source.ts` reads from the script's header.
 */
import type { RedisClient } from "../redis.js";
import { VERSION } from "../version.js";
import { type ScriptName, scriptEachType, scriptKeyNames, scriptSource } from "./source.js";

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
    if (!table[cmd]) {
      // an @each-type script takes a varying number of keys: its caller passes the count first
      const numberOfKeys = scriptEachType(name) ? undefined : scriptKeyNames(name).length;
      client.defineCommand(cmd, { ...(numberOfKeys === undefined ? {} : { numberOfKeys }), lua: scriptSource(name) });
    }
    fn = (table[cmd] as ScriptCall).bind(client);
    byName.set(name, fn);
  }
  return fn;
}
