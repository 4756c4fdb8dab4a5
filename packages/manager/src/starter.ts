/**
 * Preparer and starter. The preparer acquires the first chunk of each
 * planned worker (chunk id = UUID v7, leased like any chunk). The starter
 * asks the allocator for a host for each chunk, types interleaved for
 * fairness, and dispatches them to the hosts' inboxes at once; a failed
 * dispatch tries another host; a chunk no host can take goes back to
 * pending untouched.
 */
import type { Batch, BatchQueue, JobTypeConfig, Logger } from "@batchjob/core";
import type { Allocator, HostSlot } from "./allocator.js";
import type { Dispatcher } from "./dispatcher.js";
import type { Decision } from "./planner.js";

export interface Prepared {
  jobType: string;
  chunk: Batch;
}

export async function prepareChunks(
  queue: BatchQueue,
  decisions: Decision[],
  types: Map<string, JobTypeConfig>,
): Promise<Prepared[][]> {
  return Promise.all(
    decisions
      .filter((d) => d.start > 0)
      .map(async (d) => {
        const t = types.get(d.jobType) as JobTypeConfig;
        const out: Prepared[] = [];
        for (let i = 0; i < d.start; i++) {
          const chunk = await queue.acquire(d.jobType, { max: t.chunkSize, leaseMs: t.leaseMs });
          if (chunk.size === 0) break;
          out.push({ jobType: d.jobType, chunk });
        }
        return out;
      }),
  );
}

export interface Started {
  jobType: string;
  chunkId: string;
  hostId: string;
}

export interface StartOutcome {
  started: Started[];
  /** Chunks no host could take (returned to pending), by type. */
  unplaced: Map<string, number>;
}

export async function startChunks(
  perType: Prepared[][],
  hosts: readonly HostSlot[],
  allocator: Allocator,
  dispatcher: Dispatcher,
  queue: BatchQueue,
  log: Logger,
): Promise<StartOutcome> {
  const started: Started[] = [];
  const unplaced = new Map<string, number>();
  // interleave types: first chunk of each type, then the second, ...
  const order: Prepared[] = [];
  for (let i = 0; perType.some((l) => i < l.length); i++) {
    for (const l of perType) if (l[i]) order.push(l[i] as Prepared);
  }
  // allocate every chunk first, then dispatch them all at once; a failed
  // dispatch is allocated again without the host that failed it
  let round = order.map((p) => ({ p, failed: new Set<string>() }));
  while (round.length > 0) {
    const placed: { p: Prepared; failed: Set<string>; hostId: string }[] = [];
    for (const r of round) {
      const hostId = allocator.pick(hosts, r.p.jobType, r.failed);
      if (hostId) {
        allocator.commit(hostId);
        placed.push({ ...r, hostId });
      } else {
        await queue.returnChunk(r.p.jobType, r.p.chunk.id);
        unplaced.set(r.p.jobType, (unplaced.get(r.p.jobType) ?? 0) + 1);
      }
    }
    const results = await Promise.allSettled(
      placed.map((x) =>
        dispatcher.dispatch(x.hostId, { jobType: x.p.jobType, chunkId: x.p.chunk.id, size: x.p.chunk.size }),
      ),
    );
    round = [];
    results.forEach((res, i) => {
      const x = placed[i] as (typeof placed)[number];
      if (res.status === "fulfilled") started.push({ jobType: x.p.jobType, chunkId: x.p.chunk.id, hostId: x.hostId });
      else {
        log.warn({ err: res.reason, hostId: x.hostId, chunkId: x.p.chunk.id }, "dispatch failed; trying another host");
        x.failed.add(x.hostId);
        allocator.uncommit(x.hostId);
        round.push({ p: x.p, failed: x.failed });
      }
    });
  }
  return { started, unplaced };
}
