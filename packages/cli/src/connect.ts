/**
 * What the inspection commands (status, enqueue, history, dead) share:
 * which Redis and prefix to use (flag < env < config file precedence turned
 * around: --redis/--prefix, then REDIS_URL/BATCHJOB_PREFIX, then the config
 * file when one is given or found, then the defaults) and an open queue.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import {
  type BatchjobConfig,
  BatchjobError,
  BatchQueue,
  closeRedis,
  connectRedis,
  DEFAULT_REDIS_URL,
  defaults,
  type Keys,
  makeKeys,
  type RedisClient,
  RedisUnavailableError,
  redactRedisUrl,
  redactUrlsInText,
} from "@batchjob/core";
import { type Parsed, str } from "./args.js";
import { CONFIG_NAMES, findConfig, type Io } from "./command.js";

export interface Session {
  client: RedisClient;
  keys: Keys;
  queue: BatchQueue;
  config: BatchjobConfig | undefined;
  close(): Promise<void>;
}

export const CONNECT_FLAGS = {
  config: { type: "string" },
  redis: { type: "string" },
  prefix: { type: "string" },
} as const;

export const CONNECT_HELP = `  --redis URL          Redis (default: $REDIS_URL, else the config's
                       redis.url, else ${DEFAULT_REDIS_URL})
  --prefix P           key prefix (default: $BATCHJOB_PREFIX, else the
                       config's prefix, else "${defaults.prefix}")
  --config FILE        read Redis, prefix and job types from this config
                       (optional; batchjob.config.* in the working folder
                       is used when present)`;

export async function openSession(p: Parsed, io: Io): Promise<Session> {
  const flag = str(p, "config");
  const found = flag ?? io.env.BATCHJOB_CONFIG ?? CONFIG_NAMES.find((n) => existsSync(resolve(io.cwd, n)));
  const config = found ? (await findConfig(found, io)).config : undefined;
  const url = str(p, "redis") ?? io.env.REDIS_URL ?? config?.redis.url ?? DEFAULT_REDIS_URL;
  const prefix = str(p, "prefix") ?? io.env.BATCHJOB_PREFIX ?? config?.prefix ?? defaults.prefix;
  // fail-fast: every command waits at most a few seconds, then rejects with one RedisUnavailableError line
  const client = connectRedis(url, { connectionName: "batchjob-cli" });
  try {
    await client.ping();
  } catch (err) {
    client.disconnect();
    if (err instanceof BatchjobError) throw err;
    throw new RedisUnavailableError(
      `cannot reach Redis at ${redactRedisUrl(url)}: ${redactUrlsInText(err instanceof Error ? err.message : String(err))}`,
    );
  }
  const keys = makeKeys(prefix);
  const queue = new BatchQueue({
    redis: client,
    prefix,
    ...(config ? { jobTypes: config.jobTypes, maxPayloadBytes: config.queue.maxPayloadBytes } : {}),
  });
  // no config here: the shards of each type are those the leader published (counts, dead letters, enqueue)
  if (!config) await queue.loadPublishedShards();
  return {
    client,
    keys,
    queue,
    config,
    close: () => closeRedis(client),
  };
}

/** Runs `fn` with an open session and closes it, whatever happens. */
export async function withSession<T>(p: Parsed, io: Io, fn: (s: Session) => Promise<T>): Promise<T> {
  const s = await openSession(p, io);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}
