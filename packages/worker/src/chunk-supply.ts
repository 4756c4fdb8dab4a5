/**
 * Where a worker's chunks come from and go back to: the chunks it holds
 * (the running one and, with prefetch, the next; each with its lease kept:
 * HeldChunk), the one settle in flight that brings the next chunk while the
 * current one runs (#12), and the hand-back of a chunk that never ran (to
 * the head of pending, no attempt charged). Calls to Redis are retried
 * through a short outage (`withRetry`), each try with the same chunk id, so
 * a retried call whose first reply was lost gets the chunk it already took.
 */
import {
  type Acquirer,
  type Batch,
  type JobTypeConfig,
  type Logger,
  type NextChunk,
  newChunkId,
  type Releaser,
  type SettleOutcome,
  type SettleResult,
} from "@batchjob/core";
import { HeldChunk } from "./held-chunk.js";

const ATTEMPTS = 5;

/** Retries `fn` through a short Redis outage (100 ms, doubling); past that the error is thrown. */
async function withRetry<T>(what: string, log: Logger, fn: () => Promise<T>): Promise<T> {
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= ATTEMPTS) throw err;
      log.warn({ err, attempt }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
}

/** A settle (or, with no chunk, a take) that came back: its result and the next chunk it acquired, now held. */
export interface Settled {
  batch: Batch | null;
  r: SettleResult;
  next: HeldChunk | null;
}

export class ChunkSupply {
  /** The settle (or take) in flight that brings the next chunk. */
  private ahead: Promise<Settled> | undefined;
  private readonly held = new Set<HeldChunk>();

  constructor(
    private readonly queue: Acquirer & Releaser,
    private readonly jobType: JobTypeConfig,
    private readonly o: { json: boolean; workerId: string; log: Logger },
  ) {}

  /** A settle or take is in flight. */
  get hasAhead(): boolean {
    return this.ahead !== undefined;
  }

  /** The first chunk of a worker: a plain acquire (null: the queue is empty). */
  async first(): Promise<HeldChunk | null> {
    const next = this.nextArgs();
    const batch = await withRetry("acquire", this.o.log, () => this.queue.acquire(this.jobType.name, next));
    return batch.size > 0 ? this.hold(batch) : null;
  }

  /**
   * Settles `batch` (null: nothing to settle, a take) and, with `next`,
   * acquires the next chunk or takes a stop token; the chunk it brings is
   * held (its lease kept) from the moment it is here.
   */
  settle(batch: Batch | null, outcome: SettleOutcome | null, next: boolean): Promise<Settled> {
    const args = next ? this.nextArgs() : undefined;
    const chunkId = batch?.id ?? args?.chunkId ?? newChunkId();
    const what = batch ? "settle" : "acquire";
    return withRetry(what, this.o.log, () => this.queue.settle(this.jobType.name, chunkId, outcome ?? {}, args)).then(
      (r) => ({ batch, r, next: r.next ? this.hold(r.next) : null }),
    );
  }

  /** Sends a settle (or take) ahead: it runs while the current chunk does. */
  sendAhead(batch: Batch | null, outcome: SettleOutcome | null, next: boolean): void {
    this.ahead = this.settle(batch, outcome, next);
  }

  /** What the settle in flight brought (undefined: none was). */
  async arrived(): Promise<Settled | undefined> {
    const a = this.ahead;
    this.ahead = undefined;
    return a;
  }

  /** Waits for the settle in flight and hands back the chunk it brought: the worker goes no further. */
  async settleAhead(): Promise<Settled | undefined> {
    const st = await this.arrived();
    if (st?.next) await this.handBack(st.next);
    return st;
  }

  /** Hands back a chunk that never ran: to the head of pending (or of the groups), no attempt, no return. */
  async handBack(h: HeldChunk): Promise<void> {
    this.unhold(h);
    if (h.lost) return; // reclaimed already: not ours to hand back
    await this.queue.returnChunk(h.batch.jobType, h.id, h.batch.splitDepth);
  }

  /** Ran (or reclaimed): its lease is no longer kept. */
  unhold(h: HeldChunk): void {
    h.release();
    this.held.delete(h);
  }

  /** The worker ended: no lease is kept any more (what it still held comes back at lease expiry). */
  releaseAll(): void {
    for (const h of this.held) h.release();
    this.held.clear();
  }

  private hold(batch: Batch): HeldChunk {
    const h = new HeldChunk(batch, this.queue, this.jobType.leaseMs, this.o.log);
    this.held.add(h);
    return h;
  }

  private nextArgs(): NextChunk & { chunkId: string } {
    return { max: this.jobType.chunkSize, json: this.o.json, chunkId: newChunkId(), workerId: this.o.workerId };
  }
}
