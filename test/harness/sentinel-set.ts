/**
 * A private Redis Sentinel deployment for tests: one master and one replica
 * (redis-servers on free ports, persistence off) watched by three sentinels
 * (`redis-server <conf> --sentinel`, quorum 2) with short timings, so a
 * killed master is failed over within seconds; optionally password-protected
 * and optionally all TLS (a CA of its own, made with openssl). Ready when
 * every sentinel knows the replica and the two other sentinels and the
 * replica is in sync. Free of vitest: the chaos runs use it too; tests use
 * sentinel.ts, which tracks what it starts.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis, type RedisOptions } from "ioredis";
import { freePort, type RedisServer, startRedisServer } from "./redis-server.js";
import { waitFor } from "./wait.js";

export interface SentinelProcess {
  port: number;
  process: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface SentinelSet {
  masterName: string;
  /** The master the set started with (`kill()` it to force a failover). */
  master: RedisServer;
  replica: RedisServer;
  sentinels: SentinelProcess[];
  /** `redis-sentinel://[:password@]127.0.0.1:s1,...,127.0.0.1:s3/<masterName>` (`rediss-sentinel://` with TLS). */
  url: string;
  /** With TLS: the CA that signed every certificate (NODE_EXTRA_CA_CERTS of a CLI that connects). */
  caFile?: string;
  /**
   * Subscribes to `+switch-master` on every live sentinel; once subscribed,
   * resolves with `switched`: the new master's port at the next failover.
   */
  watchSwitch(timeoutMs?: number): Promise<{ switched: Promise<number> }>;
  stop(): Promise<void>;
}

export interface SentinelOptions {
  masterName?: string;
  /** A node unanswered this long is down to a sentinel. @defaultValue 1000 */
  downAfterMs?: number;
  /** @defaultValue 2000 */
  failoverTimeoutMs?: number;
  /** `requirepass` (and `masterauth`) of both nodes; the URL carries it. */
  password?: string;
  /** Ports for the three sentinels (a URL made before they run); free ports when omitted. */
  sentinelPorts?: number[];
  /** TLS only, for clients, replication and the sentinels. */
  tls?: boolean;
}

interface Settings {
  masterName: string;
  downAfterMs: number;
  failoverTimeoutMs: number;
  password?: string;
  dir: string;
  tls?: { ca: string; cert: string; key: string };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** ioredis options to reach the node or sentinel on `port` of this set. */
function reach(s: Settings, port: number, extra: RedisOptions = {}): RedisOptions {
  return {
    port,
    host: "127.0.0.1",
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...(s.tls ? { tls: { ca: readFileSync(s.tls.ca) } } : {}),
    ...extra,
  };
}

/** Runs `fn` on a fresh connection to the sentinel or node on `port`; undefined when it does not answer. */
async function ask<T>(s: Settings, port: number, fn: (c: Redis) => Promise<T>, password?: string) {
  const c = new Redis(reach(s, port, { lazyConnect: true, ...(password ? { password } : {}) }));
  c.on("error", () => {});
  try {
    await c.connect();
    return await fn(c);
  } catch {
    return undefined;
  } finally {
    c.disconnect();
  }
}

/** A CA and a certificate for 127.0.0.1 signed by it. */
function makeCertificates(dir: string): NonNullable<Settings["tls"]> {
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  openssl(
    "req",
    "-x509",
    "-new",
    "-nodes",
    "-newkey",
    "rsa:2048",
    "-days",
    "2",
    "-subj",
    "/CN=batchjob test CA",
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.crt"),
  );
  openssl(
    "req",
    "-new",
    "-nodes",
    "-newkey",
    "rsa:2048",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    f("node.key"),
    "-out",
    f("node.csr"),
  );
  writeFileSync(f("san.cnf"), "subjectAltName=IP:127.0.0.1\n");
  openssl(
    "x509",
    "-req",
    "-in",
    f("node.csr"),
    "-CA",
    f("ca.crt"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    f("san.cnf"),
    "-out",
    f("node.crt"),
  );
  return { ca: f("ca.crt"), cert: f("node.crt"), key: f("node.key") };
}

/** TLS settings of a node or sentinel (as config lines; a node takes them as `--name value`). */
function tlsLines(s: Settings, port: number): string[] {
  if (!s.tls) return [`port ${port}`];
  return [
    "port 0",
    `tls-port ${port}`,
    `tls-cert-file ${s.tls.cert}`,
    `tls-key-file ${s.tls.key}`,
    `tls-ca-cert-file ${s.tls.ca}`,
    "tls-auth-clients no",
    "tls-replication yes",
  ];
}

/** A TLS-only redis-server (the harness's own startRedisServer checks a plain port). */
async function startTlsNode(s: Settings, args: string[]): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(s.dir, "node-"));
  const argv = [
    ...tlsLines(s, port).flatMap((line) => {
      const [k, ...v] = line.split(" ");
      return [`--${k}`, v.join(" ")];
    }),
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
    ...args,
  ];
  const launch = () => spawn("redis-server", argv, { stdio: ["ignore", "ignore", "inherit"] });
  const ready = () =>
    waitFor(
      `TLS redis-server on port ${port}`,
      async () => (await ask(s, port, (c) => c.ping())) === "PONG",
      10_000,
      50,
    );
  const server: RedisServer = {
    port,
    url: `rediss://127.0.0.1:${port}`,
    process: launch(),
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      server.process.kill(signal);
      await exited(server.process);
    },
    async restart() {
      server.process = launch();
      await ready();
    },
    async stop() {
      await server.kill("SIGTERM");
    },
  };
  await ready();
  return server;
}

async function startSentinel(s: Settings, masterPort: number, port: number): Promise<SentinelProcess> {
  const conf = join(s.dir, `sentinel-${port}.conf`);
  const name = s.masterName;
  writeFileSync(
    conf,
    [
      ...tlsLines(s, port),
      "bind 127.0.0.1",
      `dir ${s.dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${name} ${s.downAfterMs}`,
      `sentinel failover-timeout ${name} ${s.failoverTimeoutMs}`,
      `sentinel parallel-syncs ${name} 1`,
      ...(s.password ? [`sentinel auth-pass ${name} ${s.password}`] : []),
      "",
    ].join("\n"),
  );
  const child = spawn("redis-server", [conf, "--sentinel", "--loglevel", "warning"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const sentinel: SentinelProcess = {
    port,
    process: child,
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      child.kill(signal);
      await exited(child);
    },
  };
  await waitFor(
    `sentinel on port ${port} to answer`,
    async () => {
      if (child.exitCode !== null) throw new Error(`sentinel on port ${port} exited with ${child.exitCode}`);
      return (await ask(s, port, (c) => c.ping())) === "PONG";
    },
    10_000,
    50,
  );
  return sentinel;
}

/** SENTINEL MASTER <name> as an object. */
async function masterState(s: Settings, port: number): Promise<Record<string, string> | undefined> {
  const flat = await ask(s, port, (c) => c.call("SENTINEL", "MASTER", s.masterName) as Promise<string[]>);
  if (!Array.isArray(flat)) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/** Starts a sentinel set (the caller stops it). */
export async function launchSentinels(options: SentinelOptions): Promise<SentinelSet> {
  const dir = mkdtempSync(join(tmpdir(), "bj-sentinel-"));
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((x) => x.stop().catch(() => {})));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const s: Settings = {
      masterName: options.masterName ?? "bjmaster",
      downAfterMs: options.downAfterMs ?? 1000,
      failoverTimeoutMs: options.failoverTimeoutMs ?? 2000,
      dir,
      ...(options.password ? { password: options.password } : {}),
      ...(options.tls ? { tls: makeCertificates(dir) } : {}),
    };
    // either node may be the master: no 5 s wait before a replica's first sync
    const nodeArgs = ["--repl-diskless-sync-delay", "0", ...(s.password ? ["--masterauth", s.password] : [])];
    const startNode = async (args: string[]) => {
      const node = s.tls ? await startTlsNode(s, args) : await startRedisServer({ args });
      started.push(node);
      // the password is set once the node runs (startRedisServer checks it with an unauthenticated PING)
      if (s.password) await ask(s, node.port, (c) => c.config("SET", "requirepass", s.password as string));
      return node;
    };
    const master = await startNode(nodeArgs);
    const replica = await startNode([...nodeArgs, "--replicaof", "127.0.0.1", String(master.port)]);
    const sentinels: SentinelProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const sentinel = await startSentinel(s, master.port, options.sentinelPorts?.[i] ?? (await freePort()));
      sentinels.push(sentinel);
      started.push({ stop: () => sentinel.kill("SIGTERM") });
    }
    await waitFor(
      "the replica to be in sync and every sentinel to know it and the two other sentinels",
      async () => {
        const link = await ask(s, replica.port, (c) => c.info("replication"), s.password);
        if (!link?.includes("master_link_status:up")) return false;
        for (const sentinel of sentinels) {
          const m = await masterState(s, sentinel.port);
          if (m?.["num-slaves"] !== "1" || m["num-other-sentinels"] !== "2") return false;
        }
        return true;
      },
      30_000,
      100,
    );
    const credentials = s.password ? `:${encodeURIComponent(s.password)}@` : "";
    const hosts = sentinels.map((x) => `127.0.0.1:${x.port}`).join(",");
    return {
      masterName: s.masterName,
      master,
      replica,
      sentinels,
      url: `${s.tls ? "rediss" : "redis"}-sentinel://${credentials}${hosts}/${s.masterName}`,
      ...(s.tls ? { caFile: s.tls.ca } : {}),
      watchSwitch: (timeoutMs = 60_000) => watchSwitch(s, sentinels, timeoutMs),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function watchSwitch(
  s: Settings,
  sentinels: SentinelProcess[],
  timeoutMs: number,
): Promise<{ switched: Promise<number> }> {
  const subs = sentinels
    .filter((x) => x.process.exitCode === null && x.process.signalCode === null)
    .map((x) => {
      const c = new Redis(reach(s, x.port));
      c.on("error", () => {});
      return c;
    });
  const switched = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no +switch-master of ${s.masterName} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    for (const c of subs) {
      // "<name> <old ip> <old port> <new ip> <new port>"
      c.on("message", (_channel: string, message: string) => {
        const f = message.split(" ");
        if (f[0] === s.masterName && f[4]) {
          clearTimeout(timer);
          resolve(Number(f[4]));
        }
      });
    }
  }).finally(() => {
    for (const c of subs) c.disconnect();
  });
  switched.catch(() => {});
  await Promise.all(subs.map((c) => c.subscribe("+switch-master")));
  return { switched };
}
