/**
 * Watches the control plane for this host (#10), every heartbeat interval in
 * one pipelined round trip: whether this host was asked to drain (`batchjob
 * drain`), and which job types are paused (`batchjob pause`).
 *   1. a drain request runs `onDrain` once (the daemon stops taking work,
 *      lets its workers finish their chunks and exits),
 *   2. the paused types go to `onPaused` each time: the pool stops their
 *      workers after the running chunk (a prefetched one is handed back, not
 *      run) and refuses their dispatches; the manager's stop tokens are the
 *      backstop.
 * A failed read is logged and tried again at the next interval; it never
 * stops the daemon.
 */
import type { DrainRequests, Keys, Logger, RedisClient } from "@batchjob/core";

export class ControlWatch {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> = Promise.resolve();
  private drained = false;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    private readonly drains: DrainRequests,
    private readonly o: {
      hostId: string;
      intervalMs: number;
      onDrain: () => void;
      onPaused: (types: ReadonlySet<string>) => void;
      log: Logger;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.checking = this.check();
    }, this.o.intervalMs);
  }

  /** One look now. */
  async check(): Promise<void> {
    let asked: boolean;
    let paused: string[];
    try {
      [asked, paused] = await Promise.all([
        this.drains.isRequested(this.o.hostId),
        this.client.smembers(this.keys.paused),
      ]);
    } catch (err) {
      this.o.log.warn({ err }, "could not read the drain requests and paused types; trying again at the next beat");
      return;
    }
    this.o.onPaused(new Set(paused));
    if (!asked || this.drained) return;
    this.drained = true;
    this.o.onDrain();
  }

  /** Stops watching and waits for a look in progress. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }
}
