/**
 * For failover tests: a Redis of the test's own that it may freeze (SIGSTOP),
 * kill and restart, or make refuse every command for a while (a replica whose
 * master link is down), and a stack of daemons on it, stopped in order:
 *   1. `ownRedis()`: the server, its control connection, and the faults;
 *   2. `stackOn(redis, change)`: the e2e config on it (file for CLI daemons,
 *      parsed for in-process ones), CLI and in-process workers, and the
 *      in-process manager with its tick reports;
 *   3. `close()`: Redis thawed and serving, then the daemons stopped, then
 *      Redis (a test that fails midway still stops them in this order).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BatchjobConfig,
  BatchQueue,
  connectRedis,
  HostRegistry,
  makeKeys,
  parseConfig,
  RedisWorkerHistory,
  RedisWorkerList,
} from "@batchjob/core";
import type { TickReport } from "@batchjob/manager";
import type { WorkerOptions } from "@batchjob/worker";
import { rawE2eConfig, testManager, testWorker, writeConfigFile } from "./daemons.js";
import { closeClient, freePort, type RedisServer, startRedisServer, track } from "./index.js";
import { type CliProcess, spawnCli } from "./processes.js";

export interface OwnRedis {
  server: RedisServer;
  url: string;
  /** SIGSTOP: clients see a silent server (commands wait in its socket). */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
  /** Every data command is refused (MASTERDOWN) until `serve()`: a replica whose master link is down. */
  refuse(): Promise<void>;
  serve(): Promise<void>;
  stop(): Promise<void>;
}

function running(server: RedisServer): boolean {
  return server.process.exitCode === null && server.process.signalCode === null;
}

export async function ownRedis(): Promise<OwnRedis> {
  const server = await startRedisServer();
  // admin commands (CONFIG, REPLICAOF) still run on a replica cut from its master
  const admin = async (...commands: [string, ...(string | number)[]][]) => {
    const c = connectRedis(server.url);
    try {
      for (const [cmd, ...args] of commands) await c.call(cmd, ...args);
    } finally {
      await closeClient(c);
    }
  };
  const own: OwnRedis = {
    server,
    url: server.url,
    freeze: () => server.process.kill("SIGSTOP"),
    thaw: () => server.process.kill("SIGCONT"),
    async refuse() {
      const nobody = await freePort();
      await admin(
        ["CONFIG", "SET", "replica-serve-stale-data", "no"],
        // writes too get MASTERDOWN (not READONLY, which a daemon connection follows as a failover)
        ["CONFIG", "SET", "replica-read-only", "no"],
        ["REPLICAOF", "127.0.0.1", nobody],
      );
    },
    async serve() {
      await admin(
        ["REPLICAOF", "NO", "ONE"],
        ["CONFIG", "SET", "replica-serve-stale-data", "yes"],
        ["CONFIG", "SET", "replica-read-only", "yes"],
      );
    },
    async stop() {
      if (!running(server)) return;
      server.process.kill("SIGCONT");
      await server.stop();
    },
  };
  track(
    `redis-server on port ${server.port}`,
    () => running(server),
    () => own.stop(),
  );
  return own;
}

export interface Stack {
  redis: OwnRedis;
  raw: Record<string, unknown>;
  config: BatchjobConfig;
  /** The config as a file for CLI daemons. */
  file: string;
  /** Where the fixture job records each item it begins (`{record: true}`): "<id> <pid> <attempts>" lines. */
  behaveLog: string;
  client: ReturnType<typeof connectRedis>;
  keys: ReturnType<typeof makeKeys>;
  queue: BatchQueue;
  registry: HostRegistry;
  list: RedisWorkerList;
  history: RedisWorkerHistory;
  /** Every tick report of the manager, in order. */
  reports: TickReport[];
  worker(hostId: string, slots: number, env?: Record<string, string>): CliProcess;
  manager(): ReturnType<typeof testManager>;
  /** A worker daemon in this process (`pool` to look into), stopped by `close` before Redis. */
  inProcessWorker(options?: Partial<WorkerOptions>): ReturnType<typeof testWorker>;
  /** Redis serving again, then the daemons stopped (workers by SIGTERM), then Redis. */
  close(): Promise<void>;
}

/** The e2e config on `redis` (changed by `change`), and what a test needs to run and watch daemons on it. */
export async function stackOn(redis: OwnRedis, change: (raw: Record<string, unknown>) => void): Promise<Stack> {
  const raw = await rawE2eConfig();
  change(raw);
  const config = parseConfig(raw);
  const file = await writeConfigFile(raw);
  const behaveLog = join(mkdtempSync(join(tmpdir(), "bj-behave-")), "items.log");
  const client = connectRedis(redis.url, { daemon: true });
  // it waits through the outages the test makes; their errors are expected
  client.on("error", () => {});
  const keys = makeKeys(config.prefix);
  const workers: CliProcess[] = [];
  let manager: Awaited<ReturnType<typeof testManager>> | undefined;
  const inProcess: Awaited<ReturnType<typeof testWorker>>[] = [];
  const reports: TickReport[] = [];
  const stack: Stack = {
    redis,
    raw,
    config,
    file,
    behaveLog,
    client,
    keys,
    queue: new BatchQueue({ redis: client, prefix: config.prefix, jobTypes: config.jobTypes }),
    registry: new HostRegistry(client, keys),
    list: new RedisWorkerList(client, keys),
    history: new RedisWorkerHistory(client, keys),
    reports,
    worker(hostId, slots, env = {}) {
      const w = spawnCli(["worker", "--config", file, "--host-id", hostId, "--slots", String(slots)], {
        env: { REDIS_URL: redis.url, BEHAVE_LOG: behaveLog, ...env },
      });
      workers.push(w);
      return w;
    },
    async manager() {
      manager = await testManager(config, { redisUrl: redis.url, onTick: (r) => reports.push(r) });
      return manager;
    },
    async inProcessWorker(options = {}) {
      const w = await testWorker(config, { redisUrl: redis.url, ...options });
      inProcess.push(w);
      return w;
    },
    async close() {
      redis.thaw();
      await redis.serve().catch(() => undefined);
      await manager?.stop();
      await Promise.all(inProcess.map((w) => w.stop({ graceMs: 0 })));
      for (const w of workers) {
        // a stopped (SIGSTOP) daemon is continued first: it could not act on SIGTERM
        w.child.kill("SIGCONT");
        w.kill("SIGTERM");
      }
      // one that does not exit is killed, and named with its last output (after Redis and the client are closed)
      const stuck = (await Promise.all(workers.map((w) => exitsWithin(w, CLOSE_GRACE_MS)))).filter((w) => w !== null);
      await closeClient(client);
      await redis.stop();
      if (stuck.length > 0)
        throw new Error(
          stuck
            .map((w) => `${w.name} did not exit within ${CLOSE_GRACE_MS} ms of SIGTERM; its last output:\n${w.tail}`)
            .join("\n"),
        );
    },
  };
  track(
    `control connection to ${redis.url}`,
    () => client.status !== "end",
    () => closeClient(client),
  );
  return stack;
}

/** How long `close()` waits for a CLI worker to exit after SIGTERM before it kills it. */
const CLOSE_GRACE_MS = 20_000;

/** Null when `p` exits within `ms`; else it is killed (SIGKILL) and named with its last output. */
export async function exitsWithin(p: CliProcess, ms: number): Promise<{ name: string; tail: string } | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    p.exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), ms);
    }),
  ]);
  clearTimeout(timer);
  if (!late) return null;
  p.kill("SIGKILL");
  await p.exited;
  return { name: `pid ${p.child.pid}`, tail: `${p.stdout().slice(-8000)}\n--- stderr ---\n${p.stderr().slice(-2000)}` };
}

/** Reports whose observe step succeeded (their `at` is the Redis time of the observation). */
export function observed(reports: readonly TickReport[]): TickReport[] {
  return reports.filter((r) => !r.failed.some((f) => f.step === "observe"));
}

/** Resolves after `ms`: only for a fault that must last that long (a freeze longer than the host TTL). */
export function hold(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
