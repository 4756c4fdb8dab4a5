/**
 * Allocation, preparation and dispatch of the planned starts:
 *   1. allocate: a host for each planned worker, types interleaved for
 *      fairness; a type no host can take now gets no more starts this tick,
 *   2. prepare: acquire the first chunk of each placed worker (chunk id =
 *      UUID v7, leased like any chunk), only for starts that have a host,
 *   3. dispatch them all at once; a failed dispatch tries another host; a
 *      chunk no host can take goes back to pending untouched.
 */
import type { Batch, BatchQueue, JobTypeConfig, Logger } from "@batchjob/core";
import type { Allocator, HostSlot } from "./allocator.js";
import type { Dispatcher } from "./dispatcher.js";
import type { Decision } from "./planner.js";

export interface Started {
  jobType: string;
  chunkId: string;
  hostId: string;
}

export interface StartOutcome {
  started: Started[];
  /** Planned starts no host could take, by type. */
  unplaced: Map<string, number>;
}

interface Placement {
  jobType: string;
  hostId: string;
  failed: Set<string>;
  chunk?: Batch;
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
  const most = Math.max(0, ...decisions.map((d) => d.start));
  for (let i = 0; i < most; i++) {
    for (const d of decisions) {
      if (i >= d.start) continue;
      const hostId = full.has(d.jobType) ? null : allocator.pick(hosts, d.jobType);
      if (!hostId) {
        full.add(d.jobType);
        unplaced.set(d.jobType, (unplaced.get(d.jobType) ?? 0) + 1);
        continue;
      }
      allocator.commit(hostId);
      placements.push({ jobType: d.jobType, hostId, failed: new Set() });
    }
  }
  return placements;
}

export async function startWorkers(
  decisions: Decision[],
  types: Map<string, JobTypeConfig>,
  hosts: readonly HostSlot[],
  allocator: Allocator,
  dispatcher: Dispatcher,
  queue: BatchQueue,
  log: Logger,
): Promise<StartOutcome> {
  const started: Started[] = [];
  const unplaced = new Map<string, number>();
  const placements = allocate(decisions, hosts, allocator, unplaced);
  try {
    await prepareAndDispatch(placements, types, hosts, allocator, dispatcher, queue, log, started, unplaced);
  } catch (err) {
    // whatever was prepared and not dispatched goes back untouched before the step reports its failure
    const done = new Set(started.map((x) => x.chunkId));
    for (const p of placements) {
      if (p.chunk && !done.has(p.chunk.id)) await queue.returnChunk(p.jobType, p.chunk.id).catch(() => 0);
    }
    throw err;
  }
  return { started, unplaced };
}

async function prepareAndDispatch(
  placements: Placement[],
  types: Map<string, JobTypeConfig>,
  hosts: readonly HostSlot[],
  allocator: Allocator,
  dispatcher: Dispatcher,
  queue: BatchQueue,
  log: Logger,
  started: Started[],
  unplaced: Map<string, number>,
): Promise<void> {
  // 2. prepare: the first chunk of each placed worker
  const acquired = await Promise.allSettled(
    placements.map(async (p) => {
      const t = types.get(p.jobType) as JobTypeConfig;
      const chunk = await queue.acquire(p.jobType, { max: t.chunkSize, leaseMs: t.leaseMs });
      if (chunk.size > 0) p.chunk = chunk;
      else allocator.uncommit(p.hostId);
    }),
  );
  for (const r of acquired) if (r.status === "rejected") log.warn({ err: r.reason }, "preparing a chunk failed");

  // 3. dispatch; a failure is allocated again without the host that failed it
  let round = placements.filter((p) => p.chunk);
  while (round.length > 0) {
    const results = await Promise.allSettled(
      round.map((p) =>
        dispatcher.dispatch(p.hostId, {
          jobType: p.jobType,
          chunkId: (p.chunk as Batch).id,
          size: (p.chunk as Batch).size,
        }),
      ),
    );
    const retry: Placement[] = [];
    for (const [i, res] of results.entries()) {
      const p = round[i] as Placement;
      const chunk = p.chunk as Batch;
      if (res.status === "fulfilled") {
        started.push({ jobType: p.jobType, chunkId: chunk.id, hostId: p.hostId });
        continue;
      }
      log.warn({ err: res.reason, hostId: p.hostId, chunkId: chunk.id }, "dispatch failed; trying another host");
      allocator.uncommit(p.hostId);
      p.failed.add(p.hostId);
      const next = allocator.pick(hosts, p.jobType, p.failed);
      if (next) {
        allocator.commit(next);
        retry.push({ ...p, hostId: next });
      } else {
        await queue.returnChunk(p.jobType, chunk.id);
        unplaced.set(p.jobType, (unplaced.get(p.jobType) ?? 0) + 1);
      }
    }
    round = retry;
  }
}
