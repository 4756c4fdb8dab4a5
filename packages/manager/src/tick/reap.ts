/**
 * Step 7, reap (reaper.ts): reclaim the expired leases of every type holding
 * chunks (no attempt charged); move workers of dead, vanished or restarted
 * hosts to the history as `lost`, giving their chunks back; drop what dead
 * hosts never took and forget them.
 */
import { lostWorkers, reapDeadHosts, reapWorkers, reclaimExpired } from "../reaper.js";
import { observed, type TickStep } from "./context.js";

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
    ctx.reclaimedItems = await reclaimExpired(d.queue, expired, d.log);
    const deps = {
      queue: d.queue,
      registry: d.registry,
      dispatcher: d.dispatcher,
      list: d.list,
      history: d.history,
      log: d.log,
    };
    const dead = new Set(obs.dead);
    await reapWorkers(deps, lostWorkers(obs.workers, obs.alive, dead, d.config.worker.hostTtlMs, obs.now));
    if (dead.size > 0) {
      ctx.state.inFlight.dropHosts(dead);
      await reapDeadHosts(deps, obs.dead);
    }
    await d.dispatcher.keepOnly(new Set(obs.alive.map((h) => h.id)));
  },
};
