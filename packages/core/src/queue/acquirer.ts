/**
 * The Acquirer role: a worker takes the reservation it was started under,
 * then leases chunks of items (the next split group, else up to `max`
 * pending items) under a chunk id. The hot path's next chunk comes from the
 * Releaser's settle, in the same round trip as the settle. A worker whose
 * queue is empty waits here for new items (#12): BLPOP on the type's wake
 * list, which every enqueue signals, on a connection of its own (WakeWaits).
 * A type spread over shards (#12): each acquire starts at the next shard in
 * turn and takes from the others when that one is empty (steal); a wait
 * watches every shard's wake list.
 */
import type { Batch } from "../batch.js";
import { parseQueueName, WAKE_SIGNALS_KEPT } from "../keys.js";
import type { AcquireOptions, Acquirer } from "../queue-contracts.js";
import { acquireScript } from "../scripts/commands.js";
import { chunkIdOr, payloadText, positiveInt, type QueueContext } from "./context.js";
import { WakeWaits } from "./wake-waits.js";

export class RedisAcquirer implements Acquirer {
  private readonly waits: WakeWaits;
  /** The shard the next acquire of a sharded type starts at: the workers of a process spread over the shards. */
  private nextShard = 0;

  constructor(private readonly ctx: QueueContext) {
    this.waits = new WakeWaits(ctx.client, ctx.log);
  }

  /** Takes a reservation (or drops one the worker refuses); false when it was no longer waiting. */
  async claim(jobType: string, reservationId: string): Promise<boolean> {
    return (await this.ctx.client.srem(this.ctx.keys.type(jobType).reserved, reservationId)) === 1;
  }

  /**
   * Leases up to `max` items to a chunk. An empty queue gives a batch of
   * size 0. A type spread over shards is tried shard by shard, from the next
   * in turn (or from the shard `T#i` names), until one has items.
   */
  async acquire<P = unknown>(jobType: string, options: AcquireOptions): Promise<Batch<P>> {
    const max = positiveInt("max", options?.max);
    const chunkId = chunkIdOr(options.chunkId);
    const named = parseQueueName(jobType);
    const queues = this.ctx.queuesOf(named?.jobType ?? jobType);
    if (queues.length === 1) return this.acquireFrom<P>(jobType, chunkId, max, options);
    const start = named && named.shard > 0 ? named.shard : this.nextShard++ % queues.length;
    return this.acquireAny<P>(queues, start, chunkId, max, options);
  }

  /**
   * Tries `queues` (a type's shards) from `start` on, in turn, until one
   * gives items; the empty batch of the last one when none does. Each try
   * uses `chunkId`: a retried call whose reply was lost finds its chunk. A
   * shard that fails (its master failing over) is passed over for the
   * others; its error is thrown only when no shard gave items.
   */
  async acquireAny<P>(
    queues: string[],
    start: number,
    chunkId: string,
    max: number,
    options: Omit<AcquireOptions, "max">,
  ): Promise<Batch<P>> {
    let batch: Batch<P> | undefined;
    let failed: { err: unknown } | undefined;
    for (let i = 0; i < queues.length; i++) {
      try {
        batch = await this.acquireFrom<P>(queues[(start + i) % queues.length] as string, chunkId, max, options);
      } catch (err) {
        failed ??= { err };
        continue;
      }
      if (batch.size > 0) return batch;
    }
    if (failed) throw failed.err;
    return batch as Batch<P>;
  }

  private async acquireFrom<P>(
    queue: string,
    chunkId: string,
    max: number,
    options: Omit<AcquireOptions, "max">,
  ): Promise<Batch<P>> {
    const k = this.ctx.keys.type(queue);
    const raw = await acquireScript(this.ctx.client, k, chunkId, max, this.ctx.leaseOf(queue, options.leaseMs));
    return this.ctx.toBatch<P>(queue, k, chunkId, raw, payloadText(options.json));
  }

  /**
   * Blocks until an enqueue of `jobType` signals its wake list (true), or
   * `timeoutMs` passes, `signal` aborts or the wait fails (false).
   */
  async waitForItems(jobType: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    await this.ctx.publishedShardsFor(jobType);
    const wakes = this.ctx.queuesOf(jobType).map((q) => this.ctx.keys.type(q).wake);
    return this.waits.wait(wakes, timeoutMs, signal);
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
