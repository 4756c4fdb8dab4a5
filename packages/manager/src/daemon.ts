/**
 * The manager daemon's lifecycle:
 *   1. connect; build the queue, registry, storages, dispatcher, allocator, refiller,
 *   2. every tickMs: refresh the leader lease; the leader runs a tick, the others wait,
 *   3. on stop() or SIGTERM/SIGINT: finish the tick in progress, wait for refills,
 *      give the lease up (another manager takes over at once), close.
 * Shutdown runs the release functions collected during start in reverse (Lifecycle).
 */
import { hostname } from "node:os";
import {
  type BatchjobConfig,
  BatchQueue,
  connectRedis,
  createLogger,
  DEFAULT_REDIS_URL,
  HostRegistry,
  Lifecycle,
  type Logger,
  makeKeys,
  newChunkId,
  type RedisClient,
  RedisWorkerHistory,
  RedisWorkerList,
} from "@batchjob/core";
import { type Allocator, createAllocator } from "./allocator.js";
import { Dispatcher } from "./dispatcher.js";
import { LeaderLease } from "./leader.js";
import { Manager, type TickReport } from "./manager.js";
import { Refiller } from "./refiller.js";

export interface ManagerOptions {
  config: BatchjobConfig;
  /** Where enqueuer module paths resolve from. @defaultValue process.cwd() */
  baseDir?: string;
  /** @defaultValue config.redis.url, else REDIS_URL, else redis://127.0.0.1:6379 */
  redisUrl?: string;
  /** @defaultValue `<hostname>-<pid>-<random>` */
  managerId?: string;
  /** A custom allocator (code only); else config.manager.allocator. */
  allocator?: Allocator;
  logger?: Logger;
  /** Install SIGTERM/SIGINT handlers (the CLI does). @defaultValue false */
  handleSignals?: boolean;
  /** Called after each tick this manager ran as leader (tests, benchmarks). */
  onTick?: (report: TickReport) => void;
}

export interface ManagerDaemon {
  managerId: string;
  isLeader(): boolean;
  /** Runs one tick now if leader (tests, benchmarks); resolves with its report, or null when not leader. */
  tickNow(): Promise<TickReport | null>;
  closed: Promise<void>;
  stop(): Promise<void>;
}

export async function startManager(options: ManagerOptions): Promise<ManagerDaemon> {
  const config = options.config;
  const log = options.logger ?? createLogger("batchjob-manager");
  const managerId = options.managerId ?? `${hostname()}-${process.pid}-${newChunkId().slice(-6)}`;
  const url = options.redisUrl ?? config.redis.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const life = new Lifecycle(log);

  try {
    // 1. connect and build the parts
    const client: RedisClient = connectRedis(url, { daemon: true, connectionName: `batchjob-manager:${managerId}` });
    client.on("error", (err) => log.warn({ err: err.message }, "redis connection error"));
    life.add("redis", () => client.quit());
    const keys = makeKeys(config.prefix);
    const queue = new BatchQueue({
      redis: client,
      prefix: config.prefix,
      maxPayloadBytes: config.queue.maxPayloadBytes,
      jobTypes: config.jobTypes,
    });
    // the many small reads of a tick go through an auto-pipelining connection
    const readerClient: RedisClient = connectRedis(url, {
      daemon: true,
      autoPipelining: true,
      connectionName: `batchjob-manager-reader:${managerId}`,
    });
    readerClient.on("error", (err) => log.warn({ err: err.message }, "redis connection error"));
    life.add("redis reader", () => readerClient.quit());
    const reader = new BatchQueue({ redis: readerClient, prefix: config.prefix });
    const dispatcher = new Dispatcher(client, keys, managerId);
    life.add("dispatcher", () => dispatcher.close());
    const refiller = new Refiller(queue, options.baseDir ?? process.cwd(), log);
    const manager = new Manager({
      client,
      reader,
      keys,
      queue,
      registry: new HostRegistry(client, keys),
      list: new RedisWorkerList(client, keys),
      history: new RedisWorkerHistory(client, keys, { cap: config.history.cap }),
      dispatcher,
      allocator: options.allocator ?? createAllocator(config.manager.allocator),
      refiller,
      config,
      log,
    });
    const lease = new LeaderLease(client, keys, managerId, config.manager.leaderLeaseMs);

    // 2. two loops: the leader lease, refreshed every third of its length on its own timer (a
    // slow tick cannot let it lapse), and the tick, every tickMs, run by the leader only
    let stopped = false;
    let refreshing: Promise<boolean> | undefined;
    const refreshLease = async (): Promise<boolean> => {
      refreshing ??= (async () => {
        const was = lease.isLeader;
        try {
          const now = await lease.refresh();
          if (now !== was) {
            log.info({ managerId, leader: now }, now ? "became leader" : "lost leadership");
            if (now) manager.resetLeadership();
          }
          return now;
        } catch (err) {
          log.warn({ err }, "leader lease refresh failed");
          return lease.isLeader;
        } finally {
          refreshing = undefined;
        }
      })();
      return refreshing;
    };
    let ticking: Promise<TickReport | null> | undefined;
    const tick = async (): Promise<TickReport | null> => {
      if (stopped || !(await refreshLease())) return null;
      const report = await manager.tick(() => lease.isLeader);
      if (report.failed.length > 0) log.warn({ failed: report.failed }, "tick had failed steps");
      options.onTick?.(report);
      return report;
    };
    // one tick at a time: a tick still running (Redis slow or down) is not queued behind
    const tickNow = (): Promise<TickReport | null> => {
      ticking ??= tick().finally(() => {
        ticking = undefined;
      });
      return ticking;
    };
    const leaseTimer = setInterval(() => void refreshLease(), Math.floor(config.manager.leaderLeaseMs / 3));
    const tickTimer = setInterval(() => void tickNow(), config.manager.tickMs);
    life.add("lease", () => lease.release());
    life.add("refills", () => refiller.idle());
    life.add("loops", async () => {
      stopped = true;
      clearInterval(tickTimer);
      clearInterval(leaseTimer);
      await ticking?.catch(() => undefined);
      await refreshing?.catch(() => undefined);
    });
    await tickNow();
    log.info({ managerId, leader: lease.isLeader, tickMs: config.manager.tickMs }, "manager started");

    // 3. stop
    const stop = () => {
      if (!life.isStopping) void life.closed.then(() => log.info({ managerId }, "manager stopped"));
      return life.stop();
    };
    if (options.handleSignals) life.handleSignals(() => void stop());
    return { managerId, isLeader: () => lease.isLeader, tickNow, closed: life.closed, stop };
  } catch (err) {
    await life.stop();
    throw err;
  }
}
