/**
 * Allocation and dispatch of the planned starts:
 *   1. allocate: a host for each planned worker, types interleaved for
 *      fairness; a type no host can take now gets no more starts this tick,
 *   2. reserve: one reservation id per placed worker, recorded in the type's
 *      `reserved` set (the manager counts it as starting until a worker takes
 *      it); each type on its own: a type whose reservation fails (its slot is
 *      down) starts nothing this tick, the others go on,
 *   3. dispatch them all at once; a failed dispatch tries another host; a
 *      start no host can take drops its reservation.
 * Nothing is leased here: the worker acquires its chunks itself once it runs.
 */
import { type Logger, newId, type Supervisor } from "@batchjob/core";
import type { Allocator, HostSlot } from "./allocator.js";
import type { Dispatcher } from "./dispatcher.js";
import type { Decision } from "./planner.js";

export interface Started {
  jobType: string;
  reservationId: string;
  hostId: string;
}

export interface StartOutcome {
  started: Started[];
  /** Planned starts no host could take, by type. */
  unplaced: Map<string, number>;
  /** Types whose starts could not be reserved, with the error. */
  refused: Map<string, string>;
}

interface Placement {
  jobType: string;
  hostId: string;
  reservationId: string;
  failed: Set<string>;
}

/** 1. A host for each planned start, first of every type, then second, ... */
function allocate(
  decisions: Decision[],
  hosts: readonly HostSlot[],
  allocator: Allocator,
  unplaced: Map<string, number>,
) {
  const placements: Placement[] = [];
  const full = new Set<string>();
  // only hosts with a free slot can take a start: once none has one, no type is asked about every host
  const open = hosts.filter((h) => !h.draining && h.slots - h.running > 0);
  let free = open.reduce((n, h) => n + h.slots - h.running, 0);
  let most = 0;
  for (const d of decisions) most = Math.max(most, d.start);
  for (let i = 0; i < most; i++) {
    for (const d of decisions) {
      if (i >= d.start) continue;
      const hostId = full.has(d.jobType) || free <= 0 ? null : allocator.pick(open, d.jobType);
      if (!hostId) {
        full.add(d.jobType);
        unplaced.set(d.jobType, (unplaced.get(d.jobType) ?? 0) + 1);
        continue;
      }
      allocator.commit(hostId);
      free--;
      placements.push({ jobType: d.jobType, hostId, reservationId: newId(), failed: new Set() });
    }
  }
  return placements;
}

export interface StartDeps {
  hosts: readonly HostSlot[];
  allocator: Allocator;
  dispatcher: Dispatcher;
  queue: Pick<Supervisor, "reserve" | "dropReservation">;
  log: Logger;
}

export async function startWorkers(decisions: Decision[], deps: StartDeps): Promise<StartOutcome> {
  const { hosts, allocator, dispatcher, queue, log } = deps;
  const started: Started[] = [];
  const unplaced = new Map<string, number>();
  const refused = new Map<string, string>();
  const placements = allocate(decisions, hosts, allocator, unplaced);
  // 2. reserve, per type, each on its own
  const byType = new Map<string, string[]>();
  for (const p of placements) byType.set(p.jobType, [...(byType.get(p.jobType) ?? []), p.reservationId]);
  const reserved = await Promise.allSettled([...byType].map(([jobType, ids]) => queue.reserve(jobType, ids)));
  [...byType.keys()].forEach((jobType, i) => {
    const r = reserved[i];
    if (r?.status === "rejected") refused.set(jobType, r.reason instanceof Error ? r.reason.message : String(r.reason));
  });
  for (const p of placements) if (refused.has(p.jobType)) allocator.uncommit(p.hostId);

  // 3. dispatch; a failure is allocated again without the host that failed it
  let round = placements.filter((p) => !refused.has(p.jobType));
  while (round.length > 0) {
    const results = await Promise.allSettled(
      round.map((p) => dispatcher.dispatch(p.hostId, { jobType: p.jobType, reservationId: p.reservationId })),
    );
    const retry: Placement[] = [];
    for (const [i, res] of results.entries()) {
      const p = round[i] as Placement;
      if (res.status === "fulfilled") {
        started.push({ jobType: p.jobType, reservationId: p.reservationId, hostId: p.hostId });
        continue;
      }
      log.warn({ err: res.reason, hostId: p.hostId, jobType: p.jobType }, "dispatch failed; trying another host");
      allocator.uncommit(p.hostId);
      p.failed.add(p.hostId);
      const next = allocator.pick(hosts, p.jobType, p.failed);
      if (next) {
        allocator.commit(next);
        retry.push({ ...p, hostId: next });
      } else {
        // a reservation that cannot be dropped now expires with its set
        await queue.dropReservation(p.jobType, p.reservationId).catch((err: unknown) => {
          log.warn({ err, jobType: p.jobType, reservationId: p.reservationId }, "could not drop a reservation");
        });
        unplaced.set(p.jobType, (unplaced.get(p.jobType) ?? 0) + 1);
      }
    }
    round = retry;
  }
  return { started, unplaced, refused };
}
