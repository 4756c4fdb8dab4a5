/**
 * The pool keeps this daemon's workers: it starts one per dispatched
 * reservation when a slot is free (a lingering worker, waiting on an empty
 * queue, gives its slot up) and the type is served (else drops the
 * reservation, so the manager plans the start again), gives each its own
 * launcher, and on shutdown stops them all: gracefully within the grace
 * period, then by aborting their chunks. Nothing is leased before a worker
 * runs, so a refused or failed start holds no item. A worker that ended but
 * could not leave the worker list yet (Redis not answering) is kept among
 * the ids the heartbeat reports until it has (`Leaving`), its slot free.
 */
import type {
  Acquirer,
  BatchjobConfig,
  JobTypeConfig,
  Logger,
  Releaser,
  WorkerHistoryItem,
  WorkerHistoryStorage,
  WorkerListStorage,
} from "@batchjob/core";
import { createLauncher } from "./launchers/create.js";
import type { Leaving } from "./leaving.js";
import { Runner } from "./runner.js";

/** On shutdown, the longest wait for workers still leaving the list (one more try each) before they are given up. */
export const LEAVE_ON_STOP_MS = 2000;
/** On shutdown, the longest wait for aborted chunks to settle (Redis may not answer) before the daemon goes on. */
export const ABORTED_WAIT_MS = 10_000;

/** Whether `p` settled within `ms` (not finite: waits for it). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  if (!Number.isFinite(ms)) return p.then(() => true);
  let timer: NodeJS.Timeout | undefined;
  const over = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), over]);
  } finally {
    clearTimeout(timer);
  }
}

export interface PoolDeps {
  /** The roles a worker uses: it takes reservations and chunks, and releases them. */
  queue: Acquirer & Releaser;
  list: WorkerListStorage;
  history: WorkerHistoryStorage;
  config: BatchjobConfig;
  baseDir: string;
  host: { id: string; hostname: string };
  slots: number;
  /** Types served; null: every configured type. */
  jobTypes: string[] | null;
  log: Logger;
  /** Called when the set of running workers changes (for a prompt heartbeat). */
  onChange?: () => void;
}

export type StartResult = "started" | "refused" | "failed";

export class WorkerPool {
  private readonly runners = new Map<string, { runner: Runner; done: Promise<WorkerHistoryItem | undefined> }>();
  /** Workers that ended and are still leaving the list, by id. */
  private readonly leaving = new Map<string, Leaving>();
  private types: Map<string, JobTypeConfig>;
  private draining = false;
  /** Paused job types (#10): their dispatches are refused, their workers stop after their chunk. */
  private paused: ReadonlySet<string> = new Set();
  /** Drained: a worker that ends from now on and cannot leave the list is given up at once. */
  private closed = false;

  constructor(private readonly deps: PoolDeps) {
    this.types = new Map(deps.config.jobTypes.map((t) => [t.name, t]));
  }

  get isDraining(): boolean {
    return this.draining;
  }

  size(): number {
    return this.runners.size;
  }

  free(): number {
    return Math.max(0, this.deps.slots - this.runners.size);
  }

  runningByType(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { runner } of this.runners.values()) out[runner.jobType] = (out[runner.jobType] ?? 0) + 1;
    return out;
  }

  /** Workers lingering on an empty queue (#12): a dispatch that finds the host full takes one's slot. */
  lingering(): number {
    let n = 0;
    for (const { runner } of this.runners.values()) if (runner.isLingering) n++;
    return n;
  }

  /** Ids of the workers this host runs, and of those that ended and are still leaving the list. */
  workerIds(): string[] {
    return [...this.runners.keys(), ...this.leaving.keys()];
  }

  serves(jobType: string): boolean {
    return this.types.has(jobType) && (this.deps.jobTypes === null || this.deps.jobTypes.includes(jobType));
  }

  /**
   * Starts a worker under a dispatched reservation, or says why not (the
   * reservation is then dropped). With every slot taken, a lingering worker
   * (#12: waiting on an empty queue) gives its slot up and leaves, drained.
   */
  async start(jobType: string, reservationId: string): Promise<StartResult> {
    const { queue, log } = this.deps;
    const type = this.types.get(jobType);
    const paused = this.paused.has(jobType);
    if (type && this.serves(jobType) && !this.draining && !paused && this.free() === 0) await this.freeIdleSlot();
    if (!type || !this.serves(jobType) || this.draining || paused || this.free() === 0) {
      const why = !type
        ? "unknown job type"
        : !this.serves(jobType)
          ? "type not served"
          : this.draining
            ? "draining"
            : paused
              ? "paused"
              : "no free slot";
      await queue.claim(jobType, reservationId);
      log.info({ jobType, reservationId, why }, "dispatch refused");
      return "refused";
    }
    let launcher: Awaited<ReturnType<typeof createLauncher>>;
    try {
      launcher = await createLauncher(
        type.launcher,
        { jobType, baseDir: this.deps.baseDir, log },
        this.deps.config.launchers,
      );
    } catch (err) {
      // a bad launcher (missing module, bad export): nothing was acquired, the items wait in pending
      await queue.claim(jobType, reservationId);
      log.error({ err, jobType, reservationId }, "cannot create the launcher; worker not started");
      return "failed";
    }
    const runner = new Runner(
      { queue, list: this.deps.list, history: this.deps.history, launcher, jobType: type, host: this.deps.host, log },
      reservationId,
    );
    const done = runner
      .run()
      .catch((err) => {
        log.error({ err, workerId: runner.id }, "worker ended with an error");
        return undefined;
      })
      .then((item) => item ?? undefined)
      .finally(async () => {
        await launcher.close().catch((err) => log.warn({ err }, "launcher close failed"));
        this.runners.delete(runner.id);
        if (runner.leaving) this.keepLeaving(runner.id, runner.leaving);
        this.deps.onChange?.();
      });
    this.runners.set(runner.id, { runner, done });
    this.deps.onChange?.();
    return "started";
  }

  /** Asks one lingering worker to leave and waits until it has: its slot is free then. */
  private async freeIdleSlot(): Promise<void> {
    for (const r of this.runners.values()) {
      if (r.runner.yieldSlot()) {
        await r.done;
        return;
      }
    }
  }

  private keepLeaving(id: string, leaving: Leaving): void {
    if (this.closed) {
      leaving.abandon();
      return;
    }
    this.leaving.set(id, leaving);
    void leaving.done.then(() => {
      this.leaving.delete(id);
      this.deps.onChange?.();
    });
  }

  /**
   * A reloaded config (SIGHUP, #10): workers started from now on take their
   * type's settings and launcher from it; running workers keep theirs.
   */
  reload(config: BatchjobConfig): void {
    this.deps.config = config;
    this.types = new Map(config.jobTypes.map((t) => [t.name, t]));
  }

  /**
   * The paused types (read with each heartbeat, #10): their running workers
   * stop after their chunk (`scaled-down`; a prefetched chunk is handed
   * back, a lingering worker leaves), and their dispatches are refused.
   */
  pause(types: ReadonlySet<string>): void {
    this.paused = types;
    if (types.size === 0) return;
    const asked = new Map<string, number>();
    for (const { runner } of this.runners.values()) {
      if (!types.has(runner.jobType) || runner.isStopping) continue;
      runner.requestStop("scaled-down");
      asked.set(runner.jobType, (asked.get(runner.jobType) ?? 0) + 1);
    }
    for (const [jobType, workers] of asked)
      this.deps.log.info({ jobType, workers }, "type paused: its workers stop after their chunk");
  }

  /**
   * Takes no new workers from now on (dispatches are handed back), and asks
   * the running ones to stop after their chunk (a prefetched one is handed back).
   */
  startDraining(): void {
    this.draining = true;
    for (const { runner } of this.runners.values()) runner.requestStop();
  }

  /** Waits for every running worker to end. */
  async idle(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.done));
  }

  /**
   * Shutdown: no new workers; running ones finish their chunk within
   * `graceMs` (Infinity: however long it takes, a drain), then their chunks are aborted and unreported items returned.
   * An aborted chunk still settles; when Redis does not answer that within
   * ABORTED_WAIT_MS the daemon goes on (the chunk comes back at lease expiry).
   */
  async drain(graceMs: number): Promise<void> {
    this.startDraining();
    if (!(await within(this.idle(), graceMs))) {
      this.abortAll("shutdown: grace period over");
      if (!(await within(this.idle(), ABORTED_WAIT_MS)))
        this.deps.log.warn(
          { workers: [...this.runners.keys()] },
          "stopping while workers wait for Redis: their chunks come back when their leases expire",
        );
    }
    await this.stopLeaving(LEAVE_ON_STOP_MS);
    this.closed = true;
  }

  /**
   * Shutdown: the workers still leaving the list try once more at once, and
   * get up to `ms`; then they are given up (their entries are the reaper's,
   * which moves them once this host is gone), so a Redis that does not
   * answer cannot hold the shutdown.
   */
  private async stopLeaving(ms: number): Promise<void> {
    if (this.leaving.size === 0) return;
    const pending = [...this.leaving.values()];
    for (const l of pending) l.hurry();
    await within(Promise.all(pending.map((l) => l.done)), ms);
    for (const l of pending) l.abandon();
    if (this.leaving.size > 0)
      this.deps.log.warn({ workers: [...this.leaving.keys()] }, "stopping while workers could not leave the list");
  }

  /** Aborts every running chunk at once (second signal, or grace over). */
  abortAll(reason: string): void {
    this.draining = true;
    for (const { runner } of this.runners.values()) runner.abort(reason);
  }
}
