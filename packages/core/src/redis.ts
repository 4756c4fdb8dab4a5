/**
 * Redis connections: one URL form for a single node (`redis://host:port/db`,
 * `rediss://` for TLS) and one for a cluster (`redis-cluster://h1:p1,h2:p2`).
 * A message quoting a URL shows it without its password (`redactUrl`).
 */
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { redactUrl } from "./config/secret-urls.js";
import { errorFromLua, InvalidArgumentError, ScriptError } from "./errors.js";

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
}

export function connectRedis(url: string = DEFAULT_REDIS_URL, options: ConnectOptions = {}): RedisClient {
  const common: RedisOptions = {
    maxRetriesPerRequest: options.daemon ? null : 3,
    ...(options.autoPipelining ? { enableAutoPipelining: true } : {}),
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
  };
  if (url.startsWith("redis-cluster://")) {
    const hosts = url.slice("redis-cluster://".length).split(",").filter(Boolean);
    if (hosts.length === 0) {
      throw new InvalidArgumentError(`redis URL ${redactUrl(url)}: name at least one host:port after redis-cluster://`);
    }
    const nodes = hosts.map((h) => {
      const [host, port] = h.split(":");
      const p = Number(port ?? 6379);
      if (!host || !Number.isInteger(p))
        throw new InvalidArgumentError(`redis URL ${redactUrl(url)}: bad node "${redactUrl(h)}", expected host:port`);
      return { host, port: p };
    });
    return new Cluster(nodes, {
      redisOptions: common,
      ...(options.autoPipelining ? { enableAutoPipelining: true } : {}),
    });
  }
  if (!/^rediss?:\/\//.test(url)) {
    throw new InvalidArgumentError(
      `redis URL ${JSON.stringify(redactUrl(url))}: expected redis://host:port[/db], rediss://... or redis-cluster://host:port,host:port`,
    );
  }
  return new Redis(url, common);
}

/** Connection settings BullMQ needs to open its own connections like `client`. */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** The replies of a MULTI; the first error is thrown (typed); an aborted transaction is an error too. */
export function execReplies(results: [Error | null, unknown][] | null, what: string): unknown[] {
  if (!results) throw new ScriptError(`${what}: the transaction was aborted`);
  return results.map(([err, reply]) => {
    if (err) throw errorFromLua(err, what);
    return reply;
  });
}
