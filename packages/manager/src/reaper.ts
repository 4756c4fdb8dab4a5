/**
 * The reaper: (1) reclaims expired leases of every job type holding chunks
 * (their holder died or froze: no attempt is charged, see `reclaim`);
 * (2) for each host whose heartbeat expired (or that marked itself gone),
 * drops the reservations it never took (they held no item; the planner
 * starts them elsewhere) and forgets the host; (3) for each worker whose host
 * is gone, or was restarted under the same id, gives back the chunk it held
 * (at once, not at lease expiry, no attempt charged) and moves it from the
 * list to the history with exit reason `lost`. A host that comes back cannot
 * ack what was reclaimed: the queue fences it by chunk id.
 */
import {
  type HostRegistry,
  historyItemOf,
  type LiveHost,
  type Logger,
  type Supervisor,
  type WorkerHistoryStorage,
  type WorkerListItem,
  type WorkerListStorage,
} from "@batchjob/core";
import type { Dispatcher } from "./dispatcher.js";

export interface ReapDeps {
  queue: Supervisor;
  registry: HostRegistry;
  dispatcher: Dispatcher;
  list: WorkerListStorage;
  history: WorkerHistoryStorage;
  log: Logger;
}

export async function reclaimExpired(queue: Supervisor, types: string[], log: Logger): Promise<number> {
  let items = 0;
  await Promise.all(
    types.map(async (t) => {
      const r = await queue.reclaim(t);
      if (r.chunks > 0)
        log.warn({ jobType: t, chunks: r.chunks, returned: r.returned, dead: r.dead }, "reclaimed expired leases");
      items += r.returned + r.dead;
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
      await queue.reclaim(w.jobType, { chunkIds: [w.currentChunkId], reason: `host ${w.hostId} lost` });
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

/** Drops what dead hosts never took and forgets the hosts; returns the reservations dropped. */
export async function reapDeadHosts(deps: ReapDeps, deadHosts: string[]): Promise<number> {
  const { queue, dispatcher, registry, log } = deps;
  let dropped = 0;
  for (const hostId of deadHosts) {
    let host = 0;
    for (const m of await dispatcher.undelivered(hostId)) {
      if (await queue.dropReservation(m.jobType, m.reservationId)) host++;
    }
    await dispatcher.removeInbox(hostId);
    await registry.remove(hostId);
    dropped += host;
    log.warn({ hostId, undelivered: host }, "host gone: its undelivered dispatches were dropped");
  }
  return dropped;
}
