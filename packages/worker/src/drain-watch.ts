/**
 * Watches for a drain request of this host (`batchjob drain`, #10): every
 * heartbeat interval, one SISMEMBER of the control plane's drain set. When
 * this host is in it, `onDrain` runs once (the daemon stops taking work,
 * lets its workers finish their chunks and exits). A failed read is logged
 * and tried again at the next interval; it never stops the daemon.
 */
import type { DrainRequests, Logger } from "@batchjob/core";

export class DrainWatch {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<boolean> = Promise.resolve(false);
  private fired = false;

  constructor(
    private readonly requests: DrainRequests,
    private readonly hostId: string,
    private readonly intervalMs: number,
    private readonly onDrain: () => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.checking = this.check();
    }, this.intervalMs);
  }

  /** One look now; true when this host was asked to drain. */
  async check(): Promise<boolean> {
    if (this.fired) return true;
    try {
      if (!(await this.requests.isRequested(this.hostId))) return false;
    } catch (err) {
      this.log.warn({ err }, "could not read the drain requests; trying again at the next beat");
      return false;
    }
    if (this.fired) return true;
    this.fired = true;
    this.stop();
    this.onDrain();
    return true;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Stops watching and waits for a look in progress. */
  async close(): Promise<void> {
    this.stop();
    await this.checking;
  }
}
