/**
 * Steps 2 and 3, level and plan: the load level from the hosts' load (with
 * hysteresis; a host asked to drain counts as draining), then per job type
 * the pure planner's decision (a paused type: target 0). Workers count
 * as running when listed on a live host and not leaving (they took a stop
 * token), plus dispatches no worker has claimed yet. A type observe could not
 * read is not planned: its decision starts and stops nothing and says why.
 */
import type { WorkerListItem } from "@batchjob/core";
import { runningTotal } from "@batchjob/core";
import { readLevel } from "../load-level.js";
import { plan } from "../planner.js";
import { observed, type TickContext, type TickStep } from "./context.js";

export const level: TickStep = {
  name: "level",
  run(ctx) {
    const obs = observed(ctx);
    ctx.level = readLevel(
      obs.alive.map((h) => h.load),
      ctx.state.level,
      ctx.deps.config.manager.load,
    );
    ctx.state.level = ctx.level.level;
    const perHost = ctx.state.inFlight.perHost();
    ctx.hosts = obs.alive.map((h) => ({
      id: h.id,
      slots: h.slots,
      // a lingering worker (#12) gives its slot up to a dispatch that needs one: its slot counts as free
      running: Math.max(0, runningTotal(h) - (h.lingering ?? 0)) + (perHost.get(h.id) ?? 0),
      jobTypes: h.jobTypes,
      load: h.load,
      // draining for shutdown, or asked to drain (`batchjob drain`): the allocator skips it
      draining: h.draining || obs.drainRequested.has(h.id),
    }));
  },
};

function runningByType(ctx: TickContext, workers: WorkerListItem[], now: number, dead: ReadonlySet<string>) {
  const leaving = new Set([...observed(ctx).backlog.values()].flatMap((b) => b.stopping));
  const claimed = new Set<string>();
  const out = new Map<string, number>();
  for (const w of workers) {
    claimed.add(w.reservationId);
    if (dead.has(w.hostId) || leaving.has(w.id)) continue;
    out.set(w.jobType, (out.get(w.jobType) ?? 0) + 1);
  }
  for (const [type, n] of ctx.state.inFlight.countByType(claimed, now, dead)) out.set(type, (out.get(type) ?? 0) + n);
  return out;
}

export const planStep: TickStep = {
  name: "plan",
  run(ctx) {
    const obs = observed(ctx);
    const running = runningByType(ctx, obs.workers, obs.now, new Set(obs.dead));
    const level = ctx.level.level;
    ctx.decisions = ctx.typeList.map((t) => {
      const why = ctx.unavailable.get(t.name);
      const n = running.get(t.name) ?? 0;
      if (why !== undefined) {
        const target = t.parallel[level];
        const reason = `skipped: ${why}; running ${n}`;
        return { jobType: t.name, level, target, running: n, pending: 0, start: 0, stopTokens: 0, reason };
      }
      const pending = obs.backlog.get(t.name)?.pending ?? 0;
      const paused = obs.paused.has(t.name);
      return plan({ config: t, pending, running: n, lastStartAt: obs.lastStart.get(t.name), paused }, level, obs.now);
    });
  },
};
