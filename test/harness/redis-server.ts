/**
 * Private redis-server processes for tests: one on a free port with
 * persistence off, which a test can kill and restart, and a Redis Cluster
 * (3 masters by default, optionally with replicas, a short node timeout and
 * partial coverage) built with `redis-cli --cluster create`, with what a
 * failover test needs: which node serves a slot, its replicas, and a wait
 * for a replica to take over.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

export const NO_REDIS_MESSAGE =
  "batchjob's tests need a real Redis: install redis-server (Debian/Ubuntu: sudo apt-get install redis-server; " +
  "macOS: brew install redis) so the tests can start their own, or set REDIS_URL=redis://host:port to a Redis they may use.";

export function hasRedisServerBinary(): boolean {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  process: ChildProcess;
  /** Sends a signal (SIGKILL for a crash) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (after a kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForPing(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    const c = new Redis({
      port,
      host: "127.0.0.1",
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    c.on("error", () => {});
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return;
    } catch (err) {
      lastErr = err;
      c.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms: ${String(lastErr)}`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startRedisServer(options: { port?: number; args?: string[] } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "bj-redis-"));
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--loglevel",
    "warning",
    ...(options.args ?? []),
  ];
  const launch = () => spawn("redis-server", args, { stdio: ["ignore", "ignore", "inherit"] });
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    process: launch(),
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      const p = server.process;
      p.kill(signal);
      await exited(p);
    },
    async restart() {
      server.process = launch();
      await waitForPing(port);
    },
    async stop() {
      await server.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await waitForPing(port);
  return server;
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if ((await portIsFree(port)) && (await portIsFree(port + 10_000))) return port;
  }
  throw new Error("no free port pair (p, p + 10000) for a cluster node");
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

export interface ClusterOptions {
  /** @defaultValue 3 */
  masters?: number;
  /** Replicas per master. @defaultValue 0 */
  replicas?: number;
  /** `cluster-node-timeout`: how long a node may not answer before it is failed (and a replica promoted). @defaultValue 2000 */
  nodeTimeoutMs?: number;
  /** `cluster-require-full-coverage`: `false` lets the other slots serve while a slot range has no master. @defaultValue true */
  requireFullCoverage?: boolean;
}

/** One slot range and the nodes serving it, as CLUSTER SLOTS says (ports). */
export interface SlotRange {
  from: number;
  to: number;
  master: number;
  replicas: number[];
}

export interface RedisCluster {
  nodes: RedisServer[];
  /** `redis-cluster://127.0.0.1:p1,...` for `connectRedis`. */
  url: string;
  /** The hash slot of `key` (CLUSTER KEYSLOT on a live node). */
  slotOf(key: string): Promise<number>;
  /** The slot ranges as a live node sees them now. */
  ranges(): Promise<SlotRange[]>;
  /** The node serving `slot` as master now (it may be dead and not failed over yet). */
  masterOf(slot: number): Promise<RedisServer>;
  /** The replicas of the master serving `slot`. */
  replicasOf(slot: number): Promise<RedisServer[]>;
  /** Nodes still running. */
  live(): RedisServer[];
  /** Waits until a live node other than `dead` (a port) serves `slot` as master and says so; returns it. */
  waitForFailover(slot: number, dead: number, timeoutMs?: number): Promise<RedisServer>;
  stop(): Promise<void>;
}

function isLive(n: RedisServer): boolean {
  return n.process.exitCode === null && n.process.signalCode === null;
}

/** Runs `fn` on a short-lived connection to `port`, which fails fast when the node is down. */
async function onNode<T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({
    port,
    host: "127.0.0.1",
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  c.on("error", () => {});
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

async function clusterOk(port: number): Promise<boolean> {
  const info = String(await onNode(port, (c) => c.cluster("INFO")));
  return info.includes("cluster_state:ok");
}

/** Until `check` is true, polling every 100 ms, or throws `what` after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // a node still starting or just killed: ask again
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A Redis Cluster of `masters` masters, each with `replicas` replicas, slots
 * spread by `redis-cli --cluster create`; ready when every node says
 * cluster_state:ok and every master has its replicas connected.
 */
export async function startRedisCluster(options: ClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const args = [
    "--cluster-enabled",
    "yes",
    "--cluster-node-timeout",
    String(options.nodeTimeoutMs ?? 2000),
    // a replica may always take over, however long its link was down
    "--cluster-replica-validity-factor",
    "0",
    "--cluster-require-full-coverage",
    options.requireFullCoverage === false ? "no" : "yes",
  ];
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      nodes.push(await startRedisServer({ port: await freeClusterPort(), args }));
    }
    const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
    execFileSync(
      "redis-cli",
      ["--cluster", "create", ...addrs, "--cluster-replicas", String(replicas), "--cluster-yes"],
      { stdio: "ignore" },
    );
    await until(
      "every node to say cluster_state:ok",
      async () => {
        for (const n of nodes) if (!(await clusterOk(n.port))) return false;
        return true;
      },
      30_000,
    );
    if (replicas > 0) {
      await until(
        "every master to have its replicas in sync",
        async () => {
          let synced = 0;
          for (const n of nodes) {
            const info = String(await onNode(n.port, (c) => c.info("replication")));
            if (info.includes("role:master")) synced += (info.match(/state=online/g) ?? []).length;
          }
          return synced === masters * replicas;
        },
        30_000,
      );
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  const byPort = (port: number): RedisServer => {
    const n = nodes.find((x) => x.port === port);
    if (!n) throw new Error(`no cluster node on port ${port}`);
    return n;
  };
  const ask = async <T>(fn: (c: Redis) => Promise<T>): Promise<T> => {
    let last: unknown;
    for (const n of nodes.filter(isLive)) {
      try {
        return await onNode(n.port, fn);
      } catch (err) {
        last = err;
      }
    }
    throw new Error(`no cluster node answers: ${String(last)}`);
  };
  const ranges = async (port?: number): Promise<SlotRange[]> => {
    const read = (c: Redis) => c.cluster("SLOTS");
    const raw = port === undefined ? await ask(read) : await onNode(port, read);
    return raw.map(([from, to, ...served]) => ({
      from,
      to,
      master: served[0]?.[1] ?? -1,
      replicas: served.slice(1).map((r) => r[1]),
    }));
  };
  const rangeOf = async (slot: number, port?: number): Promise<SlotRange> => {
    const r = (await ranges(port)).find((x) => x.from <= slot && slot <= x.to);
    if (!r) throw new Error(`no node serves slot ${slot}`);
    return r;
  };
  return {
    nodes,
    url: `redis-cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`,
    slotOf: (key) => ask((c) => c.cluster("KEYSLOT", key) as Promise<number>),
    ranges: () => ranges(),
    masterOf: async (slot) => byPort((await rangeOf(slot)).master),
    // the master's own ROLE is the authority: the node asked for CLUSTER SLOTS may not list a replica yet (gossip)
    async replicasOf(slot) {
      const r = await rangeOf(slot);
      const role = (await onNode(r.master, (c) => c.role())) as [string, number, [string, string, string][]];
      const ports = new Set([...r.replicas, ...(role[2] ?? []).map((x) => Number(x[1]))]);
      return [...ports].map(byPort);
    },
    live: () => nodes.filter(isLive),
    async waitForFailover(slot, dead, timeoutMs = 30_000) {
      let port = dead;
      await until(
        `a replica to take over slot ${slot} from the node on port ${dead}`,
        async () => {
          for (const n of nodes.filter(isLive)) {
            const r = await rangeOf(slot, n.port);
            if (r.master === dead) return false;
            port = r.master;
          }
          const role = await onNode(port, (c) => c.role());
          return role[0] === "master" && (await clusterOk(port));
        },
        timeoutMs,
      );
      return byPort(port);
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
