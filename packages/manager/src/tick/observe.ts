/**
 * Step 1, observe: live and dead hosts, the worker list, last starts, the
 * paused types and the hosts asked to drain (the control plane's slot:
 * without it there is no tick), then per job type, each on its own (per-type.ts: a type whose slot fails is skipped, the
 * others are observed):
 *   1. the activity count of each type seen idle before (one MGET on one
 *      Redis, one per slot on a cluster), with the worker list: an idle
 *      type whose count did not move, and that runs no worker, is not read further;
 *   2. the backlog of every other type (ready items, earliest lease, which
 *      dispatched reservations still wait, workers leaving), with its
 *      activity count read in the same script: a type found idle keeps that
 *      count as its mark, so an enqueue after the read moves it. One script
 *      call reads a few hundred types (those of one slot on a cluster); a
 *      call that fails is made again per type, so a type fails alone.
 * Every SWEEP_EVERY_TICKS-th tick skips 1 and reads every type's backlog: a
 * push made around the producer protocol (a raw RPUSH that does not move the
 * activity count, docs/protocol.md) is still noticed within that many ticks.
 * Each entry is parsed on its own: a malformed one is skipped and counted, never fatal.
 */
import type { Backlog } from "@batchjob/core";
import type { TickContext, TickStep } from "./context.js";
import { callable, perGroupEach } from "./per-type.js";

/** Every this many ticks, every known type's backlog is read, its activity count moved or not. */
export const SWEEP_EVERY_TICKS = 5;

const EMPTY: Omit<Backlog, "activity"> = {
  pending: 0,
  earliestLeaseDeadline: null,
  delayed: 0,
  waiting: [],
  stopping: [],
};

/**
 * 1. The activity count of each type seen idle before (read with the worker
 * list: it does not wait for it); none on a sweep, which reads every type.
 */
function readIdleActivity(ctx: TickContext, sweep: boolean): Promise<Map<string, string | null>> {
  if (sweep) return Promise.resolve(new Map());
  const idle = ctx.typeList.map((t) => t.name).filter((n) => ctx.state.idle.has(n));
  const groups = ctx.deps.reader.activity(callable(ctx, idle));
  return perGroupEach(
    ctx,
    groups.map((g) => ({ jobTypes: g.jobTypes, values: g.counts })),
    "reading its activity",
  );
}

/** 2. The backlog of every type not still idle nor unavailable; a type found idle is marked with its count. */
async function readBacklogs(
  ctx: TickContext,
  now: number,
  idle: ReadonlySet<string>,
): Promise<{ backlog: Map<string, Omit<Backlog, "activity">>; taken: boolean }> {
  const { deps, state } = ctx;
  const inFlight = state.inFlight.byType();
  const toRead = ctx.typeList.map((t) => t.name).filter((n) => !idle.has(n) && !ctx.unavailable.has(n));
  const reads = callable(ctx, toRead).map((jobType) => ({ jobType, reservations: inFlight.get(jobType) ?? [] }));
  const groups = deps.reader.backlogs(reads, now);
  const read = await perGroupEach(
    ctx,
    groups.map((g) => ({ jobTypes: g.jobTypes, values: g.backlogs })),
    "reading its backlog",
  );
  const backlog = new Map<string, Omit<Backlog, "activity">>();
  for (const n of idle) backlog.set(n, EMPTY);
  let taken = false;
  for (const [name, b] of read) {
    backlog.set(name, b);
    if (b.pending === 0 && b.earliestLeaseDeadline === null && b.delayed === 0) state.idle.set(name, b.activity);
    else state.idle.delete(name);
    // a reservation no longer waiting was taken by a worker (listed from then on) or refused
    taken = state.inFlight.keepWaiting(inFlight.get(name) ?? [], new Set(b.waiting)) || taken;
  }
  return { backlog, taken };
}

export const observe: TickStep = {
  name: "observe",
  needsObservation: false,
  async run(ctx) {
    const { deps: d } = ctx;
    const skip = (key: string) => (field: string, error: string) => {
      ctx.quarantined++;
      d.log.warn({ key, field, error }, "malformed entry skipped");
    };
    const sweep = ctx.state.ticks++ % SWEEP_EVERY_TICKS === SWEEP_EVERY_TICKS - 1;
    // the host list gives the Redis time the backlog counts due retries by
    const hosts = await d.registry.list(d.config.worker.hostTtlMs, skip(d.keys.hostInfo));
    let [workers, lastRaw, activity, paused, drainRequested] = await Promise.all([
      d.list.list({}, skip(d.keys.workers)),
      d.client.hgetall(d.keys.lastStart),
      readIdleActivity(ctx, sweep),
      d.client.smembers(d.keys.paused),
      d.client.smembers(d.keys.draining),
    ]);
    // still idle: its count did not move since it was seen idle, and no worker of it runs or is on its way
    const busy = new Set([...workers.map((w) => w.jobType), ...ctx.state.inFlight.byType().keys()]);
    const idle = new Set<string>();
    for (const [n, count] of activity) if (ctx.state.idle.get(n) === count && !busy.has(n)) idle.add(n);
    const { backlog, taken } = await readBacklogs(ctx, hosts.now, idle);
    // a worker may have listed itself and taken its reservation after the list was read: read it again
    if (taken) workers = await d.list.list({}, () => {});
    const lastStart = new Map<string, number>();
    for (const [type, v] of Object.entries(lastRaw)) {
      if (Number.isFinite(Number(v))) lastStart.set(type, Number(v));
      else skip(d.keys.lastStart)(type, "not a number");
    }
    ctx.observation = {
      now: hosts.now,
      alive: hosts.alive,
      dead: hosts.dead,
      workers,
      backlog,
      lastStart,
      paused: new Set(paused),
      drainRequested: new Set(drainRequested),
    };
  },
};
