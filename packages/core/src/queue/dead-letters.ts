/**
 * Dead-letter administration: list dead items with their last error, how
 * the failure was pinned on them and their counts; move them back to pending
 * with fresh attempts; delete them for good. A type spread over shards
 * (#12) is listed newest first over all its shards; retry and purge act on
 * every shard (an id is in one).
 */
import type { DeadLetterAdmin } from "../queue-contracts.js";
import { type DeadItem, deadAction, readDead } from "../queue-inspect.js";
import { positiveInt, type QueueContext } from "./context.js";
import { eachQueue, mergeDead } from "./shard-merge.js";

export class RedisDeadLetters implements DeadLetterAdmin {
  constructor(private readonly ctx: QueueContext) {}

  /** Dead items, newest first. */
  async listDead<P = unknown>(
    jobType: string,
    options: { offset?: number; limit?: number } = {},
  ): Promise<DeadItem<P>[]> {
    const limit = positiveInt("limit", options.limit ?? 50);
    const offset = options.offset ?? 0;
    await this.ctx.publishedShardsFor(jobType);
    const queues = this.ctx.queuesOf(jobType);
    if (queues.length === 1) return readDead<P>(this.ctx.client, this.ctx.keys.type(jobType), offset, limit);
    // the newest offset + limit of each shard hold the newest offset + limit of all
    const shards = await Promise.all(
      queues.map((q) => readDead<P>(this.ctx.client, this.ctx.keys.type(q), 0, offset + limit)),
    );
    return mergeDead(shards, offset, limit);
  }

  /** Moves dead items back to pending with fresh attempts: the named ones, or all. */
  async retryDead(jobType: string, ids?: string[]): Promise<number> {
    // the script moves the type's activity count with the items (the manager reads the type again)
    return this.eachShard(jobType, (q) => deadAction(this.ctx.client, this.ctx.keys.type(q), "dead-retry", ids));
  }

  /** Deletes dead items for good: the named ones, or all. */
  async purgeDead(jobType: string, ids?: string[]): Promise<number> {
    return this.eachShard(jobType, (q) => deadAction(this.ctx.client, this.ctx.keys.type(q), "dead-purge", ids));
  }

  /** `action` on each shard of `jobType` in turn: the sum of what it did. */
  private async eachShard(jobType: string, action: (queue: string) => Promise<number>): Promise<number> {
    await this.ctx.publishedShardsFor(jobType);
    let sum = 0;
    // a shard that fails does not hold back the others; its error comes after them
    const failed = await eachQueue(this.ctx.queuesOf(jobType), async (q) => {
      sum += await action(q);
    });
    if (failed) throw failed.err;
    return sum;
  }
}
