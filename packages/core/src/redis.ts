/**
 * Redis connections, the one place the system opens them: a single node
 * (`redis://`, `rediss://`), a Redis Cluster (`redis-cluster://`) or a
 * Sentinel-managed master (`redis-sentinel://`, `rediss-sentinel://`); the URL
 * grammar is in redis-url.ts. Two behaviours:
 *   - daemon connections wait for Redis as long as it takes (commands queue,
 *     reconnects never stop) and follow a failover on their own: Sentinel is
 *     asked for the master on every reconnect, and a READONLY reply (the node
 *     became a replica) reconnects and resends the command;
 *   - CLI and API connections fail fast: each command waits at most
 *     `defaults.redis.commandTimeoutMs`, then rejects with one clear
 *     `RedisUnavailableError` (redis-failures.ts).
 */
import { Cluster, Redis } from "ioredis";
import { defaults } from "./config/defaults.js";
import { errorFromLua, ScriptError } from "./errors.js";
import {
  type ClusterConnectOptions,
  FailFastCluster,
  FailFastRedis,
  type FailureContext,
  type NodeOptions,
} from "./redis-failures.js";
import { parseRedisUrl, type RedisTarget, redactRedisUrl } from "./redis-url.js";

export type RedisClient = Redis | Cluster;

/** @defaultValue "redis://127.0.0.1:6379" */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

export interface ConnectOptions {
  /** Daemons wait for Redis forever (`maxRetriesPerRequest: null`); callers fail fast. */
  daemon?: boolean;
  /** Name shown by `CLIENT LIST`. */
  connectionName?: string;
  /** Batch commands issued in the same event-loop turn into one write (many small reads). */
  autoPipelining?: boolean;
  /** Not for daemons: longest wait of one command. @defaultValue defaults.redis.commandTimeoutMs (5000) */
  commandTimeoutMs?: number;
}

/** A READONLY reply: the node we talk to is a replica now (a failover); reconnect and resend. */
function reconnectOnReadOnly(err: Error): false | 2 {
  return /^READONLY\b/.test(err.message) ? 2 : false;
}

/** Exponential from 50 ms to `defaults.redis.maxReconnectDelayMs`, with jitter; never gives up. */
function reconnectDelay(times: number): number {
  const max = defaults.redis.maxReconnectDelayMs;
  return Math.min(50 * 2 ** Math.min(times - 1, 10), max) + Math.floor(Math.random() * 50);
}

export function connectRedis(url: string = DEFAULT_REDIS_URL, options: ConnectOptions = {}): RedisClient {
  const target = parseRedisUrl(url);
  const daemon = options.daemon === true;
  const commandTimeoutMs = options.commandTimeoutMs ?? defaults.redis.commandTimeoutMs;
  const common: NodeOptions = {
    ...(daemon
      ? { maxRetriesPerRequest: null }
      : {
          // one failed reconnect flushes the waiting commands; commandTimeout bounds the rest
          maxRetriesPerRequest: 1,
          connectTimeout: defaults.redis.connectTimeoutMs,
          commandTimeout: commandTimeoutMs,
          // a socket already gone is not waited for (ioredis's 2 s would hold the CLI's exit)
          disconnectTimeout: 200,
        }),
    ...(options.autoPipelining ? { enableAutoPipelining: true } : {}),
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    ...credentials(target),
  };
  const ctx: FailureContext = {
    url: redactRedisUrl(url),
    cluster: target.kind === "cluster",
    commandTimeoutMs,
    ...(target.kind === "sentinel" ? { masterName: target.masterName } : {}),
  };
  if (target.kind === "cluster") {
    const clusterOptions: ClusterConnectOptions = {
      redisOptions: common,
      // reconnect forever; a fail-fast connection bounds each command instead, so a
      // long-lived service's client still recovers when the cluster is back
      clusterRetryStrategy: reconnectDelay,
      // no CLUSTER INFO ready check: ioredis asks a random master, and when that one is down (a lost slot
      // range) or says cluster_state:fail (a failover not done yet), it reconnects without ever settling the
      // promise connect() returned. BullMQ's blocking connection (a duplicate(), which keeps these options)
      // awaits that promise when it reconnects: the inbox's fetch loop then never ends, nor its close. A
      // slot not served yet is each command's to retry (CLUSTERDOWN, MOVED), as once connected.
      enableReadyCheck: false,
      ...(options.autoPipelining ? { enableAutoPipelining: true } : {}),
    };
    return daemon ? new Cluster(target.nodes, clusterOptions) : new FailFastCluster(target.nodes, clusterOptions, ctx);
  }
  // a cluster handles a lost node itself (MOVED, slots refresh): these are for one node or Sentinel
  const single: NodeOptions = { ...common, retryStrategy: reconnectDelay, reconnectOnError: reconnectOnReadOnly };
  const nodeOptions: NodeOptions =
    target.kind === "single"
      ? { ...single, host: target.host, port: target.port, db: target.db, ...(target.tls ? { tls: {} } : {}) }
      : {
          ...single,
          sentinels: target.sentinels,
          name: target.masterName,
          db: target.db,
          sentinelCommandTimeout: defaults.redis.sentinelTimeoutMs,
          sentinelRetryStrategy: (times: number) => Math.min(times * 50, defaults.redis.maxReconnectDelayMs),
          ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
        };
  return daemon ? new Redis(nodeOptions) : new FailFastRedis(nodeOptions, ctx);
}

function credentials(target: RedisTarget): NodeOptions {
  return {
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
  };
}

/**
 * True for a Redis Cluster connection. Reads ioredis's own `isCluster` flag
 * rather than `instanceof`: a caller's client may come from another copy of
 * ioredis (its own node_modules) than the one core imports.
 */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

/**
 * Closes a connection: QUIT when connected; else (Redis down, the connection
 * waiting to reconnect) drops it at once: ioredis would hold QUIT until Redis
 * is back, and never settles it if the connection is dropped meanwhile.
 */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status !== "ready") {
    client.disconnect();
    return;
  }
  await client.quit().catch(() => client.disconnect());
}

/** The replies of a MULTI; the first error is thrown (typed); an aborted transaction is an error too. */
export function execReplies(results: [Error | null, unknown][] | null, what: string): unknown[] {
  if (!results) throw new ScriptError(`${what}: the transaction was aborted`);
  return results.map(([err, reply]) => {
    if (err) throw errorFromLua(err, what);
    return reply;
  });
}
