/**
 * A daemon's lifecycle, shared by the worker and the manager: release
 * functions collected while starting and run in reverse on stop (each
 * guarded, so one failure is logged and the rest still run), a `closed`
 * promise, and SIGTERM/SIGINT handling where the first signal stops and a
 * later one calls `onRepeat` (the worker releases its chunks at once).
 */
import type { Logger } from "../logger.js";

export class Lifecycle {
  private readonly releases: Array<[string, () => unknown]> = [];
  private stopping: Promise<void> | undefined;
  private resolveClosed: () => void = () => {};
  /** Resolves once every release function has run. */
  readonly closed = new Promise<void>((resolve) => {
    this.resolveClosed = resolve;
  });

  constructor(private readonly log: Logger) {}

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Adds a release function; the last added runs first. */
  add(name: string, release: () => unknown): void {
    this.releases.push([name, release]);
  }

  /** Runs the release functions in reverse, once; later calls get the same promise. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const [name, release] of [...this.releases].reverse()) {
        try {
          await release();
        } catch (err) {
          this.log.warn({ err, step: name }, "shutdown step failed");
        }
      }
      this.resolveClosed();
    })();
    return this.stopping;
  }

  /** SIGTERM/SIGINT: the first calls `onFirst` (which should stop), a later one `onRepeat`; removed last on stop. */
  handleSignals(onFirst: (sig: NodeJS.Signals) => void, onRepeat: (sig: NodeJS.Signals) => void = () => {}): void {
    const onSignal = (sig: NodeJS.Signals) => (this.isStopping ? onRepeat(sig) : onFirst(sig));
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    this.releases.unshift([
      "signals",
      () => {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      },
    ]);
  }
}
