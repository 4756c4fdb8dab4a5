/**
 * The manager daemon's lifecycle:
 *   1. connect; build the queue, registry (judging hosts only on time this
 *      manager could see Redis: reachability.ts), storages, dispatcher, allocator, refiller,
 *   2. every tickMs: refresh the leader lease; the leader runs a tick, the others wait,
 *   3. on stop() or SIGTERM/SIGINT: finish the tick in progress, wait for refills,
 *      give the lease up (another manager takes over at once), close.
 * Shutdown runs the release functions collected during start in reverse (Lifecycle).
 */
import { hostname } from "node:os";
import {
  type BatchjobConfig,
  BatchQueue,
  createLogger,
  daemonSecretValues,
  HostRegistry,
  type Logger,
  newId,
  openDaemon,
  RedisWorkerHistory,
  RedisWorkerList,
} from "@batchjob/core";
import { type Allocator, createAllocator } from "./allocator.js";
import { Dispatcher } from "./dispatcher.js";
import { LeaderLease } from "./leader.js";
import { startLeaderLoop } from "./leader-loop.js";
import { Manager, type TickReport } from "./manager.js";
import { gapFor, Reachability } from "./reachability.js";
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
  /**
   * The daemon owns its process (the CLI's): install SIGTERM/SIGINT handlers,
   * and log console output, unhandled rejections, uncaught exceptions and
   * process warnings as JSON (Lifecycle.handleProcessFaults). @defaultValue false
   */
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
  /** True once stopping has begun (a signal or stop()). */
  isStopping(): boolean;
  /** Adds a release function that runs last on stop (an HTTP server answering probes while the daemon stops). */
  addRelease(name: string, release: () => unknown): void;
}

export async function startManager(options: ManagerOptions): Promise<ManagerDaemon> {
  const config = options.config;
  const log =
    options.logger ?? createLogger("batchjob-manager", { secrets: daemonSecretValues(config, options.redisUrl) });
  const managerId = options.managerId ?? `${hostname()}-${process.pid}-${newId().slice(-6)}`;
  // 1. connect and build the parts
  const { life, client, keys, queue, connect } = openDaemon(config, {
    role: "manager",
    id: managerId,
    redisUrl: options.redisUrl,
    log,
  });
  // what Node or a library would print raw (a stray rejection, a warning, console) goes to the log as JSON
  if (options.handleSignals) life.handleProcessFaults();

  try {
    // the many small reads of a tick go through an auto-pipelining connection
    const reader = new BatchQueue({
      redis: connect("manager-reader", { autoPipelining: true }),
      prefix: config.prefix,
    });
    const dispatcher = new Dispatcher(client, keys, managerId, log);
    life.add("dispatcher", () => dispatcher.close());
    const refiller = new Refiller(queue, options.baseDir ?? process.cwd(), log);
    const reachability = new Reachability(
      gapFor({ hostTtlMs: config.worker.hostTtlMs, tickMs: config.manager.tickMs }),
    );
    const manager = new Manager({
      client,
      reader,
      keys,
      queue,
      // hosts are judged on the time this manager could see Redis, never on its own outage
      registry: new HostRegistry(client, keys, { reachableSince: (now) => reachability.seen(now) }),
      list: new RedisWorkerList(client, keys),
      history: new RedisWorkerHistory(client, keys, { cap: config.history.cap }),
      dispatcher,
      allocator: options.allocator ?? createAllocator(config.manager.allocator),
      refiller,
      config,
      log,
    });
    const lease = new LeaderLease(client, keys, managerId, config.manager.leaderLeaseMs);
    life.add("lease", () => lease.release());
    life.add("refills", () => refiller.idle());

    // 2. the leader lease and the tick, on their own timers
    const { tickNow } = startLeaderLoop({
      lease,
      manager,
      managerId,
      tickMs: config.manager.tickMs,
      leaseMs: config.manager.leaderLeaseMs,
      life,
      log,
      onTick: options.onTick,
    });
    await tickNow();
    log.info({ managerId, leader: lease.isLeader, tickMs: config.manager.tickMs }, "manager started");

    // 3. stop
    const stop = () => {
      if (!life.isStopping) void life.closed.then(() => log.info({ managerId }, "manager stopped"));
      return life.stop();
    };
    if (options.handleSignals) life.handleSignals(() => void stop());
    return {
      managerId,
      isLeader: () => lease.isLeader,
      tickNow,
      closed: life.closed,
      stop,
      isStopping: () => life.isStopping,
      addRelease: (name, release) => life.addFinal(name, release),
    };
  } catch (err) {
    await life.stop();
    throw err;
  }
}
