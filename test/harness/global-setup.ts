/**
 * Vitest global setup: uses REDIS_URL when set (and reachable), else starts a
 * private redis-server on a free port with persistence off, stopped at the end.
 * With neither, the run stops with one message saying how to get Redis.
 */
import { Redis } from "ioredis";
import type { TestProject } from "vitest/node";
import { hasRedisServerBinary, NO_REDIS_MESSAGE, type RedisServer, startRedisServer } from "./redis-server.js";

let server: RedisServer | undefined;

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export async function setup(project: TestProject): Promise<void> {
  let url = process.env.REDIS_URL;
  if (url) {
    const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on("error", () => {});
    try {
      await c.connect();
      await c.ping();
    } catch (err) {
      throw new Error(`REDIS_URL=${url} is not reachable (${String(err)}). ${NO_REDIS_MESSAGE}`);
    } finally {
      c.disconnect();
    }
  } else {
    if (!hasRedisServerBinary()) throw new Error(NO_REDIS_MESSAGE);
    server = await startRedisServer();
    url = server.url;
  }
  project.provide("redisUrl", url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
