/**
 * The reaper: (1) reclaims expired leases of every job type holding chunks;
 * (2) for each host whose heartbeat expired, re-allocates the dispatches it
 * never took to live hosts, gives back the chunks its workers held (at once,
 * not at lease expiry), moves its workers from the list to the history with
 * exit reason `lost`, and forgets the host. A host that comes back cannot
 * ack what was reclaimed: the queue fences it by chunk id.
 */
import type {
  BatchQueue,
  HostRegistry,
  Logger,
  WorkerHistoryStorage,
  WorkerListItem,
  WorkerListStorage,
} from "@batchjob/core";
import type { Allocator, HostSlot } from "./allocator.js";
import type { Dispatcher } from "./dispatcher.js";

export interface ReapDeps {
  queue: BatchQueue;
  registry: HostRegistry;
  dispatcher: Dispatcher;
  list: WorkerListStorage;
  history: WorkerHistoryStorage;
  allocator: Allocator;
  log: Logger;
}

export interface ReapReport {
  reclaimedItems: number;
  deadHosts: string[];
  redispatched: number;
  lostWorkers: number;
}

export async function reclaimExpired(queue: BatchQueue, typesWithChunks: string[], log: Logger): Promise<number> {
  let items = 0;
  await Promise.all(
    typesWithChunks.map(async (t) => {
      const r = await queue.reclaim(t);
      if (r.chunks > 0)
        log.warn({ jobType: t, chunks: r.chunks, retried: r.retried, dead: r.dead }, "reclaimed expired leases");
      items += r.retried + r.dead;
    }),
  );
  return items;
}

export async function reapDeadHosts(
  deps: ReapDeps,
  deadHosts: string[],
  liveHosts: readonly HostSlot[],
  workers: WorkerListItem[],
): Promise<Pick<ReapReport, "redispatched" | "lostWorkers">> {
  const { queue, dispatcher, list, history, allocator, registry, log } = deps;
  let redispatched = 0;
  let lostWorkers = 0;
  for (const hostId of deadHosts) {
    // dispatches it never took: to another host, else back to pending
    for (const m of await dispatcher.undelivered(hostId)) {
      const to = allocator.pick(liveHosts, m.jobType);
      if (to) {
        await dispatcher.dispatch(to, { jobType: m.jobType, chunkId: m.chunkId, size: m.size });
        allocator.commit(to);
        redispatched++;
      } else {
        await queue.returnChunk(m.jobType, m.chunkId);
      }
    }
    await dispatcher.removeInbox(hostId);
    // its workers: items back now, entry moved to the history as lost
    for (const w of workers.filter((x) => x.hostId === hostId)) {
      if (w.currentChunkId)
        await queue.reclaim(w.jobType, { owners: [w.currentChunkId], reason: `host ${hostId} lost` });
      if (await list.remove(w.id)) {
        const { updatedAt, currentChunkId: _c, ...rest } = w;
        await history.add({
          ...rest,
          finishedAt: new Date().toISOString(),
          durationMs: Math.max(0, Date.parse(updatedAt) - Date.parse(w.createdAt)),
          exitReason: "lost",
          peakMemoryBytes: null,
          error: `host ${hostId} stopped sending heartbeats`,
        });
        lostWorkers++;
      }
    }
    await registry.remove(hostId);
    log.warn({ hostId, lostWorkers, redispatched }, "host lost: its work was handed back");
  }
  return { redispatched, lostWorkers };
}
