/**
 * A drained worker's linger (#12): its queue is empty; it waits on the
 * type's wake list for up to `idleMs` (never past maxRunSeconds) before it
 * leaves, blocked in Redis (`waitForItems`, no polling):
 *   1. a wake takes a chunk (or a stop token) at once; a wake that finds
 *      nothing waits on for the time left,
 *   2. a woken worker that took a whole chunk, or a stop token, passes the
 *      wake on to the next lingering worker (a burst wakes as many as it needs),
 *   3. when the time is up, one last take finds retries that came due
 *      meanwhile; else the worker leaves `drained` (`limit` at maxRunSeconds),
 *   4. a stop ends the wait at once (`shutdown`); so does a dispatch that
 *      wants its slot (`yieldSlot`: it leaves `drained`).
 */
import type { Acquirer, ExitReason, JobTypeConfig, Logger } from "@batchjob/core";
import type { ChunkSupply } from "./chunk-supply.js";
import type { HeldChunk } from "./held-chunk.js";

/** Why a worker ends. */
export interface End {
  reason: ExitReason;
  error?: string;
}

export class Linger {
  /** Waiting now (its slot can be given to another dispatch). */
  active = false;
  private abort: AbortController | undefined;
  private stopped = false;
  /** The pool wants the slot: the worker leaves, drained. */
  private slotWanted = false;

  constructor(
    private readonly queue: Pick<Acquirer, "waitForItems" | "wakeNext">,
    private readonly jobType: JobTypeConfig,
    private readonly supply: ChunkSupply,
    private readonly log: Logger,
  ) {}

  /** The worker stops: a wait ends now, and none starts. */
  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }

  /** Ends a wait in progress so the worker leaves, drained; false when it is not waiting. */
  yieldSlot(): boolean {
    if (!this.active) return false;
    this.slotWanted = true;
    this.abort?.abort();
    return true;
  }

  /** Waits for the next chunk, or says why the worker ends; `limitAt`: when maxRunSeconds is up. */
  async wait(limitAt: number): Promise<{ next: HeldChunk } | { end: End }> {
    const { queue, jobType } = this;
    const until = Math.min(performance.now() + jobType.idleMs, limitAt);
    const ended = (): { end: End } => ({ end: { reason: performance.now() >= limitAt ? "limit" : "drained" } });
    const passWake = () =>
      void queue.wakeNext(jobType.name).catch((err) => this.log.warn({ err }, "could not pass a wake signal on"));
    for (;;) {
      if (this.stopped) return { end: { reason: "shutdown" } };
      const left = until - performance.now();
      if (left <= 0) return ended();
      this.abort = new AbortController();
      this.active = true;
      const woken = await queue.waitForItems(jobType.name, left, this.abort.signal).finally(() => {
        this.active = false;
        this.abort = undefined;
      });
      if (this.stopped) return { end: { reason: "shutdown" } };
      if (this.slotWanted || performance.now() >= limitAt) {
        // a wake taken on the way out is the next lingering worker's
        if (woken) passWake();
        return this.slotWanted ? { end: { reason: "drained" } } : ended();
      }
      const st = await this.supply.settle(null, null, true);
      if (st.r.stopped) {
        if (woken) passWake();
        return { end: { reason: "scaled-down" } };
      }
      if (st.next) {
        if (woken && st.next.batch.size >= jobType.chunkSize) passWake();
        return { next: st.next };
      }
      if (!woken) return ended();
    }
  }
}
