/**
 * The Acquirer role: a worker takes the reservation it was started under,
 * then leases chunks of items (the next split group, else up to `max`
 * pending items) under a chunk id. The hot path's next chunk comes from the
 * Releaser's settle, in the same round trip as the settle. A worker whose
 * queue is empty waits here for new items (#12): BLPOP on the type's wake
 * list, which every enqueue signals, on a connection of its own (WakeWaits).
 */
import type { Batch } from "../batch.js";
import { WAKE_SIGNALS_KEPT } from "../keys.js";
import type { AcquireOptions, Acquirer } from "../queue-contracts.js";
import { acquireScript } from "../scripts/commands.js";
import { chunkIdOr, positiveInt, type QueueContext } from "./context.js";
import { WakeWaits } from "./wake-waits.js";

export class RedisAcquirer implements Acquirer {
  private readonly waits: WakeWaits;

  constructor(private readonly ctx: QueueContext) {
    this.waits = new WakeWaits(ctx.client, ctx.log);
  }

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

  /**
   * Blocks until an enqueue of `jobType` signals its wake list (true), or
   * `timeoutMs` passes, `signal` aborts or the wait fails (false).
   */
  waitForItems(jobType: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return this.waits.wait(this.ctx.keys.type(jobType).wake, timeoutMs, signal);
  }

  /** Passes a wake signal on to the next lingering worker of `jobType`, as an enqueue does. */
  async wakeNext(jobType: string): Promise<void> {
    const wake = this.ctx.keys.type(jobType).wake;
    await this.ctx.client
      .multi()
      .lpush(wake, "1")
      .ltrim(wake, 0, WAKE_SIGNALS_KEPT - 1)
      .exec();
  }

  /** Closes the blocking connections of the waits (a wait in progress ends with false). */
  closeWaits(): Promise<void> {
    return this.waits.close();
  }
}
