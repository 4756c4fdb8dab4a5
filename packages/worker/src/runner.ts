/**
 * One worker: started under a reservation the manager dispatched, it lists
 * itself, takes the reservation and acquires its first chunk itself (nothing
 * is leased before it runs), then runs chunks of one job type through its
 * launcher until the queue is empty, a stop token says scale down, a run
 * limit is hit, the daemon shuts down, or the job crashes. Per chunk:
 *   1. note the chunk in the worker list (not awaited: no extra round trip),
 *   2. run it through the launcher while a LeaseKeeper extends its lease,
 *   3. settle each item by whose fault its outcome is (outcome.ts) and, in
 *      the same round trip, acquire the next chunk (or take a stop token),
 * then leave the list and write the history entry, whatever ended it: when
 * Redis does not answer, that is retried in the background with backoff
 * (`Leaving`) until it does, so no entry outlives its worker. Every item it
 * holds ends acked, charged (retry or dead), given back, requeued, split, or
 * left to lease expiry. An error text it stores (a job's, a launcher's) shows
 * no secret of the launcher and no URL password.
 */
import {
  type Acquirer,
  type Batch,
  type ExitReason,
  historyItemOf,
  type JobTypeConfig,
  type Logger,
  launcherSecretValues,
  newChunkId,
  newId,
  type Releaser,
  redactUrlsInText,
  scrubSecretValues,
  type WorkerHistoryItem,
  type WorkerHistoryStorage,
  type WorkerListItem,
  type WorkerListStorage,
} from "@batchjob/core";
import type { ChunkReport, FatalEnd, Launcher } from "./launchers/types.js";
import { LeaseKeeper } from "./lease-keeper.js";
import { Leaving } from "./leaving.js";
import { type Settlement, settlementOf } from "./outcome.js";

export interface RunnerDeps {
  queue: Acquirer & Releaser;
  list: WorkerListStorage;
  history: WorkerHistoryStorage;
  launcher: Launcher;
  jobType: JobTypeConfig;
  host: { id: string; hostname: string };
  log: Logger;
}

const SETTLE_ATTEMPTS = 5;

/** Retries `fn` through a short Redis outage (100 ms, doubling); past that the error is thrown. */
async function withRetry<T>(what: string, log: Logger, fn: () => Promise<T>): Promise<T> {
  let delay = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= SETTLE_ATTEMPTS) throw err;
      log.warn({ err, attempt }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
}

export class Runner {
  readonly id = newId();
  /** Set when the worker ended but is still leaving the list (its first try did not succeed in time). */
  leaving: Leaving | undefined;
  /** The last update of the list entry, not awaited by the chunk; the worker leaves only after it. */
  private entryWritten: Promise<void> = Promise.resolve();
  private stopRequested = false;
  private chunkAbort: AbortController | undefined;
  private abortReason: string | undefined;
  private readonly entry: WorkerListItem;
  private readonly started = performance.now();
  private peakMemory: number | null = null;
  /** The launcher's secret values (an env token, a header): no error text it stores shows them. */
  private readonly secrets: string[];

  constructor(
    private readonly deps: RunnerDeps,
    readonly reservationId: string,
  ) {
    this.secrets = launcherSecretValues(deps.jobType.launcher);
    const now = new Date().toISOString();
    this.entry = {
      id: this.id,
      jobType: deps.jobType.name,
      hostId: deps.host.id,
      hostname: deps.host.hostname,
      pid: process.pid,
      launcher: deps.launcher.kind,
      reservationId,
      firstChunkId: null,
      currentChunkId: null,
      currentChunkSize: 0,
      createdAt: now,
      updatedAt: now,
      chunks: 0,
      itemsDone: 0,
      itemsFailed: 0,
      itemsRetried: 0,
    };
  }

  get jobType(): string {
    return this.deps.jobType.name;
  }

  /** Graceful: finish the current chunk, acquire no next. */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Forced: abort the running chunk now; its unreported items go back to pending. */
  abort(reason: string): void {
    this.stopRequested = true;
    this.abortReason = reason;
    this.chunkAbort?.abort(new Error(reason));
  }

  /** Runs until the worker ends; null when its reservation was no longer waiting (nothing ran, no history). */
  async run(): Promise<WorkerHistoryItem | null> {
    const { list, log, queue, jobType } = this.deps;
    let reason: ExitReason = "drained";
    let error: string | undefined;
    let batch: Batch | null;
    try {
      // listed before the reservation is taken: the manager counts it in one place or the other, never in none
      await list.put(this.entry);
      if (!(await queue.claim(jobType.name, this.reservationId))) {
        await list.remove(this.id);
        log.info(
          { workerId: this.id, reservationId: this.reservationId },
          "reservation no longer waiting; not started",
        );
        return null;
      }
      if (this.stopRequested) return this.finish("shutdown", undefined);
      const json = this.deps.launcher.payloads === "json";
      // one chunk id for every try: a retried acquire whose reply was lost gets the chunk it already took
      const chunkId = newChunkId();
      batch = await withRetry("acquire", log, () =>
        queue.acquire(jobType.name, { max: jobType.chunkSize, json, chunkId }),
      );
      if (batch.size === 0) batch = null;
      else this.entry.firstChunkId = batch.id;
      while (batch) {
        const step = await this.runChunk(batch);
        if (step.end) {
          reason = step.end.reason;
          error = step.end.error;
          break;
        }
        batch = step.next;
      }
    } catch (err) {
      reason = "crashed";
      error = err instanceof Error ? err.message : String(err);
      log.error({ err, workerId: this.id }, "worker failed");
    }
    return this.finish(reason, error);
  }

  private limitReached(chunksDone: number): boolean {
    const l = this.deps.jobType.limits;
    if (l.maxChunks !== undefined && chunksDone >= l.maxChunks) return true;
    if (l.maxRunSeconds !== undefined && performance.now() - this.started >= l.maxRunSeconds * 1000) return true;
    return false;
  }

  private async runChunk(batch: Batch): Promise<{ next: Batch | null; end?: { reason: ExitReason; error?: string } }> {
    const { queue, launcher, jobType, log } = this.deps;
    const e = this.entry;
    if (this.stopRequested) {
      // shutting down before the chunk started: hand it back untouched
      await queue.returnChunk(batch.jobType, batch.id, batch.splitDepth);
      return { next: null, end: { reason: "shutdown" } };
    }
    e.currentChunkId = batch.id;
    e.currentChunkSize = batch.size;
    e.updatedAt = new Date().toISOString();
    this.noteEntry({ ...e });

    const { report, leaseLost } = await this.launch(batch);
    if (report.peakMemoryBytes !== null) this.peakMemory = Math.max(this.peakMemory ?? 0, report.peakMemoryBytes);

    const shutdownAbort = this.abortReason !== undefined && !leaseLost;
    const s = this.withoutSecrets(
      settlementOf(batch, report, {
        giveBackUnreported: shutdownAbort,
        giveBackReason: `host ${this.deps.host.id} shutting down: ${this.abortReason}`,
      }),
    );
    const fatal = report.fatal;
    const limitHit = this.limitReached(e.chunks + 1);
    const wantNext = !fatal && !this.stopRequested && !leaseLost && !limitHit;
    // the next chunk id is fixed before the first try, so a retried settle gets the same chunk
    const next = wantNext
      ? { max: jobType.chunkSize, json: launcher.payloads === "json", chunkId: newChunkId(), workerId: this.id }
      : undefined;
    const r = await withRetry("settle", log, () => queue.settle(batch.jobType, batch.id, s, next));
    e.chunks++;
    e.itemsDone += r.acked;
    e.itemsFailed += r.dead;
    e.itemsRetried += r.retried;
    e.currentChunkId = null;
    e.currentChunkSize = 0;
    if (r.notHeld.length > 0)
      log.warn({ chunkId: batch.id, notHeld: r.notHeld.length }, "items were reclaimed before they could be settled");

    const end = this.endOf(fatal, leaseLost, r.stopped, limitHit, batch.size > 0 && r.notHeld.length === batch.size);
    if (!end) return r.next ? { next: r.next } : { next: null, end: { reason: "drained" } };
    // a stop or a lost lease can arrive while the settle that acquired the next chunk is in flight
    if (r.next) await queue.returnChunk(r.next.jobType, r.next.id, r.next.splitDepth);
    return { next: null, end };
  }

  /**
   * Updates the list entry without holding the chunk up. Updates go one
   * after the other, and leaving waits for the last: an update retried
   * through a failover can otherwise land after the removal and bring the
   * entry back (a ghost).
   */
  private noteEntry(entry: WorkerListItem): void {
    const { list, log } = this.deps;
    this.entryWritten = this.entryWritten.then(() =>
      list.put(entry).catch((err) => log.warn({ err, workerId: this.id }, "worker list update failed")),
    );
  }

  /** Runs one chunk through the launcher while a LeaseKeeper extends its lease; a lost lease aborts it. */
  private async launch(batch: Batch): Promise<{ report: ChunkReport; leaseLost: boolean }> {
    const { queue, launcher, jobType, log } = this.deps;
    this.chunkAbort = new AbortController();
    if (this.abortReason) this.chunkAbort.abort(new Error(this.abortReason));
    let leaseLost = false;
    const onLost = (why: string) => {
      leaseLost = true;
      log.warn({ chunkId: batch.id, workerId: this.id }, why);
      this.chunkAbort?.abort(new Error(why));
    };
    const keeper = new LeaseKeeper(queue, batch, jobType.leaseMs, onLost, log);
    keeper.start();
    try {
      return { report: await launcher.run(batch, { signal: this.chunkAbort.signal, log }), leaseLost };
    } finally {
      keeper.stop();
    }
  }

  /** Why the worker ends after this chunk, if it does. */
  private endOf(
    fatal: FatalEnd | undefined,
    leaseLost: boolean,
    stopped: boolean,
    limitHit: boolean,
    allReclaimed: boolean,
  ): { reason: ExitReason; error?: string } | undefined {
    if (fatal) return { reason: fatal.reason, error: fatal.error };
    if (leaseLost) return { reason: "crashed", error: "lease lost: the chunk was reclaimed" };
    // every item was reclaimed: the manager took this worker for lost; it must not go on
    if (allReclaimed) return { reason: "crashed", error: "the chunk was reclaimed before it was settled" };
    if (this.stopRequested) return { reason: "shutdown" };
    if (stopped) return { reason: "scaled-down" };
    if (limitHit) return { reason: "limit" };
    return undefined;
  }

  /** A text for Redis: the launcher's secret values "[redacted]", URL passwords "***". */
  private hide(text: string): string {
    return scrubSecretValues(redactUrlsInText(text), this.secrets);
  }

  private withoutSecrets(s: Settlement): Settlement {
    const fail = s.fail.map((f) => ({ ...f, error: this.hide(f.error) }));
    return s.giveBack
      ? { ...s, fail, giveBack: { ...s.giveBack, reason: this.hide(s.giveBack.reason) } }
      : { ...s, fail };
  }

  private async finish(reason: ExitReason, error: string | undefined): Promise<WorkerHistoryItem> {
    const { list, history } = this.deps;
    const item = historyItemOf(this.entry, {
      exitReason: reason,
      durationMs: Math.round(performance.now() - this.started),
      peakMemoryBytes: this.peakMemory,
      error: error === undefined ? undefined : this.hide(error),
    });
    const log = this.deps.log.child({ workerId: this.id });
    // only the one who removes the entry writes the history (the reaper may have moved a lost worker)
    let removed = false;
    const leaving = new Leaving(async () => {
      await this.entryWritten;
      removed ||= await list.remove(this.id);
      if (removed) await history.add(item);
    }, log);
    // as a rule Redis answers at once; else the worker ends now and leaves in the background
    const left = await leaving.firstTry;
    if (!left) {
      log.warn("could not leave the worker list yet; retrying in the background");
      this.leaving = leaving;
    }
    log.info(
      { jobType: item.jobType, reason, chunks: item.chunks, done: item.itemsDone, failed: item.itemsFailed, left },
      "worker finished",
    );
    return item;
  }
}
