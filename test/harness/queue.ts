/** A BatchQueue on the run's Redis with a fresh prefix, closed and cleaned after the test. */
import { BatchQueue, type BatchQueueOptions, connectRedis } from "@batchjob/core";
import { closeClient, freshPrefix, redisUrl, track } from "./index.js";

export function testQueue(options: Omit<BatchQueueOptions, "redis" | "prefix"> & { url?: string } = {}) {
  const prefix = freshPrefix();
  const client = connectRedis(options.url ?? redisUrl());
  const queue = new BatchQueue({ ...options, redis: client, prefix });
  const close = () => closeClient(client);
  track(`BatchQueue ${prefix}`, () => client.status !== "end", close);
  return { queue, client, prefix, keys: queue.keys, close };
}
