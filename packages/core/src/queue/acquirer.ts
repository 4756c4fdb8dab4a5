/**
 * The Acquirer role: a worker takes the reservation it was started under,
 * then leases chunks of items (the next split group, else up to `max`
 * pending items) under a chunk id. The hot path's next chunk comes from the
 * Releaser's settle, in the same round trip as the settle.
 */
import type { Batch } from "../batch.js";
import type { AcquireOptions, Acquirer } from "../queue-contracts.js";
import { acquireScript } from "../scripts/commands.js";
import { chunkIdOr, positiveInt, type QueueContext } from "./context.js";

export class RedisAcquirer implements Acquirer {
  constructor(private readonly ctx: QueueContext) {}

  /** Takes a reservation (or drops one the worker refuses); false when it was no longer waiting. */
  async claim(jobType: string, reservationId: string): Promise<boolean> {
    return (await this.ctx.client.srem(this.ctx.keys.type(jobType).reserved, reservationId)) === 1;
  }

  /** Leases up to `max` items to a chunk. An empty queue gives a batch of size 0. */
  async acquire<P = unknown>(jobType: string, options: AcquireOptions): Promise<Batch<P>> {
    const k = this.ctx.keys.type(jobType);
    const max = positiveInt("max", options?.max);
    const leaseMs = this.ctx.leaseOf(jobType, options.leaseMs);
    const chunkId = chunkIdOr(options.chunkId);
    const raw = await acquireScript(this.ctx.client, k, chunkId, max, leaseMs);
    return this.ctx.toBatch<P>(jobType, k, chunkId, raw, options.json === true);
  }
}
