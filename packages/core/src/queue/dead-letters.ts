/**
 * Dead-letter administration: list dead items with their last error, how
 * the failure was pinned on them and their counts; move them back to pending
 * with fresh attempts; delete them for good.
 */
import type { DeadLetterAdmin } from "../queue-contracts.js";
import { type DeadItem, deadAction, readDead } from "../queue-inspect.js";
import { positiveInt, type QueueContext } from "./context.js";

export class RedisDeadLetters implements DeadLetterAdmin {
  constructor(private readonly ctx: QueueContext) {}

  /** Dead items, newest first. */
  async listDead<P = unknown>(
    jobType: string,
    options: { offset?: number; limit?: number } = {},
  ): Promise<DeadItem<P>[]> {
    const limit = positiveInt("limit", options.limit ?? 50);
    return readDead<P>(this.ctx.client, this.ctx.keys.type(jobType), options.offset ?? 0, limit);
  }

  /** Moves dead items back to pending with fresh attempts: the named ones, or all. */
  async retryDead(jobType: string, ids?: string[]): Promise<number> {
    // the script moves the type's activity count with the items (the manager reads the type again)
    return deadAction(this.ctx.client, this.ctx.keys.type(jobType), "dead-retry", ids);
  }

  /** Deletes dead items for good: the named ones, or all. */
  async purgeDead(jobType: string, ids?: string[]): Promise<number> {
    return deadAction(this.ctx.client, this.ctx.keys.type(jobType), "dead-purge", ids);
  }
}
