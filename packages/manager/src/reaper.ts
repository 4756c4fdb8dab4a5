/**
 * The reaper: (1) reclaims expired leases of every job type holding chunks
 * (their holder died or froze: no attempt is charged, see `reclaim`);
 * (2) for each host whose heartbeat expired (or that marked itself gone),
 * drops the reservations it never took (they held no item; the planner
 * starts them elsewhere) and forgets the host; (3) for each worker whose host
 * is gone, or was restarted under the same id, gives back the chunk it held
 * (at once, not at lease expiry, no attempt charged) and moves it from the
 * list to the history with exit reason `lost`, and so does each ghost: an
 * entry its live host no longer runs (missing from a beat taken after the
 * entry was written), so the manager never counts it as running. A host that
 * comes back cannot ack what was reclaimed: the queue fences it by chunk id.
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

/** A lost worker's list entry and why it is taken for lost (kept in its history entry). */
export type LostWorker = WorkerListItem & { lostBecause: string };

/**
 * Why the worker of entry `w` is lost, or undefined while it may be running:
 *   - its host is dead (gone, or silent for a whole TTL the manager could see);
 *   - its host is unknown and the entry older than a host TTL (a leftover);
 *   - its host is alive but restarted since (another pid, the entry older than the process);
 *   - a ghost: its host, in a beat taken after the entry was last written
 *     (both times on the host's clock), does not name it among the workers
 *     it runs, those still leaving the list included.
 */
function whyLost(
  w: WorkerListItem,
  host: LiveHost | undefined,
  dead: ReadonlySet<string>,
  ttlMs: number,
  nowMs: number,
): string | undefined {
  if (dead.has(w.hostId)) return `host ${w.hostId} (pid ${w.pid}) stopped sending heartbeats`;
  if (!host) return nowMs - Date.parse(w.updatedAt) > ttlMs ? `host ${w.hostId} is not registered` : undefined;
  if (host.pid !== w.pid) {
    return Date.parse(w.createdAt) < Date.parse(host.startedAt)
      ? `host ${w.hostId} restarted (pid ${w.pid} -> ${host.pid})`
      : undefined;
  }
  const ghost =
    host.workers !== undefined &&
    host.sampledAt !== undefined &&
    !host.workers.includes(w.id) &&
    Date.parse(w.updatedAt) < Date.parse(host.sampledAt);
  return ghost ? `host ${w.hostId} (pid ${w.pid}) no longer runs it (missing from its heartbeat)` : undefined;
}

/** The listed workers that are lost (see `whyLost`), each with why. */
export function lostWorkers(
  workers: WorkerListItem[],
  alive: readonly LiveHost[],
  dead: ReadonlySet<string>,
  ttlMs: number,
  nowMs: number,
): LostWorker[] {
  const byId = new Map(alive.map((h) => [h.id, h]));
  const out: LostWorker[] = [];
  for (const w of workers) {
    const why = whyLost(w, byId.get(w.hostId), dead, ttlMs, nowMs);
    if (why !== undefined) out.push({ ...w, lostBecause: why });
  }
  return out;
}

/** Hands back each lost worker's chunk and moves it to the history; returns how many were moved. */
export async function reapWorkers(
  deps: ReapDeps,
  workers: readonly (WorkerListItem & { lostBecause?: string })[],
): Promise<number> {
  const { queue, list, history, log } = deps;
  let moved = 0;
  for (const { lostBecause, ...w } of workers) {
    if (w.currentChunkId)
      await queue.reclaim(w.jobType, { chunkIds: [w.currentChunkId], reason: `host ${w.hostId} lost` });
    // only the one who removes the entry writes the history
    if (await list.remove(w.id)) {
      await history.add(
        historyItemOf(w, {
          exitReason: "lost",
          durationMs: Math.max(0, Date.parse(w.updatedAt) - Date.parse(w.createdAt)),
          peakMemoryBytes: null,
          error: lostBecause ?? `host ${w.hostId} (pid ${w.pid}) stopped sending heartbeats`,
        }),
      );
      moved++;
    }
  }
  if (moved > 0) log.warn({ workers: moved }, "lost workers moved to the history: their chunks were handed back");
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
