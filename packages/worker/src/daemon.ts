/**
 * The worker daemon's lifecycle (what teams deploy on every server):
 *   1. connect to Redis; build the queue with each job type's settings,
 *   2. start the pool, the heartbeat (first beat awaited) and the inbox,
 *   3. on SIGHUP (or reload()): read the config file again, validated; a bad
 *      one is refused and logged, a good one is used by the workers started
 *      from then on,
 *   4. run until stop(), SIGTERM/SIGINT or a drain request (`batchjob
 *      drain`, read with the heartbeat): say "draining" in a heartbeat (the
 *      manager sends no more), let the running chunks finish within the grace
 *      period (a drain: however long they take; a second signal aborts them
 *      at once; dispatches arriving meanwhile are handed back), stop the
 *      heartbeat, close the inbox (returning what waits in it), mark the
 *      host gone (and forget its drain request), close.
 * Shutdown runs the release functions collected during start in reverse (Lifecycle).
 */
import { hostname } from "node:os";
import {
  type BatchjobConfig,
  type BatchQueue,
  createLogger,
  DrainRequests,
  daemonSecretValues,
  HostRegistry,
  InvalidConfigError,
  type Keys,
  type Lifecycle,
  type Logger,
  openDaemon,
  type RedisClient,
  RedisWorkerHistory,
  RedisWorkerList,
  type ReloadOutcome,
  runReload,
  sanitizeHostId,
} from "@batchjob/core";
import { ControlWatch } from "./control-watch.js";
import { Heartbeat } from "./heartbeat.js";
import { Inbox } from "./inbox.js";
import { LoadProbe } from "./load.js";
import { WorkerPool } from "./pool.js";

export interface WorkerOptions {
  /** The parsed configuration (job types, worker defaults). */
  config: BatchjobConfig;
  /** Where module paths of the config resolve from. @defaultValue process.cwd() */
  baseDir?: string;
  /** @defaultValue config.redis.url, else REDIS_URL, else redis://127.0.0.1:6379 */
  redisUrl?: string;
  /** @defaultValue `<hostname>-<pid>` */
  hostId?: string;
  /** @defaultValue config.worker.slots */
  slots?: number;
  /** Types to serve. @defaultValue config.worker.jobTypes, else all */
  jobTypes?: string[];
  /** A file holding a number that overrides the reported load (drills, tests). */
  loadFile?: string;
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
}

export interface WorkerDaemon {
  hostId: string;
  pool: WorkerPool;
  /**
   * Reloads the config through `loadConfig` (as SIGHUP does): a file that
   * fails validation, or no longer has a type this host serves, is refused
   * and logged; else workers started from now on use it, but for the
   * options fixed on reload (FIXED_ON_RELOAD.worker), which are kept and logged.
   */
  reload(): Promise<ReloadOutcome>;
  /** Resolves when the daemon has stopped. */
  closed: Promise<void>;
  /** Graceful stop; `graceMs` defaults to config.worker.shutdownGraceMs. */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** True once stopping has begun (a signal or stop()). */
  isStopping(): boolean;
  /** Adds a release function that runs last on stop (an HTTP server answering probes while the daemon stops). */
  addRelease(name: string, release: () => unknown): void;
}

/** The pool of workers and the heartbeat that reports them (a change in the pool beats at once). */
function poolAndHeartbeat(
  options: WorkerOptions,
  p: {
    hostId: string;
    slots: number;
    served: string[] | null;
    client: RedisClient;
    keys: Keys;
    queue: BatchQueue;
    registry: HostRegistry;
    log: Logger;
  },
): { pool: WorkerPool; heartbeat: Heartbeat } {
  const { config } = options;
  let heartbeat: Heartbeat | undefined;
  const pool = new WorkerPool({
    queue: p.queue,
    list: new RedisWorkerList(p.client, p.keys),
    history: new RedisWorkerHistory(p.client, p.keys, { cap: config.history.cap }),
    config,
    baseDir: options.baseDir ?? process.cwd(),
    host: { id: p.hostId, hostname: hostname() },
    slots: p.slots,
    jobTypes: p.served,
    log: p.log,
    onChange: () => void heartbeat?.beat(),
  });
  heartbeat = new Heartbeat(
    p.registry,
    new LoadProbe(options.loadFile),
    {
      hostId: p.hostId,
      hostname: hostname(),
      slots: p.slots,
      jobTypes: p.served,
      startedAt: new Date().toISOString(),
      running: () => pool.runningByType(),
      workerIds: () => pool.workerIds(),
      draining: () => pool.isDraining,
      lingering: () => pool.lingering(),
    },
    config.worker.heartbeatMs,
    p.log,
  );
  return { pool, heartbeat };
}

/**
 * 3. Stopping: announce draining (the manager sends no more), then let the
 * running chunks finish within the grace period; the inbox stays open while
 * the workers drain, so dispatches arriving meanwhile are handed back.
 */
function drainOnStop(
  life: Lifecycle,
  pool: WorkerPool,
  heartbeat: Heartbeat,
  o: { hostId: string; graceMs: number; log: Logger },
): WorkerDaemon["stop"] {
  let graceMs = o.graceMs;
  // bounded by its grace (none for a drain request)
  life.add("workers", () => pool.drain(graceMs), { unbounded: true });
  life.add("announce draining", async () => {
    pool.startDraining();
    await heartbeat.beat();
  });
  return (opts = {}) => {
    if (!life.isStopping) {
      graceMs = opts.graceMs ?? graceMs;
      // a drain waits for the running chunks however long they take: no grace limit
      o.log.info({ hostId: o.hostId, graceMs: Number.isFinite(graceMs) ? graceMs : "none" }, "worker daemon stopping");
      void life.closed.then(() => o.log.info({ hostId: o.hostId }, "worker daemon stopped"));
    }
    return life.stop();
  };
}

/** Refuses a reloaded config that lacks a type this host serves (as a start would). */
function checkServed(config: BatchjobConfig, served: string[] | null, source: string): BatchjobConfig {
  const missing = (served ?? []).filter((t) => !config.jobTypes.some((c) => c.name === t));
  if (missing.length > 0)
    throw new InvalidConfigError(
      source,
      missing.map((t) => ({
        path: "jobTypes",
        message: `job type ${t} is served by this worker but not in the config`,
      })),
    );
  return config;
}

/**
 * 3. Reload: the file again through `loadConfig`, checked against the
 * served types; the queue's retry policies and the pool's types and
 * launchers follow it. Returns the reload function.
 */
function reloader(
  options: WorkerOptions,
  o: { served: string[] | null; queue: BatchQueue; pool: WorkerPool; secrets: string[]; log: Logger },
): () => Promise<ReloadOutcome> {
  let config = options.config;
  return async () => {
    const load = options.loadConfig;
    if (!load) return { applied: false, problems: ["no config file to reload from"] };
    return runReload({
      role: "worker",
      current: config,
      load: async () => checkServed(await load(), o.served, "reloaded config"),
      log: o.log,
      apply: (next) => {
        for (const v of daemonSecretValues(next, options.redisUrl)) if (!o.secrets.includes(v)) o.secrets.push(v);
        o.secrets.sort((a, b) => b.length - a.length);
        config = next;
        for (const t of next.jobTypes) o.queue.configure(t.name, t);
        o.pool.reload(next);
      },
    });
  };
}

export async function startWorker(options: WorkerOptions): Promise<WorkerDaemon> {
  const config = options.config;
  // the secret values the log hides; a reload adds those of the new file
  const secrets = daemonSecretValues(config, options.redisUrl);
  const log = options.logger ?? createLogger("batchjob-worker", { secrets });
  const w = config.worker;
  const hostId = sanitizeHostId(options.hostId ?? `${hostname()}-${process.pid}`);
  const slots = options.slots ?? w.slots;
  const served = options.jobTypes ?? w.jobTypes ?? null;
  for (const t of served ?? []) {
    if (!config.jobTypes.some((c) => c.name === t)) throw new Error(`worker: job type ${t} is not in the config`);
  }
  // 1. Redis and the queue
  const { life, client, keys, queue } = openDaemon(config, {
    role: "worker",
    id: hostId,
    redisUrl: options.redisUrl,
    log,
  });
  // the lingering workers' blocking connections (#12): closed once the workers are done
  life.add("wake connections", () => queue.close());
  let started: WorkerPool | undefined;
  // what Node or a library would print raw (a stray rejection, a warning, console) goes to the log as JSON;
  // after an uncaught exception the running chunks are given back at once
  if (options.handleSignals)
    life.handleProcessFaults(() => {
      started?.abortAll("uncaught exception");
      return life.stop();
    });

  try {
    // 2. pool, heartbeat, inbox
    const registry = new HostRegistry(client, keys);
    const { pool, heartbeat } = poolAndHeartbeat(options, {
      hostId,
      slots,
      served,
      client,
      keys,
      queue,
      registry,
      log,
    });
    started = pool;
    // a drain request still standing was for an earlier daemon of this host id (it exited before it saw it)
    const drains = new DrainRequests(client, keys);
    await drains.clear([hostId]);
    await heartbeat.start();
    // gone, not forgotten: the manager's reaper then sweeps any dispatch that raced the shutdown
    life.add("deregister", () => registry.markGone(hostId));
    life.add("forget drain request", () => drains.clear([hostId]));
    const inbox = new Inbox(client, keys, hostId, pool, queue, log);
    life.add("inbox", () => inbox.close());
    life.add("heartbeat", () => heartbeat.stop());
    await inbox.open();
    const stop = drainOnStop(life, pool, heartbeat, { hostId, graceMs: w.shutdownGraceMs, log });
    // 4. a drain request: stop taking work, let the workers finish their chunks however long they take, exit;
    // a paused type: its workers stop after their chunk
    const watch = new ControlWatch(client, keys, drains, {
      hostId,
      intervalMs: w.heartbeatMs,
      onDrain: () => {
        log.info({ hostId }, "drain requested: finishing the running chunks, then exiting");
        void stop({ graceMs: Number.POSITIVE_INFINITY });
      },
      onPaused: (types) => pool.pause(types),
      log,
    });
    life.add("control watch", () => watch.close());
    watch.start();
    // the paused types now, not a heartbeat later: a paused type's dispatch is refused from the start
    await watch.check();
    const reload = reloader(options, { served, queue, pool, secrets, log });
    log.info({ hostId, slots, jobTypes: served ?? "all", inbox: inbox.queueName }, "worker daemon started");
    if (options.handleSignals) {
      life.handleSignals(
        () => void stop(),
        (sig) => {
          log.warn({ sig }, "second signal: aborting running chunks now");
          pool.abortAll(`shutdown: second ${sig}`);
        },
      );
      life.handleReload(reload);
    }
    return {
      hostId,
      pool,
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
