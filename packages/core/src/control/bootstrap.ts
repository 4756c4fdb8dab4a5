/**
 * What both daemons do first: resolve the Redis URL (option, config,
 * REDIS_URL, default), start a Lifecycle, and open named connections that
 * log their errors and close on stop; then the queue with each job type's
 * settings. A failed start runs the release functions collected so far.
 */
import { BatchQueue } from "../batch-queue.js";
import { type BatchjobConfig, configSchema } from "../config/schema.js";
import { secretValuesOf, urlSecretValues } from "../config/secrets.js";
import { type Keys, makeKeys } from "../keys.js";
import type { Logger } from "../logger.js";
import { closeRedis, connectRedis, DEFAULT_REDIS_URL, type RedisClient } from "../redis.js";
import { Lifecycle } from "./lifecycle.js";

export interface DaemonBase {
  url: string;
  life: Lifecycle;
  keys: Keys;
  /** The daemon's main connection. */
  client: RedisClient;
  /** The queue on the main connection, with every job type's retry policy and lease. */
  queue: BatchQueue;
  /** Opens another connection (closed on stop), named `batchjob-<role>:<id>`. */
  connect(role: string, options?: { autoPipelining?: boolean }): RedisClient;
}

/** The Redis URL a daemon uses: its option, else the config's, else REDIS_URL, else the default. */
export function daemonRedisUrl(config: BatchjobConfig, given: string | undefined): string {
  return given ?? config.redis.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
}

/**
 * The secret values a daemon knows: those its config marks secret and the
 * password of its Redis URL. Its logger hides them (`createLogger({ secrets })`).
 */
export function daemonSecretValues(config: BatchjobConfig, given: string | undefined): string[] {
  const all = [...secretValuesOf(configSchema, config), ...urlSecretValues(daemonRedisUrl(config, given))];
  return [...new Set(all)].sort((a, b) => b.length - a.length);
}

export function openDaemon(
  config: BatchjobConfig,
  o: { role: string; id: string; redisUrl?: string; log: Logger },
): DaemonBase {
  const url = daemonRedisUrl(config, o.redisUrl);
  const life = new Lifecycle(o.log);
  const connect = (role: string, options: { autoPipelining?: boolean } = {}): RedisClient => {
    const client = connectRedis(url, { daemon: true, ...options, connectionName: `batchjob-${role}:${o.id}` });
    client.on("error", (err) => o.log.warn({ err: err.message, connection: role }, "redis connection error"));
    life.add(`redis ${role}`, () => closeRedis(client));
    return client;
  };
  const client = connect(o.role);
  const queue = new BatchQueue({
    redis: client,
    prefix: config.prefix,
    maxPayloadBytes: config.queue.maxPayloadBytes,
    jobTypes: config.jobTypes,
    logger: o.log,
  });
  return { url, life, keys: makeKeys(config.prefix), client, queue, connect };
}
