/**
 * Step 7, reap (reaper.ts): reclaim the expired leases of every type holding
 * chunks (no attempt charged); move workers of dead, vanished or restarted
 * hosts to the history as `lost`, giving their chunks back; drop what dead
 * hosts never took and forget them. The queue calls go per type (each on its
 * own, per-type.ts): a type whose slot fails keeps its lost workers listed
 * and its expired leases until it answers again; the other types are reaped.
 */
import type { Supervisor, WorkerListItem } from "@batchjob/core";
import { lostWorkers, type ReapDeps, reapDeadHosts, reapWorkers, reclaimExpired } from "../reaper.js";
import { observed, type TickContext, type TickStep } from "./context.js";
import { perTypeEach } from "./per-type.js";

/**
 * The queue a reaper step gets: a dead host's reservation of a type that
 * cannot be reached is left to expire with its set (the host is still reaped).
 */
function reapQueue(ctx: TickContext): Supervisor {
  const q = ctx.deps.queue;
  return {
    activity: (types) => q.activity(types),
    backlog: (type, now, reservations) => q.backlog(type, now, reservations),
    backlogs: (reads, now) => q.backlogs(reads, now),
    counts: (type) => q.counts(type),
    reclaim: (type, options) => q.reclaim(type, options),
    setStopTokens: (type, target, running) => q.setStopTokens(type, target, running),
    reserve: (type, ids) => q.reserve(type, ids),
    async dropReservation(type, id) {
      const r = await perTypeEach(ctx, [type], "dropping a dead host's reservation", () => q.dropReservation(type, id));
      return r.get(type) ?? false;
    },
  };
}

/** Lost workers by job type. */
function byType<W extends Pick<WorkerListItem, "jobType">>(workers: W[]): Map<string, W[]> {
  const out = new Map<string, W[]>();
  for (const w of workers) out.set(w.jobType, [...(out.get(w.jobType) ?? []), w]);
  return out;
}

export const reap: TickStep = {
  name: "reap",
  async run(ctx) {
    const d = ctx.deps;
    const obs = observed(ctx);
    const expired = ctx.typeList
      .filter((t) => {
        const first = obs.backlog.get(t.name)?.earliestLeaseDeadline;
        return first !== null && first !== undefined && first <= obs.now;
      })
      .map((t) => t.name);
    const reclaimed = await perTypeEach(ctx, expired, "reclaiming its expired leases", (t) =>
      reclaimExpired(d.queue, [t], d.log),
    );
    ctx.reclaimedItems = [...reclaimed.values()].reduce((a, b) => a + b, 0);
    const deps: ReapDeps = {
      queue: reapQueue(ctx),
      registry: d.registry,
      dispatcher: d.dispatcher,
      list: d.list,
      history: d.history,
      log: d.log,
    };
    const dead = new Set(obs.dead);
    const lost = byType(lostWorkers(obs.workers, obs.alive, dead, d.config.worker.hostTtlMs, obs.now));
    await perTypeEach(ctx, [...lost.keys()], "handing back its lost workers' chunks", (t) =>
      reapWorkers(deps, lost.get(t) ?? []),
    );
    if (dead.size > 0) {
      ctx.state.inFlight.dropHosts(dead);
      await reapDeadHosts(deps, obs.dead);
    }
    await d.dispatcher.keepOnly(new Set(obs.alive.map((h) => h.id)));
  },
};
