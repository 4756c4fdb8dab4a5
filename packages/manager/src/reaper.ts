/**
 * The reaper: (1) reclaims expired leases of every job type holding chunks;
 * (2) for each host whose heartbeat expired (or that marked itself gone),
 * re-allocates the dispatches it never took to live hosts, under a new chunk
 * id (the old one is returned first, so a host that was only late and takes
 * the old message finds nothing to run), and forgets the host; (3) for each
 * worker whose host is gone, or was restarted under the same id, gives back
 * the chunk it held (at once, not at lease expiry) and moves it from the list
 * to the history with exit reason `lost`. A host that comes back cannot ack
 * what was reclaimed: the queue fences it by chunk id.
 */
import {
  type BatchQueue,
  type HostRegistry,
  historyItemOf,
  type JobTypeConfig,
  type LiveHost,
  type Logger,
  type WorkerHistoryStorage,
  type WorkerListItem,
  type WorkerListStorage,
} from "@batchjob/core";
import type { Allocator, HostSlot } from "./allocator.js";
import type { Dispatcher } from "./dispatcher.js";

export interface ReapDeps {
  queue: BatchQueue;
  registry: HostRegistry;
  dispatcher: Dispatcher;
  list: WorkerListStorage;
  history: WorkerHistoryStorage;
  log: Logger;
}

export async function reclaimExpired(queue: BatchQueue, types: string[], log: Logger): Promise<number> {
  let items = 0;
  await Promise.all(
    types.map(async (t) => {
      const r = await queue.reclaim(t);
      if (r.chunks > 0)
        log.warn({ jobType: t, chunks: r.chunks, retried: r.retried, dead: r.dead }, "reclaimed expired leases");
      items += r.retried + r.dead;
    }),
  );
  return items;
}

/**
 * Workers whose host is gone: dead, unknown for longer than a host TTL (a
 * leftover entry), or alive but restarted since (another pid under the same
 * host id, the entry older than the process).
 */
export function lostWorkers(
  workers: WorkerListItem[],
  alive: readonly LiveHost[],
  dead: ReadonlySet<string>,
  ttlMs: number,
  nowMs: number,
): WorkerListItem[] {
  const byId = new Map(alive.map((h) => [h.id, h]));
  return workers.filter((w) => {
    if (dead.has(w.hostId)) return true;
    const host = byId.get(w.hostId);
    if (!host) return nowMs - Date.parse(w.updatedAt) > ttlMs;
    return host.pid !== w.pid && Date.parse(w.createdAt) < Date.parse(host.startedAt);
  });
}

/** Hands back each lost worker's chunk and moves it to the history; returns how many were moved. */
export async function reapWorkers(deps: ReapDeps, workers: WorkerListItem[]): Promise<number> {
  const { queue, list, history, log } = deps;
  let moved = 0;
  for (const w of workers) {
    if (w.currentChunkId)
      await queue.reclaim(w.jobType, { owners: [w.currentChunkId], reason: `host ${w.hostId} lost` });
    // only the one who removes the entry writes the history
    if (await list.remove(w.id)) {
      await history.add(
        historyItemOf(w, {
          exitReason: "lost",
          durationMs: Math.max(0, Date.parse(w.updatedAt) - Date.parse(w.createdAt)),
          peakMemoryBytes: null,
          error: `host ${w.hostId} (pid ${w.pid}) stopped sending heartbeats`,
        }),
      );
      moved++;
    }
  }
  if (moved > 0) log.warn({ workers: moved }, "workers lost with their hosts: their chunks were handed back");
  return moved;
}

export interface Redispatched {
  jobType: string;
  chunkId: string;
  hostId: string;
}

/**
 * Re-allocates what dead hosts never took to live hosts and forgets the dead
 * hosts. Each undelivered chunk is returned to the head of pending (no attempt
 * counted) and, when a live host has a free slot for its type, acquired again
 * under a new chunk id and dispatched there; else the next ticks plan it.
 */
export async function reapDeadHosts(
  deps: ReapDeps,
  deadHosts: string[],
  live: readonly HostSlot[],
  allocator: Allocator,
  types: ReadonlyMap<string, Pick<JobTypeConfig, "chunkSize" | "leaseMs">>,
): Promise<Redispatched[]> {
  const { queue, dispatcher, registry, log } = deps;
  const moved: Redispatched[] = [];
  for (const hostId of deadHosts) {
    for (const m of await dispatcher.undelivered(hostId)) {
      await queue.returnChunk(m.jobType, m.chunkId);
      const type = types.get(m.jobType);
      const to = type ? allocator.pick(live, m.jobType) : null;
      if (!type || !to) continue;
      const chunk = await queue.acquire(m.jobType, { max: type.chunkSize, leaseMs: type.leaseMs });
      if (chunk.size === 0) continue;
      try {
        await dispatcher.dispatch(to, { jobType: m.jobType, chunkId: chunk.id, size: chunk.size });
        allocator.commit(to);
        moved.push({ jobType: m.jobType, chunkId: chunk.id, hostId: to });
      } catch (err) {
        await queue.returnChunk(m.jobType, chunk.id);
        log.warn({ err, hostId: to }, "re-dispatch failed; the chunk is back in pending");
      }
    }
    await dispatcher.removeInbox(hostId);
    await registry.remove(hostId);
    log.warn({ hostId, redispatched: moved.length }, "host gone: its undelivered dispatches went to live hosts");
  }
  return moved;
}
