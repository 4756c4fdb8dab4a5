/**
 * Every default of batchjob in one object. Each option is documented here
 * once; the schema and the README's configuration reference read from it.
 * Every duration (`...Ms`, `...Seconds`) is bounded by MAX_TIMER_MS, 2^31−1 ms
 * (durations.ts): a longer Node timer fires at once.
 */
export const defaults = {
  /** Key prefix of every Redis key. @defaultValue "bj" */
  prefix: "bj",
  redis: {
    /**
     * CLI and API connections (not the daemons'): longest wait for one
     * command, a reconnect included, before it fails with a
     * RedisUnavailableError. Daemons wait for Redis as long as it takes.
     * @defaultValue 5000
     */
    commandTimeoutMs: 5000,
    /** CLI and API connections: longest TCP (and TLS) connect. @defaultValue 3000 (daemons: 10000) */
    connectTimeoutMs: 3000,
    /** Longest wait for a sentinel's answer to "which node is the master". @defaultValue 2000 */
    sentinelTimeoutMs: 2000,
    /** Longest pause between two reconnect attempts (exponential from 50 ms). @defaultValue 1000 */
    maxReconnectDelayMs: 1000,
  },
  queue: {
    /** Largest payload accepted by enqueue, as JSON bytes. @defaultValue 524288 (512 KiB) */
    maxPayloadBytes: 512 * 1024,
    /** Items per Lua call when enqueueing (calls of one enqueue run in one MULTI). @defaultValue 5000 */
    enqueueBatch: 5000,
  },
  history: {
    /** Entries kept in the worker history, globally and per job type. @defaultValue 10000 */
    cap: 10_000,
  },
  jobType: {
    /** Most items in one chunk. @defaultValue 100 */
    chunkSize: 100,
    /** Workers of the type to run at each load level. @defaultValue {high: 1, medium: 2, low: 4} */
    parallel: { high: 1, medium: 2, low: 4 },
    /** No new worker of the type within this many seconds of the last start. @defaultValue 5 */
    cooldownSeconds: 5,
    /** No worker starts while fewer items are pending. @defaultValue 1 */
    minQueueEntries: 1,
    /** Lease of an acquired chunk; renewed while it runs, reclaimed when it expires. @defaultValue 30000 */
    leaseMs: 30_000,
    /**
     * A worker whose queue is empty waits this long for new items (blocked on
     * the type's wake list, no polling) before it leaves; an item enqueued
     * meanwhile starts at once, without a manager tick. 0: leave at once.
     * @defaultValue 2000
     */
    idleMs: 2000,
    /**
     * Chunks a worker holds ahead of the one it runs (0–16; `true` is 1,
     * `false` 0), so no Redis round trip sits between two chunks. `"auto"`:
     * none when `chunkSize` > 100, else about 10 items' worth, 1 to 4 chunks
     * (chunk 1–3: 4, 4: 3, 5–9: 2, 10–100: 1). A held chunk's lease is
     * extended; it is handed back uncharged when the worker stops or loses
     * a lease. @defaultValue "auto"
     */
    prefetch: "auto" as boolean | number | "auto",
    /**
     * How long the type's per-minute metrics (items done, retried, dead and
     * returned; chunks and their run time) are kept in Redis, in minutes; 0
     * records none. @defaultValue 1440 (24 h)
     */
    metricsWindowMinutes: 1440,
    /**
     * Queues the type is spread over, each under a hash tag of its own
     * (`{T}`, `{T#1}`, ...), so a Redis Cluster places them on different
     * masters: one busy type can use more than one master's CPU. Enqueue
     * spreads items round-robin (by `key` or caller id when given: one key,
     * one shard); workers take from their own shard first, from the others
     * when it is empty. 1–64. @defaultValue 1
     */
    shards: 1,
    /** Attempts an item gets before it is dead (only failures the item could have caused count). @defaultValue 5 */
    maxAttempts: 5,
    /**
     * Times an item alone in its chunk may be handed back by a host or daemon
     * that died (or lost its lease) before it is dead: it kills whatever runs
     * it. Returns never charge attempts. @defaultValue 5
     */
    maxReturns: 5,
    backoff: {
      /** @defaultValue "exponential" */
      type: "exponential" as "fixed" | "exponential",
      /** Delay before the first retry. @defaultValue 1000 */
      delayMs: 1000,
      /** Longest delay between retries. @defaultValue 300000 */
      maxDelayMs: 300_000,
    },
  },
  launcher: {
    /** Time one chunk may run before it is aborted and its items retried. @defaultValue 300000 */
    timeoutMs: 300_000,
    /** Fork: the child is restarted once its RSS passes this. @defaultValue 512 */
    memoryLimitMb: 512,
    /** Http: the largest response body read; a larger one fails the chunk. @defaultValue 10485760 (10 MiB) */
    maxResponseBytes: 10 * 1024 * 1024,
    /** Inline and fork: the module export holding the job. @defaultValue "default" */
    export: "default",
  },
  worker: {
    /** Most workers one daemon runs at once. @defaultValue 4 */
    slots: 4,
    /** Interval between heartbeats. @defaultValue 2000 */
    heartbeatMs: 2000,
    /**
     * A host is dead once this long passed without a heartbeat while the
     * manager could see Redis (time the manager itself could not reach Redis
     * does not count: docs/scaling.md). At least twice heartbeatMs. 20 s
     * outlasts a default Redis Cluster failover (`cluster-node-timeout` 15 s)
     * that only a host's own connection sat out. @defaultValue 20000
     */
    hostTtlMs: 20_000,
    /** SIGTERM: time running chunks get to finish before their items are released. @defaultValue 30000 */
    shutdownGraceMs: 30_000,
  },
  manager: {
    /** Interval between two runs of the manager loop. @defaultValue 1000 */
    tickMs: 1000,
    /** The leader's lease; another manager takes over within two of them. @defaultValue 5000 */
    leaderLeaseMs: 5000,
    /** `round-robin` or `least-load`. @defaultValue "least-load" */
    allocator: "least-load" as "round-robin" | "least-load",
    load: {
      /** Load (normalised load average or CPU share, 0..1+) at or above which the level is high. @defaultValue 0.8 */
      highAt: 0.8,
      /** Load below which the level is low. @defaultValue 0.4 */
      lowBelow: 0.4,
      /** Band around each threshold the load must cross before the level changes. @defaultValue 0.05 */
      hysteresis: 0.05,
    },
    alerts: {
      /** Longest wait for the webhook's answer to one notification. @defaultValue 5000 */
      timeoutMs: 5000,
      /** How often the leader checks every type's alert thresholds. @defaultValue 5000 */
      checkEveryMs: 5000,
    },
    http: {
      /**
       * `HOST:PORT` where the manager serves the dashboard, its API, /metrics
       * and the probes (`batchjob manager --http` overrides it); off loopback
       * it needs BATCHJOB_HTTP_TOKEN. @defaultValue undefined (no server)
       */
      listen: undefined as string | undefined,
    },
  },
  alerts: {
    /** `deadGrowth` counts the items that died within this many minutes. @defaultValue 5 */
    deadGrowthMinutes: 5,
  },
} as const;
