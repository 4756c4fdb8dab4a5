/**
 * A worker leaving the worker list, whatever ended it: `step` removes its
 * entry and writes its history entry. When Redis does not answer, the
 * worker ends anyway (its slot is free) and the step is retried in the
 * background with backoff until Redis answers, so no entry outlives its
 * worker and the manager never counts a worker that is gone:
 *   1. the first try, given up to LEAVE_FIRST_TRY_MS (`firstTry`),
 *   2. on failure, again after 100 ms, doubling up to LEAVE_MAX_DELAY_MS,
 *      one try at a time (a try Redis holds is waited for, never doubled),
 *   3. until it succeeds (`done` true) or is abandoned at shutdown (`done`
 *      false): the entry is then the reaper's, which moves it once the host
 *      is gone.
 */
import type { Logger } from "@batchjob/core";

/** How long a worker's end waits for the first try before it leaves in the background. */
export const LEAVE_FIRST_TRY_MS = 1000;
const LEAVE_FIRST_DELAY_MS = 100;
/** The longest wait between two tries. */
export const LEAVE_MAX_DELAY_MS = 2000;

export class Leaving {
  /** Resolves true once the worker left the list, false when abandoned. */
  readonly done: Promise<boolean>;
  /** Resolves true when the first try succeeded within LEAVE_FIRST_TRY_MS, else false (it goes on). */
  readonly firstTry: Promise<boolean>;
  private wake: (() => void) | undefined;
  private abandoned = false;
  private firstSettled: (ok: boolean) => void = () => {};

  constructor(
    private readonly step: () => Promise<void>,
    private readonly log: Logger,
  ) {
    this.firstTry = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), LEAVE_FIRST_TRY_MS);
      this.firstSettled = (ok) => {
        clearTimeout(timer);
        resolve(ok);
      };
    });
    this.done = this.loop();
  }

  private async loop(): Promise<boolean> {
    let delay = LEAVE_FIRST_DELAY_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.step();
        this.firstSettled(true);
        if (attempt > 1) this.log.info({ attempt }, "worker left the list");
        return true;
      } catch (err) {
        this.firstSettled(false);
        if (this.abandoned) return false;
        // the first failure and then one line per ten: an outage of minutes stays readable
        if (attempt % 10 === 1) this.log.warn({ err, attempt }, "cannot leave the worker list; retrying");
      }
      await this.sleep(delay);
      if (this.abandoned) return false;
      delay = Math.min(delay * 2, LEAVE_MAX_DELAY_MS);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => {
      this.wake = undefined;
    });
  }

  /** Tries again now instead of after the backoff (a try in flight goes on). */
  hurry(): void {
    this.wake?.();
  }

  /** Stops retrying; a try in flight is let be (its outcome is ignored). */
  abandon(): void {
    this.abandoned = true;
    this.wake?.();
  }
}
