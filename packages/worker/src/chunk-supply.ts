/**
 * Where a worker's chunks come from and go back to: the chunks it holds
 * (the running one and, with prefetch, the next ones; each with its lease
 * kept: HeldChunk), the settles in flight that bring the next chunks while
 * the current one runs (#12; each brings one, in order; those sent in one
 * turn of the event loop go in one script call), and the hand-back
 * of a chunk that never ran (to the head of pending, no attempt charged). Calls to Redis are retried
 * through a short outage (`withRetry`), each try with the same chunk id, so
 * a retried call whose first reply was lost gets the chunk it already took.
 */
import {
  type Acquirer,
  type Batch,
  chunkQueue,
  type JobTypeConfig,
  type Logger,
  MAX_SETTLES_PER_CALL,
  type NextChunk,
  newChunkId,
  type PayloadText,
  type Releaser,
  type SettleOutcome,
  type SettleRequest,
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

/** A settle (or take) waiting for the end of the turn to go out with the others. */
interface Unsent {
  queue: string;
  batch: Batch | null;
  seq: number;
  request: SettleRequest;
  resolve(s: Settled): void;
  reject(err: unknown): void;
}

/** A settle (or, with no chunk, a take) that came back: its result and the next chunk it acquired, now held. */
export interface Settled {
  batch: Batch | null;
  /** It asked for a next chunk (a settle sent when the worker holds enough asks for none). */
  asked: boolean;
  r: SettleResult;
  next: HeldChunk | null;
}

export class ChunkSupply {
  /** The settles (or takes) in flight, oldest first; each brings one chunk, or none. */
  private readonly aheads: { settled: Promise<Settled>; unsent: boolean; asks: boolean }[] = [];
  /** Settles not sent yet (sendAhead waits for the end of the turn), in order. */
  private readonly unsent: Unsent[] = [];
  private flushSoon: NodeJS.Immediate | undefined;
  /** Most settles in one call (the runner sets it from how many chunks it holds ahead). */
  perCall: number;
  private readonly held = new Set<HeldChunk>();
  /** Numbers the requests for chunks in the order they are sent (a chunk's `seq`). */
  private sent = 0;

  constructor(
    private readonly queue: Acquirer & Releaser,
    private readonly jobType: JobTypeConfig,
    private readonly o: { json: PayloadText; workerId: string; log: Logger; perCall?: number },
  ) {
    this.perCall = Math.min(MAX_SETTLES_PER_CALL, Math.max(1, o.perCall ?? 1));
  }

  /** Settles or takes in flight. */
  get inFlight(): number {
    return this.aheads.length;
  }

  /** Settles or takes in flight that ask for a next chunk (chunks on their way). */
  get asking(): number {
    let n = 0;
    for (const a of this.aheads) if (a.asks) n++;
    return n;
  }

  /** The first chunk of a worker: a plain acquire (null: the queue is empty). */
  async first(): Promise<HeldChunk | null> {
    const next = this.nextArgs();
    const seq = ++this.sent;
    const batch = await withRetry("acquire", this.o.log, () => this.queue.acquire(this.jobType.name, next));
    return batch.size > 0 ? this.hold(batch, seq) : null;
  }

  /**
   * Settles `batch` (null: nothing to settle, a take) and, with `next`,
   * acquires the next chunk or takes a stop token; the chunk it brings is
   * held (its lease kept) from the moment it is here. Goes out now, with the
   * settles still waiting to go (in one call).
   */
  settle(batch: Batch | null, outcome: SettleOutcome | null, next: boolean): Promise<Settled> {
    const p = this.enqueue(batch, outcome, next);
    this.flush();
    return p;
  }

  /**
   * Sends a settle (or take) ahead: it runs while the current chunk does.
   * It waits for the end of this turn of the event loop (at most
   * MAX_SETTLES_PER_CALL of them), so the settles of tiny chunks that ended
   * in one turn go in one call, one round trip and one write (#12).
   */
  sendAhead(batch: Batch | null, outcome: SettleOutcome | null, next: boolean): void {
    const p = this.enqueue(batch, outcome, next);
    // awaited in turn (arrived, settleAhead); until then a failure must not count as unhandled
    p.catch(() => {});
    this.aheads.push({ settled: p, unsent: true, asks: next });
    if (this.unsent.length >= this.perCall) this.flush();
    else this.flushSoon ??= setImmediate(() => this.flush());
  }

  /** What the oldest settle in flight brought (undefined: none was in flight). */
  async arrived(): Promise<Settled | undefined> {
    const head = this.aheads.shift();
    if (head?.unsent) this.flush();
    return head?.settled;
  }

  private enqueue(batch: Batch | null, outcome: SettleOutcome | null, next: boolean): Promise<Settled> {
    const args = next ? this.nextArgs() : undefined;
    const chunkId = batch?.id ?? args?.chunkId ?? newChunkId();
    const seq = ++this.sent;
    // a chunk of a sharded type is settled in its shard (the next one comes from there too, or from the others)
    const queue = batch ? chunkQueue(batch) : this.jobType.name;
    return new Promise<Settled>((resolve, reject) => {
      this.unsent.push({
        queue,
        batch,
        seq,
        request: { chunkId, outcome: outcome ?? {}, ...(args ? { next: args } : {}) },
        resolve,
        reject,
      });
    });
  }

  /**
   * Sends the settles waiting to go: one call per run of them on the same
   * queue, in order. Each call is retried as a whole, every try with the
   * same chunk ids (a retried settle finds its chunk settled and gets the
   * next chunk it already took).
   */
  private flush(): void {
    clearImmediate(this.flushSoon);
    this.flushSoon = undefined;
    for (const a of this.aheads) a.unsent = false;
    while (this.unsent.length > 0) {
      const queue = (this.unsent[0] as Unsent).queue;
      let n = 1;
      while (n < this.unsent.length && n < this.perCall && (this.unsent[n] as Unsent).queue === queue) n++;
      const group = this.unsent.splice(0, n);
      const what = group.some((u) => u.batch) ? "settle" : "acquire";
      withRetry(what, this.o.log, () =>
        this.queue.settleMany(
          queue,
          group.map((u) => u.request),
        ),
      ).then(
        (results) => {
          for (const [i, u] of group.entries()) {
            const r = results[i] as SettleResult;
            const asked = u.request.next !== undefined;
            u.resolve({ batch: u.batch, asked, r, next: r.next ? this.hold(r.next, u.seq) : null });
          }
        },
        (err: unknown) => {
          for (const u of group) u.reject(err);
        },
      );
    }
  }

  /**
   * Waits for every settle in flight and hands back the chunks they brought
   * with `also` (chunks held and not run): the worker goes no further.
   * Returns what came back, for the counts; the first failure is thrown
   * once all were waited for and handed back.
   */
  async settleAhead(also: (HeldChunk | null)[] = []): Promise<Settled[]> {
    const out: Settled[] = [];
    let failed: { err: unknown } | undefined;
    this.flush();
    while (this.aheads.length > 0) {
      try {
        out.push((await this.aheads.shift()?.settled) as Settled);
      } catch (err) {
        failed ??= { err };
      }
    }
    try {
      await this.handBack([...also, ...out.map((st) => st.next)]);
    } catch (err) {
      failed ??= { err };
    }
    if (failed) throw failed.err;
    return out;
  }

  /**
   * Hands back chunks that never ran: to the head of pending (or of the
   * groups), no attempt, no return. The last acquired goes back first, so
   * the items stand in pending in the order they were taken.
   */
  async handBack(chunks: (HeldChunk | null)[]): Promise<void> {
    const held = chunks.filter((h): h is HeldChunk => h !== null).sort((a, b) => b.seq - a.seq);
    for (const h of held) {
      this.unhold(h);
      if (h.lost) continue; // reclaimed already: not ours to hand back
      await this.queue.returnChunk(chunkQueue(h.batch), h.id, h.batch.splitDepth);
    }
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

  private hold(batch: Batch, seq: number): HeldChunk {
    const h = new HeldChunk(batch, seq, this.queue, this.jobType.leaseMs, this.o.log);
    this.held.add(h);
    return h;
  }

  private nextArgs(): NextChunk & { chunkId: string } {
    return { max: this.jobType.chunkSize, json: this.o.json, chunkId: newChunkId(), workerId: this.o.workerId };
  }
}
