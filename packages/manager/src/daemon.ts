/**
 * The manager daemon's lifecycle:
 *   1. connect; build the queue, registry (judging hosts only on time this
 *      manager could see Redis: reachability.ts), storages, dispatcher, allocator, refiller,
 *   2. every tickMs: refresh the leader lease; the leader runs a tick, the others wait,
 *   3. on SIGHUP (or reload()): read the config file again, validated; a bad
 *      one is refused and logged, a good one takes effect at the next tick,
 *   4. on stop() or SIGTERM/SIGINT: finish the tick in progress, wait for refills,
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
  type ReloadOutcome,
  runReload,
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
  /**
   * Reads and validates the config file again (the CLI's loader, as
   * `config check`): on SIGHUP with `handleSignals`, and on `reload()`.
   * Without it a reload keeps the running config.
   */
  loadConfig?: () => Promise<BatchjobConfig>;
  /** Called after each tick this manager ran as leader (tests, benchmarks). */
  onTick?: (report: TickReport) => void;
}

export interface ManagerDaemon {
  managerId: string;
  isLeader(): boolean;
  /** Runs one tick now if leader (tests, benchmarks); resolves with its report, or null when not leader. */
  tickNow(): Promise<TickReport | null>;
  /**
   * Reloads the config through `loadConfig` (as SIGHUP does): a file that
   * fails validation is refused and logged, the running config kept; else
   * it takes effect at the next tick, but for the options fixed on reload
   * (FIXED_ON_RELOAD.manager), which are kept and logged.
   */
  reload(): Promise<ReloadOutcome>;
  closed: Promise<void>;
  stop(): Promise<void>;
  /** True once stopping has begun (a signal or stop()). */
  isStopping(): boolean;
  /** Adds a release function that runs last on stop (an HTTP server answering probes while the daemon stops). */
  addRelease(name: string, release: () => unknown): void;
}

export async function startManager(options: ManagerOptions): Promise<ManagerDaemon> {
  let config = options.config;
  // the secret values the log hides; a reload adds those of the new file
  const secrets = daemonSecretValues(config, options.redisUrl);
  const log = options.logger ?? createLogger("batchjob-manager", { secrets });
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
    // it knows the types' settings too: a type spread over shards is read shard by shard
    const reader = new BatchQueue({
      redis: connect("manager-reader", { autoPipelining: true }),
      prefix: config.prefix,
      jobTypes: config.jobTypes,
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
    // a refill is the user's code and may take long: waited for (its lease is released only after it)
    life.add("refills", () => refiller.idle(), { unbounded: true });

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
    // reload: the file again, validated; applied at the next tick
    const reload = async (): Promise<ReloadOutcome> => {
      const load = options.loadConfig;
      if (!load) return { applied: false, problems: ["no config file to reload from"] };
      return runReload({
        role: "manager",
        current: config,
        load,
        log,
        apply: (next) => {
          for (const v of daemonSecretValues(next, options.redisUrl)) if (!secrets.includes(v)) secrets.push(v);
          secrets.sort((a, b) => b.length - a.length);
          const allocatorChanged = next.manager.allocator !== config.manager.allocator;
          config = next;
          for (const t of next.jobTypes) {
            queue.configure(t.name, t);
            reader.configure(t.name, t);
          }
          manager.reload(
            next,
            allocatorChanged && !options.allocator ? createAllocator(next.manager.allocator) : undefined,
          );
        },
      });
    };
    if (options.handleSignals) {
      life.handleSignals(() => void stop());
      life.handleReload(reload);
    }
    return {
      managerId,
      isLeader: () => lease.isLeader,
      tickNow,
      reload,
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
