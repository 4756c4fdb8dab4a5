/**
 * What the cluster failover tests share: a deployment on a test cluster
 * (in-process manager and worker daemons, an inline job that records every
 * item it finishes in this process), job type names placed on the masters a
 * test wants, and the tally of an enqueued ledger against what ran:
 * lost (never done), duplicates (done more than once).
 */
import { randomBytes } from "node:crypto";
import {
  type Batch,
  type BatchjobConfig,
  BatchQueue,
  connectRedis,
  createLogger,
  deleteMatching,
  hashSlot,
  makeKeys,
  parseConfig,
  type RedisClient,
} from "@batchjob/core";
import { type ManagerDaemon, startManager, type TickReport } from "@batchjob/manager";
import { startWorker, type WorkerDaemon } from "@batchjob/worker";
import { closeClient, track } from "../harness/index.js";
import type { RedisCluster, RedisServer } from "../harness/redis-server.js";

export const log = () => createLogger("cluster-test", { level: process.env.TEST_LOG_LEVEL ?? "silent" });

/** A prefix of its own (the run's Redis cleanup does not reach the cluster: `stop()` deletes its keys there). */
export function clusterPrefix(): string {
  return `c${randomBytes(4).toString("hex")}`;
}

/** The master port serving each slot, now. */
async function slotMasters(cluster: RedisCluster): Promise<(slot: number) => number> {
  const ranges = await cluster.ranges();
  return (slot) => ranges.find((r) => r.from <= slot && slot <= r.to)?.master ?? -1;
}

/**
 * Job type names, one per entry of `want`, each on a master different from
 * the control plane's (`prefix`) unless `control` says so, and from each
 * other's when `apart` is set.
 */
export async function placeTypes(
  cluster: RedisCluster,
  prefix: string,
  count: number,
  o: { apart?: boolean } = {},
): Promise<{ names: string[]; masters: number[]; controlMaster: number }> {
  const masterOf = await slotMasters(cluster);
  const controlMaster = masterOf(hashSlot(makeKeys(prefix).control));
  const names: string[] = [];
  const masters: number[] = [];
  for (let i = 0; names.length < count && i < 10_000; i++) {
    const name = `t${i}`;
    const m = masterOf(hashSlot(makeKeys(prefix).type(name).pending));
    if (m === controlMaster || (o.apart && masters.includes(m))) continue;
    names.push(name);
    masters.push(m);
  }
  return { names, masters, controlMaster };
}

export interface Stack {
  prefix: string;
  config: BatchjobConfig;
  client: RedisClient;
  queue: BatchQueue;
  manager: ManagerDaemon;
  workers: WorkerDaemon[];
  /** Every tick report of the leader. */
  ticks: TickReport[];
  /** id -> times its job finished it, per type. */
  done: Map<string, Map<string, number>>;
  /** Items being worked now (chunks started, not finished), all types. */
  inFlight(): number;
  /** Enqueues `n` items to `type`, with ids `<type>-<from + i>`; returns the ids. */
  enqueue(type: string, from: number, n: number): Promise<string[]>;
  tally(type: string, ids: string[]): { lost: string[]; dupIds: number; dupExtra: number };
  stop(): Promise<void>;
}

export async function startStack(
  cluster: RedisCluster,
  o: {
    prefix: string;
    types: string[];
    hosts?: number;
    slots?: number;
    chunkSize?: number;
    /** Workers per type at every load level. @defaultValue 2 */
    parallel?: number;
    itemMs?: number;
    hostTtlMs?: number;
    leaseMs?: number;
  },
): Promise<Stack> {
  const done = new Map(o.types.map((t) => [t, new Map<string, number>()]));
  let busy = 0;
  const itemMs = o.itemMs ?? 2;
  const job = async (batch: Batch) => {
    busy += batch.size;
    try {
      await new Promise((r) => setTimeout(r, itemMs * batch.size));
      const seen = done.get(batch.jobType) as Map<string, number>;
      for (const item of batch.items) seen.set(item.id, (seen.get(item.id) ?? 0) + 1);
    } finally {
      busy -= batch.size;
    }
  };
  const config = parseConfig({
    prefix: o.prefix,
    jobTypes: o.types.map((name) => ({
      name,
      chunkSize: o.chunkSize ?? 20,
      cooldownSeconds: 0,
      parallel: { high: o.parallel ?? 2, medium: o.parallel ?? 2, low: o.parallel ?? 2 },
      leaseMs: o.leaseMs ?? 5000,
      maxAttempts: 20,
      backoff: { type: "fixed", delayMs: 0 },
      launcher: { kind: "inline", job },
    })),
    worker: { heartbeatMs: 200, hostTtlMs: o.hostTtlMs ?? 3000, slots: o.slots ?? 4, shutdownGraceMs: 5000 },
    manager: { tickMs: 200, leaderLeaseMs: 5000 },
  });
  const ticks: TickReport[] = [];
  const workers: WorkerDaemon[] = [];
  const client = connectRedis(cluster.url, { daemon: true });
  client.on("error", () => {});
  const queue = new BatchQueue({ redis: client, prefix: o.prefix, jobTypes: config.jobTypes, logger: log() });
  for (let i = 0; i < (o.hosts ?? 2); i++) {
    workers.push(await startWorker({ config, redisUrl: cluster.url, hostId: `${o.prefix}-h${i}`, logger: log() }));
  }
  const manager = await startManager({
    config,
    redisUrl: cluster.url,
    logger: log(),
    onTick: (r) => ticks.push(r),
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await manager.stop();
    await Promise.all(workers.map((w) => w.stop({ graceMs: 0 })));
    await deleteMatching(client, `${o.prefix}:*`).catch(() => undefined);
    await closeClient(client);
  };
  track(`cluster stack ${o.prefix}`, () => !stopped, stop);
  return {
    prefix: o.prefix,
    config,
    client,
    queue,
    manager,
    workers,
    ticks,
    done,
    inFlight: () => busy,
    async enqueue(type, from, n) {
      const ids = Array.from({ length: n }, (_, i) => `${type}-${from + i}`);
      for (let i = 0; i < n; i += 1000) {
        await queue.enqueue(
          type,
          ids.slice(i, i + 1000).map((id) => ({ id, payload: { id } })),
        );
      }
      return ids;
    },
    tally(type, ids) {
      const seen = done.get(type) ?? new Map<string, number>();
      const lost = ids.filter((id) => !seen.has(id));
      let dupIds = 0;
      let dupExtra = 0;
      for (const n of seen.values()) {
        if (n > 1) {
          dupIds++;
          dupExtra += n - 1;
        }
      }
      return { lost, dupIds, dupExtra };
    },
    stop,
  };
}

/** Makes sure `node`'s writes so far reached its replicas (WAIT), so a kill loses none of them. */
export async function replicated(node: RedisServer): Promise<void> {
  const { Redis } = await import("ioredis");
  const c = new Redis({ port: node.port, host: "127.0.0.1" });
  try {
    await c.call("WAIT", 1, 5000);
  } finally {
    c.disconnect();
  }
}
