/**
 * Reading a job type's queue for operators and the manager: counts (one
 * MULTI), the dead-letter set, and retrying or purging dead items in slices
 * of 1,000 (one script call each). Leased items are derived, never counted:
 * every item a chunk took is still held, or was acked, retried, died or returned.
 */
import type { TypeKeys } from "./keys.js";
import { execReplies, type RedisClient } from "./redis.js";
import { attemptsOf, deadScript } from "./scripts/commands.js";

const STAT_FIELDS = [
  "enqueued",
  "deduped",
  "acquired",
  "acked",
  "retried",
  "died",
  "returned",
  "split",
  "grouped",
  "reclaimed",
  "revived",
  "purged",
] as const;

export interface QueueCounts {
  pending: number;
  /** Items held by chunks. */
  leased: number;
  delayed: number;
  dead: number;
  /** Chunks holding a lease. */
  chunks: number;
  /** Every item present in any state. */
  total: number;
  /** Lifetime counters. */
  enqueued: number;
  deduped: number;
  acquired: number;
  acked: number;
  retried: number;
  died: number;
  returned: number;
  /** Items put in split groups (a chunk failed as a whole with no known culprit, or was returned twice). */
  split: number;
  /** Items waiting in split groups now (counted in `pending`). */
  grouped: number;
  reclaimed: number;
  revived: number;
  purged: number;
}

export interface Backlog {
  /** Pending items, items in split groups and delayed retries due now. */
  pending: number;
  earliestLeaseDeadline: number | null;
  delayed: number;
  /** The asked-about reservations that no worker has taken yet. */
  waiting: string[];
  /** Ids of workers that took a stop token and are leaving. */
  stopping: string[];
  /**
   * The type's activity count when this was read (items enqueued or revived,
   * ever; null: none yet), read only when nothing is ready, leased or
   * delayed (the mark of an idle type); null for a busy type.
   */
  activity: string | null;
}

export interface DeadItem<P = unknown> {
  id: string;
  payload: P;
  attempts: number;
  /** Times its host or daemon died (or lost its lease) while holding it. */
  returns: number;
  error: string | null;
  /** How the failure was pinned on this item: "reported by the job", "isolated by bisection (depth 3)", ... */
  how: string | null;
  /** When it died (ms since epoch, Redis clock). */
  diedAt: number;
}

export async function readCounts(client: RedisClient, k: TypeKeys): Promise<QueueCounts> {
  const v = execReplies(
    await client
      .multi()
      .llen(k.pending)
      .zcard(k.delayed)
      .zcard(k.dead)
      .zcard(k.leases)
      .hmget(k.stats, ...STAT_FIELDS)
      .exec(),
    "counts",
  );
  const [pending = 0, delayed = 0, dead = 0, chunks = 0] = v.slice(0, 4).map(Number);
  const stats = (v[4] as (string | null)[]).map((x) => Number(x ?? 0));
  const stat = Object.fromEntries(STAT_FIELDS.map((f, i) => [f, stats[i] ?? 0])) as Record<
    (typeof STAT_FIELDS)[number],
    number
  >;
  const leased = Math.max(0, stat.acquired - stat.acked - stat.retried - stat.died - stat.returned);
  const waiting = pending + Math.max(0, stat.grouped);
  return { ...stat, pending: waiting, leased, delayed, dead, chunks, total: waiting + leased + delayed + dead };
}

function parseOr<T>(text: string | null | undefined, fallback: (raw: string) => T): T | null {
  if (text == null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback(text);
  }
}

export async function readDead<P>(
  client: RedisClient,
  k: TypeKeys,
  offset: number,
  limit: number,
): Promise<DeadItem<P>[]> {
  const flat = await client.zrevrange(k.dead, offset, offset + limit - 1, "WITHSCORES");
  const ids: string[] = [];
  const diedAt: number[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    ids.push(flat[i] as string);
    diedAt.push(Number(flat[i + 1]));
  }
  if (ids.length === 0) return [];
  const [payloads, fails] = execReplies(
    await client
      .multi()
      .hmget(k.items, ...ids)
      .hmget(k.fails, ...ids)
      .exec(),
    "listDead",
  ) as [(string | null)[], (string | null)[]];
  return ids.map((id, i) => {
    const fail = fails[i];
    const record = parseOr<{ error?: string; how?: string; returns?: number }>(fail, (raw) => ({ error: raw }));
    const payload = parseOr<unknown>(payloads[i], (raw) => raw) as P;
    return {
      id,
      payload,
      attempts: attemptsOf(fail),
      returns: typeof record?.returns === "number" ? record.returns : 0,
      error: record?.error ?? null,
      how: record?.how ?? null,
      diedAt: diedAt[i] ?? 0,
    };
  });
}

/** Retries or purges dead items: the named ones (deduped), or all of them. */
export async function deadAction(
  client: RedisClient,
  k: TypeKeys,
  action: "dead-retry" | "dead-purge",
  ids?: string[],
): Promise<number> {
  const limit = 1000;
  let total = 0;
  if (ids) {
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += limit) {
      total += (await deadScript(client, k, action, limit, unique.slice(i, i + limit))).count;
    }
    return total;
  }
  for (;;) {
    const r = await deadScript(client, k, action, limit, []);
    total += r.count;
    if (!r.more || r.count === 0) return total;
  }
}
