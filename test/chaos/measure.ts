/**
 * The end of a scenario: wait for its queues to drain (with a deadline),
 * then tally every enqueued item against the sink and the queue:
 *   processed   healthy ids the sink saw done at least once
 *   duplicates  healthy ids done more than once, and the extra runs in all
 *   dead        healthy / poison ids in the dead-letter set
 *   queued      healthy ids still pending, delayed or held by a chunk (only if the drain timed out)
 *   lost        healthy ids neither done, nor dead, nor queued
 * and the queue's own counters (acked + died = enqueued when every item was settled once).
 */

import { diedOfOwnFault, type Ledger } from "./items.js";
import type { Stack } from "./stack.js";
import { sleep } from "./util.js";

export interface Tally {
  enqueued: number;
  healthy: number;
  poison: number;
  processed: number;
  dupIds: number;
  dupExtra: number;
  deadHealthy: number;
  deadPoison: number;
  /** Dead poison items whose error is their own kind's. */
  poisonOwnError: number;
  /** Every dead poison item: its kind, attempts and last error. */
  poisonDead: { id: string; kind: string; attempts: number; error: string | null }[];
  lost: number;
  queued: number;
  acked: number;
  died: number;
  samples: {
    deadHealthy: { id: string; error: string | null }[];
    lost: string[];
    poisonNotOwn: { id: string; error: string | null }[];
    poisonNotDead: string[];
  };
}

/** Waits until no type has pending, delayed or leased work; false when `timeoutMs` passed first. */
export async function drain(stack: Stack, types: string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const all = await Promise.all(types.map((t) => stack.queue.counts(t)));
      if (all.every((c) => c.pending === 0 && c.delayed === 0 && c.chunks === 0)) return true;
    } catch {
      // the queue Redis may still be coming back
    }
    if (Date.now() > deadline) return false;
    await sleep(200);
  }
}

/** The ids a type still holds: pending entries, delayed retries, items of leased chunks. */
async function queuedIds(stack: Stack, type: string): Promise<Set<string>> {
  const k = stack.keys.type(type);
  const c = stack.client;
  const out = new Set<string>();
  const addEntries = (entries: string[]) => {
    for (const e of entries) out.add(e.slice(0, e.indexOf("\t")));
  };
  addEntries(await c.lrange(k.pending, 0, -1));
  for (const id of await c.zrange(k.delayed, "0", "-1")) out.add(id);
  for (const owner of await c.zrange(k.leases, "0", "-1")) addEntries(await c.lrange(k.chunk(owner), 0, -1));
  // halves of split chunks waiting to run, where the code under test has them (`<depth>:<group id>`)
  const split = k as unknown as { groups?: string; group?: (id: string) => string };
  if (split.groups && split.group) {
    for (const g of await c.lrange(split.groups, 0, -1)) {
      addEntries(await c.lrange(split.group(g.slice(g.indexOf(":") + 1)), 0, -1));
    }
  }
  return out;
}

export async function tally(stack: Stack, types: string[], ledger: Ledger): Promise<Tally> {
  const done = await stack.sinkView.counts();
  const queued = new Set<string>();
  const dead = new Map<string, { error: string | null; attempts: number }>();
  let acked = 0;
  let died = 0;
  for (const t of types) {
    for (const id of await queuedIds(stack, t)) queued.add(id);
    for (const d of await stack.queue.listDead(t, { limit: 1_000_000 })) {
      dead.set(d.id, { error: d.error, attempts: d.attempts });
    }
    const c = await stack.queue.counts(t);
    acked += c.acked;
    died += c.died;
  }
  const t: Tally = {
    enqueued: ledger.enqueued,
    healthy: ledger.healthy.size,
    poison: ledger.poison.size,
    processed: 0,
    dupIds: 0,
    dupExtra: 0,
    deadHealthy: 0,
    deadPoison: 0,
    poisonOwnError: 0,
    poisonDead: [],
    lost: 0,
    queued: 0,
    acked,
    died,
    samples: { deadHealthy: [], lost: [], poisonNotOwn: [], poisonNotDead: [] },
  };
  for (const id of ledger.healthy) {
    const n = done.get(id) ?? 0;
    if (n > 0) t.processed++;
    if (n > 1) {
      t.dupIds++;
      t.dupExtra += n - 1;
    }
    if (dead.has(id)) {
      t.deadHealthy++;
      if (t.samples.deadHealthy.length < 5) t.samples.deadHealthy.push({ id, error: dead.get(id)?.error ?? null });
    } else if (queued.has(id)) t.queued++;
    else if (n === 0) {
      t.lost++;
      if (t.samples.lost.length < 10) t.samples.lost.push(id);
    }
  }
  for (const [id, kind] of ledger.poison) {
    const d = dead.get(id);
    if (!d) {
      t.samples.poisonNotDead.push(id);
      continue;
    }
    t.deadPoison++;
    const error = d.error;
    t.poisonDead.push({ id, kind, attempts: d.attempts, error });
    if (diedOfOwnFault(kind, id, error)) t.poisonOwnError++;
    else if (t.samples.poisonNotOwn.length < 5) t.samples.poisonNotOwn.push({ id, error });
  }
  return t;
}
