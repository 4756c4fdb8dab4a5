/**
 * What one job type spread over shards (#12) reads as: the sum of its
 * shards. Counts and activity add up; a backlog adds its ready and delayed
 * items, keeps the earliest lease, and takes the reservations and leaving
 * workers from shard 0 (the type's own keys, where they are kept); dead
 * items are merged newest first; an action on every shard goes on past
 * one that fails (eachQueue).
 */
import type { Backlog, DeadItem, QueueCounts } from "../queue-inspect.js";

/** The activity count of a type from its shards' counts: null when no shard has one yet. */
export function sumActivity(counts: (string | null)[]): string | null {
  let sum = 0;
  let any = false;
  for (const c of counts) {
    if (c === null) continue;
    any = true;
    sum += Number(c);
  }
  return any ? String(sum) : null;
}

/** The backlog of a type from its shards' (shard 0 first). */
export function mergeBacklogs(shards: Backlog[]): Backlog {
  const [first, ...rest] = shards as [Backlog, ...Backlog[]];
  const out: Backlog = { ...first, waiting: first.waiting, stopping: first.stopping };
  let idle = first.activity !== null || isIdle(first);
  for (const b of rest) {
    out.pending += b.pending;
    out.delayed += b.delayed;
    if (b.earliestLeaseDeadline !== null) {
      out.earliestLeaseDeadline =
        out.earliestLeaseDeadline === null
          ? b.earliestLeaseDeadline
          : Math.min(out.earliestLeaseDeadline, b.earliestLeaseDeadline);
    }
    idle &&= b.activity !== null || isIdle(b);
  }
  // the idle mark must be what `activity` reads for the type: the sum over its shards, only when all are idle
  out.activity = idle ? sumActivity(shards.map((b) => b.activity)) : null;
  return out;
}

function isIdle(b: Backlog): boolean {
  return b.pending === 0 && b.delayed === 0 && b.earliestLeaseDeadline === null;
}

/** The counts of a type from its shards' counts. */
export function sumCounts(shards: QueueCounts[]): QueueCounts {
  const out = { ...(shards[0] as QueueCounts) };
  for (const c of shards.slice(1)) {
    for (const f of Object.keys(out) as (keyof QueueCounts)[]) out[f] += c[f];
  }
  return out;
}

/** Dead items of several shards, newest first, `offset` and `limit` applied to the merge. */
export function mergeDead<P>(shards: DeadItem<P>[][], offset: number, limit: number): DeadItem<P>[] {
  return shards
    .flat()
    .sort((a, b) => b.diedAt - a.diedAt)
    .slice(offset, offset + limit);
}

/**
 * Runs `fn` on each queue (a type's shards) in turn, each whatever the
 * others did; the first failure, if any, once all were tried.
 */
export async function eachQueue(
  queues: string[],
  fn: (queue: string) => Promise<void>,
): Promise<{ err: unknown } | undefined> {
  let failed: { err: unknown } | undefined;
  for (const q of queues) {
    try {
      await fn(q);
    } catch (err) {
      failed ??= { err };
    }
  }
  return failed;
}
