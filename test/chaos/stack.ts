/**
 * One scenario's system: its own queue redis-server (AOF, appendfsync
 * always) on a free port, or a deployment the scenario started (a Sentinel
 * set, a cluster: `queueRedis`), its key prefix, a config file in a temp folder,
 * the real daemons (`batchjob worker` / `batchjob manager` of the tree under
 * test) tracked in a ProcessGroup, a control connection for enqueueing and
 * inspecting, and its view of the sink. `close()` kills every process it
 * started and stops the Redis, whatever state they are in.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BatchQueue, Keys, RedisClient } from "@batchjob/core";
import { type RedisServer, startRedisServer } from "../harness/redis-server.js";
import { type CodeUnderTest, JOBS_DIR } from "./core.js";
import { type Proc, ProcessGroup } from "./procs.js";
import { type SinkServer, SinkView } from "./sink.js";
import { waitUntil } from "./util.js";

/** A queue Redis deployment a scenario started: the URL the daemons and the stack connect to, and its stop. */
export interface QueueRedis {
  url: string;
  stop(): Promise<void>;
}

export type RawJobType = Record<string, unknown> & { name: string };

export interface StackOptions {
  /** The scenario's name: key prefix, sink key and log folder derive from it. */
  name: string;
  code: CodeUnderTest;
  sink: SinkServer;
  jobTypes: RawJobType[];
  worker?: Record<string, unknown>;
  manager?: Record<string, unknown>;
  /** Extra redis-server arguments (another bind address). */
  redisArgs?: string[];
  /** The queue Redis when it is not one server of the stack's own (a Sentinel set, a cluster); stopped by `close`. */
  queueRedis?: QueueRedis;
  /** Folder for this run's logs and config files. */
  runDir: string;
  /** BATCHJOB_LOG_LEVEL of the daemons. */
  logLevel: string;
}

/** Worker and manager timings of every scenario: a dead host is noticed within about 3 s. */
export const TIMINGS = {
  worker: { heartbeatMs: 500, hostTtlMs: 3000, shutdownGraceMs: 2000 },
  manager: { tickMs: 250, leaderLeaseMs: 2000, allocator: "least-load" },
} as const;

/** A job type on the steady job (inline unless `launcher` says otherwise). */
export function steadyType(name: string, over: Record<string, unknown> = {}): RawJobType {
  return {
    name,
    chunkSize: 50,
    parallel: { high: 8, medium: 8, low: 8 },
    cooldownSeconds: 0,
    minQueueEntries: 1,
    leaseMs: 5000,
    maxAttempts: 1,
    backoff: { type: "fixed", delayMs: 200 },
    launcher: { kind: "inline", module: join(JOBS_DIR, "steady.mjs"), timeoutMs: 60_000 },
    ...over,
  };
}

/** The environment of a daemon: nothing batchjob-specific inherited, the sink named. */
function daemonEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const k of Object.keys(env)) if (k.startsWith("BATCHJOB_") || k === "REDIS_URL") delete env[k];
  return { ...env, ...extra };
}

export class Stack {
  readonly prefix: string;
  readonly keys: Keys;
  readonly sinkView: SinkView;
  readonly procs: ProcessGroup;
  readonly dir: string;
  private workerSeq = 0;
  private managerSeq = 0;

  /** The URL the daemons are given. */
  readonly url: string;

  private constructor(
    readonly opts: StackOptions,
    /** The stack's own queue redis-server; null on a deployment the scenario gave (`queueRedis`). */
    readonly redis: RedisServer | null,
    readonly client: RedisClient,
    readonly queue: BatchQueue,
    readonly configPath: string,
    dir: string,
    private readonly stopRedis: () => Promise<void>,
  ) {
    this.dir = dir;
    this.url = redis?.url ?? (opts.queueRedis as QueueRedis).url;
    this.prefix = `chaos-${opts.name}`;
    this.keys = opts.code.core.makeKeys(this.prefix);
    this.sinkView = new SinkView(opts.sink.client, `sink:${opts.name}`);
    this.procs = new ProcessGroup(
      dir,
      daemonEnv(process.env, {
        BATCHJOB_LOG_LEVEL: opts.logLevel,
        CHAOS_SINK_URL: opts.sink.socket,
        CHAOS_SINK_KEY: `sink:${opts.name}`,
      }),
    );
  }

  static async start(opts: StackOptions): Promise<Stack> {
    const { core } = opts.code;
    const dir = join(opts.runDir, opts.name);
    mkdirSync(dir, { recursive: true });
    const redis = opts.queueRedis
      ? null
      : await startRedisServer({
          args: ["--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no", ...(opts.redisArgs ?? [])],
        });
    const stopRedis = async () => {
      if (redis) {
        redis.process.kill("SIGCONT");
        await redis.stop();
        servers.delete(redis);
      } else await opts.queueRedis?.stop();
    };
    const raw = {
      prefix: `chaos-${opts.name}`,
      jobTypes: opts.jobTypes,
      worker: { ...TIMINGS.worker, ...opts.worker },
      manager: { ...TIMINGS.manager, ...opts.manager },
    };
    let config: ReturnType<CodeUnderTest["core"]["parseConfig"]>;
    try {
      config = core.parseConfig(raw, `${opts.name} chaos config`);
    } catch (err) {
      await stopRedis();
      throw err;
    }
    const configPath = join(dir, "batchjob.config.json");
    writeFileSync(configPath, JSON.stringify(raw, null, 2));
    const client = core.connectRedis(redis?.url ?? (opts.queueRedis as QueueRedis).url, {
      // on a deployment that fails over, the stack's own reads wait for the new master as the daemons do
      daemon: opts.queueRedis !== undefined,
    });
    client.on("error", () => {});
    const queue = new core.BatchQueue({ redis: client, prefix: raw.prefix, jobTypes: config.jobTypes });
    const stack = new Stack(opts, redis, client, queue, configPath, dir, stopRedis);
    if (redis) servers.add(redis);
    try {
      await stack.sinkView.clear();
    } catch (err) {
      await stack.close();
      throw err;
    }
    return stack;
  }

  /** Starts a worker daemon; in network namespace `netns` (reaching Redis at `redisUrl`) when given. */
  startWorker(options: { slots?: number; hostId?: string; netns?: string; redisUrl?: string } = {}): Proc {
    const hostId = options.hostId ?? `w${++this.workerSeq}`;
    const args = [this.opts.code.cli, "worker", "--config", this.configPath, "--host-id", hostId];
    args.push("--slots", String(options.slots ?? 2), "--redis", options.redisUrl ?? this.url);
    if (options.netns)
      return this.procs.spawn(hostId, "ip", ["netns", "exec", options.netns, process.execPath, ...args]);
    return this.procs.spawn(hostId, process.execPath, args);
  }

  startManager(id?: string): Proc {
    const managerId = id ?? `m${++this.managerSeq}`;
    const args = [this.opts.code.cli, "manager", "--config", this.configPath, "--id", managerId];
    return this.procs.spawn(managerId, process.execPath, [...args, "--redis", this.url]);
  }

  /** Waits until every host in `hostIds` has a heartbeat. */
  async waitForHosts(hostIds: string[], timeoutMs = 30_000): Promise<void> {
    await waitUntil(
      `heartbeats of ${hostIds.join(", ")}`,
      async () => {
        const scores = await Promise.all(hostIds.map((h) => this.client.zscore(this.keys.hostBeats, h)));
        return scores.every((s) => s !== null);
      },
      timeoutMs,
      100,
    );
  }

  async leader(): Promise<string | null> {
    return this.client.get(this.keys.leader);
  }

  /** The stack's own redis-server, for a scenario that injects faults into it. */
  server(): RedisServer {
    if (!this.redis) throw new Error(`${this.opts.name}: no redis-server of the stack's own (a queueRedis was given)`);
    return this.redis;
  }

  /** Kills every process, closes the connection, stops the Redis (resuming it first if it was stopped). */
  async close(): Promise<void> {
    await this.procs.dispose();
    this.client.disconnect();
    await this.stopRedis();
  }
}

const servers = new Set<RedisServer>();

/** SIGKILLs the queue redis-server of every open stack (for a signal handler). */
export function killServersNow(): void {
  for (const s of servers) {
    s.process.kill("SIGCONT");
    s.process.kill("SIGKILL");
  }
}
