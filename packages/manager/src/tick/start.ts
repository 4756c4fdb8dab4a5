/**
 * Steps 5 and 6, allocate and start (starter.ts): a host for each planned
 * start, a reservation for each placed one, dispatched to its host. The
 * decisions are corrected to what was started, with the reason when no host
 * could take a start or the type's reservation failed (its slot: the type is
 * skipped, the others start); the type's last start time feeds the cooldown.
 */
import type { Supervisor } from "@batchjob/core";
import { startWorkers } from "../starter.js";
import { observed, type TickContext, type TickStep } from "./context.js";
import { perTypeEach } from "./per-type.js";

/**
 * The queue calls of a start, each type's under the per-type rules (a
 * deadline, skipped once unavailable); the reservations of all types go out
 * together on the auto-pipelining reader (a first tick may start thousands).
 */
function guardedQueue(ctx: TickContext): Pick<Supervisor, "reserve" | "dropReservation"> {
  const q = ctx.deps.queue;
  const r = ctx.deps.reader;
  return {
    async reserve(jobType, ids) {
      const done = await perTypeEach(ctx, [jobType], "reserving its starts", () => r.reserve(jobType, ids));
      if (!done.has(jobType)) throw new Error(ctx.unavailable.get(jobType) ?? "skipped");
    },
    dropReservation: (jobType, id) => q.dropReservation(jobType, id),
  };
}

export const start: TickStep = {
  name: "start",
  async run(ctx) {
    const d = ctx.deps;
    d.allocator.reset();
    const planned = ctx.decisions.filter((dec) => dec.start > 0 && !ctx.unavailable.has(dec.jobType));
    if (planned.length === 0) return;
    const now = observed(ctx).now;
    const out = await startWorkers(planned, {
      hosts: ctx.hosts,
      allocator: d.allocator,
      dispatcher: d.dispatcher,
      queue: guardedQueue(ctx),
      log: d.log,
    });
    ctx.started = out.started.length;
    const startedTypes = new Set<string>();
    for (const s of out.started) {
      ctx.state.inFlight.add(s.reservationId, s.jobType, s.hostId, now);
      startedTypes.add(s.jobType);
    }
    if (startedTypes.size > 0) {
      await d.client.hset(d.keys.lastStart, ...[...startedTypes].flatMap((t) => [t, String(now)]));
    }
    const startedOf = new Map<string, number>();
    for (const s of out.started) startedOf.set(s.jobType, (startedOf.get(s.jobType) ?? 0) + 1);
    for (const dec of ctx.decisions) {
      const n = startedOf.get(dec.jobType) ?? 0;
      const u = out.unplaced.get(dec.jobType) ?? 0;
      if (u > 0) dec.reason += `; ${u} not started: no live host with a free slot serves ${dec.jobType}`;
      const refused = out.refused.get(dec.jobType);
      if (refused !== undefined) dec.reason += `; not started: ${refused}`;
      if (dec.start > 0) dec.start = n;
    }
    d.log.info({ started: out.started.length }, "workers dispatched");
  },
};
