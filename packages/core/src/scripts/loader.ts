/**
 * Registers each Lua script on a client as `name:VERSION` (EVALSHA with a
 * fallback to EVAL, through ioredis `defineCommand`), with the text and key
 * count `source.ts` reads from the script's header.
 */
import type { RedisClient } from "../redis.js";
import { VERSION } from "../version.js";
import { SCRIPT_NAMES, type ScriptName, scriptEachType, scriptKeyNames, scriptSource } from "./source.js";

export function commandName(name: ScriptName): string {
  return `${name}:${VERSION}`;
}

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

const bound = new WeakMap<RedisClient, Map<string, ScriptCall>>();

/** Most job types one call of an @each-type script reads (the supervisor's BACKLOGS_PER_CALL). */
export const EACH_TYPE_MAX_GROUPS = 200;

/**
 * Returns the registered command of `name` on `client` (every script is
 * registered on the first call: registerScripts). An @each-type script takes
 * a varying number of keys: it is registered once per key count it may be
 * called with (`name:VERSION:<keys>`, for 1 to EACH_TYPE_MAX_GROUPS types),
 * so its first argument is always a key — what ioredis routes a call by on a
 * cluster and groups auto-pipelined calls by (a key count first put calls of
 * different slots in one pipeline, which a cluster refuses).
 */
export function scriptCommand(client: RedisClient, name: ScriptName, keyCount?: number): ScriptCall {
  const perType = scriptKeyNames(name).length;
  const eachType = scriptEachType(name);
  if (eachType && (keyCount === undefined || keyCount % perType !== 0 || keyCount / perType > EACH_TYPE_MAX_GROUPS))
    throw new Error(`internal: ${name} takes ${perType} keys per type, 1 to ${EACH_TYPE_MAX_GROUPS} types`);
  const cmd = eachType ? `${commandName(name)}:${keyCount}` : commandName(name);
  return registerScripts(client).get(cmd) as ScriptCall;
}

/**
 * Defines every script on `client` (once), each @each-type script once per
 * key count. All at once: an auto-pipelined call joins a pipeline that may
 * have been made before (for another slot of the same node, by any command),
 * and a pipeline knows only the commands defined before it was made. A queue
 * calls this when it is made, before it sends anything.
 */
export function registerScripts(client: RedisClient): Map<string, ScriptCall> {
  const known = bound.get(client);
  if (known) return known;
  const byName = new Map<string, ScriptCall>();
  // ioredis adds defined commands as methods named by the command; it has no typed lookup.
  const table = client as unknown as Record<string, ScriptCall | undefined>;
  for (const name of SCRIPT_NAMES) {
    const perType = scriptKeyNames(name).length;
    const counts = scriptEachType(name)
      ? Array.from({ length: EACH_TYPE_MAX_GROUPS }, (_, i) => (i + 1) * perType)
      : [perType];
    for (const numberOfKeys of counts) {
      const cmd = scriptEachType(name) ? `${commandName(name)}:${numberOfKeys}` : commandName(name);
      if (!table[cmd]) client.defineCommand(cmd, { numberOfKeys, lua: scriptSource(name) });
      byName.set(cmd, (table[cmd] as ScriptCall).bind(client));
    }
  }
  bound.set(client, byName);
  return byName;
}
