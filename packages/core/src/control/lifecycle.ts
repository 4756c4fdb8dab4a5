/**
 * A daemon's lifecycle, shared by the worker and the manager: release
 * functions collected while starting and run in reverse on stop (each
 * guarded, so one failure is logged and the rest still run), a `closed`
 * promise, SIGTERM/SIGINT handling where the first signal stops and a
 * later one calls `onRepeat` (the worker releases its chunks at once),
 * SIGHUP reloading the config, and,
 * for a daemon that owns its process, its faults logged as JSON.
 */
import { format } from "node:util";
import type { Logger } from "../logger.js";

/** After an uncaught exception, the longest wait for the daemon to stop before the process exits. */
export const FATAL_STOP_MS = 10_000;

/**
 * The longest a release step may take before the stop goes on without it
 * (logged): a close that waits on a connection that will not answer must not
 * keep a daemon from exiting. Steps added `unbounded` (the workers' drain,
 * bounded by its own grace) wait as long as they take.
 */
export const STEP_LIMIT_MS = 15_000;

type Release = [name: string, release: () => unknown, unbounded: boolean];

export class Lifecycle {
  private readonly releases: Release[] = [];
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

  /**
   * Adds a release function; the last added runs first. One still running
   * after STEP_LIMIT_MS is left behind (logged), unless `unbounded`.
   */
  add(name: string, release: () => unknown, options: { unbounded?: boolean } = {}): void {
    this.releases.push([name, release, options.unbounded === true]);
  }

  /** Adds a release function that runs after all the others (a server answering probes while the rest stops). */
  addFinal(name: string, release: () => unknown): void {
    this.releases.unshift([name, release, false]);
  }

  /** Runs the release functions in reverse, once; later calls get the same promise. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const [name, release, unbounded] of [...this.releases].reverse()) {
        try {
          await (unbounded ? release() : this.limited(name, release));
        } catch (err) {
          this.log.warn({ err, step: name }, "shutdown step failed");
        }
      }
      this.resolveClosed();
    })();
    return this.stopping;
  }

  /** Runs `release`, or gives up waiting for it after STEP_LIMIT_MS (logged). */
  private async limited(name: string, release: () => unknown): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), STEP_LIMIT_MS);
      timer.unref();
    });
    try {
      const r = await Promise.race([Promise.resolve(release()), late]);
      if (r === "late")
        this.log.warn({ step: name, ms: STEP_LIMIT_MS }, "shutdown step did not finish in time; going on");
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM/SIGINT: the first calls `onFirst` (which should stop), a later one `onRepeat`; removed last on stop. */
  handleSignals(onFirst: (sig: NodeJS.Signals) => void, onRepeat: (sig: NodeJS.Signals) => void = () => {}): void {
    const onSignal = (sig: NodeJS.Signals) => (this.isStopping ? onRepeat(sig) : onFirst(sig));
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    this.addFinal("signals", () => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    });
  }

  /**
   * SIGHUP: runs `reload` (the config file read again, #10), one at a time:
   * a signal during a reload runs it once more after; none once stopping.
   * Removed on stop.
   */
  handleReload(reload: () => Promise<unknown>): void {
    let running: Promise<void> | undefined;
    let again = false;
    const onHup = () => {
      if (this.isStopping) return;
      if (running) {
        again = true;
        return;
      }
      running = (async () => {
        do {
          again = false;
          try {
            await reload();
          } catch (err) {
            this.log.error({ err }, "config reload failed");
          }
        } while (again && !this.isStopping);
      })().finally(() => {
        running = undefined;
      });
    };
    process.on("SIGHUP", onHup);
    this.addFinal("reload signal", () => process.off("SIGHUP", onHup));
  }

  /**
   * For a daemon that owns its process (the CLI's): what Node or a library
   * would print raw is logged as JSON instead. An unhandled rejection is
   * logged and the daemon goes on; a process warning is logged (Node's own
   * printer is removed until stop); what goes to `console` (a library's
   * notice, ioredis's "Unhandled error event", an inline job's print) is
   * logged at the matching level; an uncaught exception is logged as fatal,
   * then the process exits 1 once `stop` (the daemon's quickest stop)
   * settled, or after `FATAL_STOP_MS` at the latest. Removed on stop.
   */
  handleProcessFaults(stop: () => Promise<unknown> = () => this.stop()): void {
    const onRejection = (reason: unknown) => this.log.error({ err: reason }, "unhandled promise rejection");
    const onException = (err: unknown) => {
      this.log.fatal({ err }, "uncaught exception: stopping");
      process.exitCode = 1;
      setTimeout(() => process.exit(1), FATAL_STOP_MS).unref();
      void stop()
        .catch(() => undefined)
        .finally(() => process.exit(1));
    };
    const onWarning = (w: Error) => this.log.warn({ warning: { name: w.name, message: w.message } }, "process warning");
    const printers = process.listeners("warning");
    for (const p of printers) process.off("warning", p);
    process.on("unhandledRejection", onRejection);
    process.on("uncaughtException", onException);
    process.on("warning", onWarning);
    const restoreConsole = this.consoleToLog();
    this.addFinal("process faults", () => {
      restoreConsole();
      process.off("unhandledRejection", onRejection);
      process.off("uncaughtException", onException);
      process.off("warning", onWarning);
      for (const p of printers) process.on("warning", p);
    });
  }

  /** Sends `console` output to the log, one record per call; returns the undo. */
  private consoleToLog(): () => void {
    const methods = ["log", "info", "debug", "warn", "error"] as const;
    const saved = methods.map((m) => [m, console[m]] as const);
    const level = { log: "info", info: "info", debug: "debug", warn: "warn", error: "error" } as const;
    for (const m of methods) {
      console[m] = (...args: unknown[]) => this.log[level[m]]({ source: "console" }, format(...args));
    }
    return () => {
      for (const [m, f] of saved) console[m] = f;
    };
  }
}
