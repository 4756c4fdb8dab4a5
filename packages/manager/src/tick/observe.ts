/**
 * Step 1, observe: live and dead hosts, the worker list, each type's backlog
 * (ready items, earliest lease, which dispatched reservations still wait),
 * activity and last starts. Each entry is parsed on its own: a malformed one
 * is skipped and counted, never fatal. An idle type is read again only when
 * its activity count moves or a worker of it runs.
 */
import type { Backlog } from "@batchjob/core";
import type { TickContext, TickStep } from "./context.js";

const EMPTY: Backlog = { pending: 0, earliestLeaseDeadline: null, delayed: 0, waiting: [], stopping: [] };

async function readBacklogs(
  ctx: TickContext,
  now: number,
  activity: Record<string, string>,
  busy: ReadonlySet<string>,
): Promise<{ backlog: Map<string, Backlog>; taken: boolean }> {
  const { deps, state } = ctx;
  const inFlight = state.inFlight.byType();
  const toRead = ctx.typeList.filter(
    (t) => !state.idle.has(t.name) || state.idle.get(t.name) !== activity[t.name] || busy.has(t.name),
  );
  const read = await Promise.all(toRead.map((t) => deps.reader.backlog(t.name, now, inFlight.get(t.name))));
  const backlog = new Map<string, Backlog>();
  for (const t of ctx.typeList) if (state.idle.has(t.name)) backlog.set(t.name, EMPTY);
  let taken = false;
  toRead.forEach((t, i) => {
    const b = read[i] as Backlog;
    backlog.set(t.name, b);
    if (b.pending === 0 && b.earliestLeaseDeadline === null && b.delayed === 0)
      state.idle.set(t.name, activity[t.name]);
    else state.idle.delete(t.name);
    // a reservation no longer waiting was taken by a worker (listed from then on) or refused
    taken = state.inFlight.keepWaiting(inFlight.get(t.name) ?? [], new Set(b.waiting)) || taken;
  });
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
    // the host list gives the Redis time the backlog counts due retries by
    const hosts = await d.registry.list(d.config.worker.hostTtlMs, skip(d.keys.hostInfo));
    let [workers, activity, lastRaw] = await Promise.all([
      d.list.list({}, skip(d.keys.workers)),
      d.client.hgetall(d.keys.activity),
      d.client.hgetall(d.keys.lastStart),
    ]);
    const busy = new Set([...workers.map((w) => w.jobType), ...ctx.state.inFlight.byType().keys()]);
    const { backlog, taken } = await readBacklogs(ctx, hosts.now, activity, busy);
    // a worker may have listed itself and taken its reservation after the list was read: read it again
    if (taken) workers = await d.list.list({}, () => {});
    const lastStart = new Map<string, number>();
    for (const [type, v] of Object.entries(lastRaw)) {
      if (Number.isFinite(Number(v))) lastStart.set(type, Number(v));
      else skip(d.keys.lastStart)(type, "not a number");
    }
    ctx.observation = { now: hosts.now, alive: hosts.alive, dead: hosts.dead, workers, backlog, lastStart };
  },
};
