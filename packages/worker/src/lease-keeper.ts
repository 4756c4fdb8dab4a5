/**
 * Keeps a running chunk's lease alive: extends it every third of `leaseMs`.
 * When an extend finds the chunk no longer held (reclaimed while this daemon
 * was frozen, say), it aborts the chunk: its results could not be acked.
 */
import { type Batch, chunkQueue, type Logger, type Releaser } from "@batchjob/core";

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly queue: Pick<Releaser, "extend">,
    private readonly batch: Batch,
    private readonly leaseMs: number,
    private readonly onLost: (reason: string) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    const every = Math.max(20, Math.floor(this.leaseMs / 3));
    this.timer = setInterval(async () => {
      if (this.busy) return;
      this.busy = true;
      try {
        const r = await this.queue.extend(chunkQueue(this.batch), this.batch.id, this.leaseMs);
        // an extend still in flight when the chunk was settled says nothing about it
        if (r.held === 0 && !this.stopped) {
          this.stop();
          this.onLost("lease lost: the chunk was reclaimed");
        }
      } catch (err) {
        this.log.warn({ err, chunkId: this.batch.id }, "lease extend failed; retrying");
      } finally {
        this.busy = false;
      }
    }, every);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
