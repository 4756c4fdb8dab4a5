/**
 * Private redis-server processes for tests: one on a free port with
 * persistence off, which a test can kill and restart, and a 3-master
 * Redis Cluster built with `redis-cli --cluster create`.
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

export interface RedisCluster {
  nodes: RedisServer[];
  /** `redis-cluster://127.0.0.1:p1,...` for `connectRedis`. */
  url: string;
  stop(): Promise<void>;
}

/** Three masters, slots spread by `redis-cli --cluster create`, ready when all say cluster_state:ok. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  for (let i = 0; i < 3; i++) {
    nodes.push(await startRedisServer({ args: ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"] }));
  }
  const addrs = nodes.map((n) => `127.0.0.1:${n.port}`);
  execFileSync("redis-cli", ["--cluster", "create", ...addrs, "--cluster-replicas", "0", "--cluster-yes"], {
    stdio: "ignore",
  });
  const deadline = Date.now() + 20_000;
  for (const n of nodes) {
    const c = new Redis({ port: n.port, host: "127.0.0.1" });
    try {
      for (;;) {
        const info = await c.cluster("INFO");
        if (String(info).includes("cluster_state:ok")) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${n.port} not ok: ${String(info)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      c.disconnect();
    }
  }
  return {
    nodes,
    url: `redis-cluster://${addrs.join(",")}`,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
