/**
 * Config reload on SIGHUP (#10): what a running daemon takes from a reloaded
 * file and what it keeps. Options that name where the daemon lives (Redis,
 * prefix) or that its loops and timers were built with cannot change without
 * a restart: a reloaded value that differs is set back to the running one
 * and named, so the daemon can log what it did not apply.
 */
import { formatConfigIssue, InvalidConfigError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { BatchjobConfig } from "./schema.js";

/** The options each daemon keeps on reload (dotted paths); everything else takes effect. */
export const FIXED_ON_RELOAD = {
  manager: ["redis.url", "prefix", "manager.tickMs", "manager.leaderLeaseMs", "worker.hostTtlMs"],
  worker: [
    "redis.url",
    "prefix",
    "queue.maxPayloadBytes",
    "history.cap",
    "worker.slots",
    "worker.jobTypes",
    "worker.heartbeatMs",
    "worker.hostTtlMs",
  ],
} as const satisfies Record<string, readonly string[]>;

export type ReloadRole = keyof typeof FIXED_ON_RELOAD;

function get(obj: unknown, path: readonly string[]): unknown {
  let v = obj;
  for (const p of path) v = v && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

/** A copy of `obj` with `value` at `path`, copying only the objects on the path. */
function set(obj: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) return { ...obj, [head]: value };
  const inner = obj[head];
  return {
    ...obj,
    [head]: set(inner && typeof inner === "object" ? (inner as Record<string, unknown>) : {}, rest, value),
  };
}

/**
 * The config a daemon of `role` runs after a reload: `next`, with each
 * option it cannot change set back to `current`'s value; `kept` names those
 * that differed (to log: "restart to change").
 */
export function reloadedConfig(
  current: BatchjobConfig,
  next: BatchjobConfig,
  role: ReloadRole,
): { config: BatchjobConfig; kept: string[] } {
  let out = next as unknown as Record<string, unknown>;
  const kept: string[] = [];
  for (const dotted of FIXED_ON_RELOAD[role]) {
    const path = dotted.split(".");
    const was = get(current, path);
    if (JSON.stringify(get(next, path)) === JSON.stringify(was)) continue;
    kept.push(dotted);
    out = set(out, path, was);
  }
  return { config: out as unknown as BatchjobConfig, kept };
}

/** What a reload did: applied (with the options kept), or refused (with each problem). */
export type ReloadOutcome = { applied: true; kept: string[] } | { applied: false; problems: string[] };

/**
 * One reload of a daemon of `role`: `load` reads and validates the file
 * again (as `config check` does); a file it refuses is logged as one line
 * naming each problem and the running config is kept; else `apply` gets the
 * reloaded config with the fixed options kept, which are logged by name.
 */
export async function runReload(o: {
  role: ReloadRole;
  current: BatchjobConfig;
  load: () => Promise<BatchjobConfig>;
  apply: (config: BatchjobConfig) => void;
  log: Logger;
}): Promise<ReloadOutcome> {
  let next: BatchjobConfig;
  try {
    next = await o.load();
  } catch (err) {
    const problems =
      err instanceof InvalidConfigError
        ? err.issues.map(formatConfigIssue)
        : [err instanceof Error ? err.message : String(err)];
    o.log.error({ problems }, `config reload refused, running config kept: ${problems.join("; ")}`);
    return { applied: false, problems };
  }
  const { config, kept } = reloadedConfig(o.current, next, o.role);
  o.apply(config);
  if (kept.length > 0)
    o.log.warn({ kept }, `config reloaded; not applied (restart the ${o.role} to change): ${kept.join(", ")}`);
  else o.log.info("config reloaded");
  return { applied: true, kept };
}
