/**
 * Preparer and starter. The preparer acquires the first chunk of each
 * planned worker (chunk id = UUID v7, leased like any chunk). The starter
 * asks the allocator for a host for each chunk, types interleaved for
 * fairness, and dispatches it to the host's inbox; a failed dispatch tries
 * another host; a chunk no host can take goes back to pending untouched.
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
  for (const p of order) {
    const failed = new Set<string>();
    let placed = false;
    for (;;) {
      const hostId = allocator.pick(hosts, p.jobType, failed);
      if (!hostId) break;
      try {
        await dispatcher.dispatch(hostId, { jobType: p.jobType, chunkId: p.chunk.id, size: p.chunk.size });
        allocator.commit(hostId);
        started.push({ jobType: p.jobType, chunkId: p.chunk.id, hostId });
        placed = true;
        break;
      } catch (err) {
        log.warn({ err, hostId, chunkId: p.chunk.id }, "dispatch failed; trying another host");
        failed.add(hostId);
      }
    }
    if (!placed) {
      await queue.returnChunk(p.jobType, p.chunk.id);
      unplaced.set(p.jobType, (unplaced.get(p.jobType) ?? 0) + 1);
    }
  }
  return { started, unplaced };
}
