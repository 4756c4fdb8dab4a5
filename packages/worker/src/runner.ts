/**
 * One worker: started under a reservation the manager dispatched, it lists
 * itself, takes the reservation and acquires its first chunk itself (nothing
 * is leased before it runs), then runs chunks of one job type through its
 * launcher until the queue stays empty for `idleMs`, a stop token says scale
 * down, a run limit is hit, the daemon shuts down, or the job crashes. Per
 * chunk:
 *   1. note the chunk in the worker list (not awaited: no extra round trip;
 *      at most every ENTRY_EVERY_MS),
 *   2. with prefetch (#12), have the next chunk on its way while this one
 *      runs: the settle of the previous chunk acquires it, or a take does,
 *   3. run it through the launcher while its lease is extended (HeldChunk),
 *   4. settle each item by whose fault its outcome is (outcome.ts): with a
 *      prefetched next chunk, that one starts at once and this settle goes
 *      out meanwhile, acquiring the one after (no round trip between two
 *      chunks; the settles of chunks that ended in one turn of the event
 *      loop go in one call); else the settle acquires the next in the same
 *      round trip (or takes a stop token),
 *   5. with no next chunk, linger (#12, linger.ts): block on the type's wake
 *      list for up to `idleMs`; a wake takes a chunk (or a stop token) at once,
 * then hand back what it holds and has not run (uncharged), leave the list
 * and write the history entry, whatever ended it: when Redis does not
 * answer, that is retried in the background with backoff (`Leaving`) until
 * it does, so no entry outlives its worker. Every item it holds ends acked,
 * charged (retry or dead), given back, requeued, split, or left to lease
 * expiry. An error text it stores (a job's, a launcher's) shows no secret of
 * the launcher and no URL password.
 */
import {
  type Acquirer,
  type ExitReason,
  historyItemOf,
  type JobTypeConfig,
  type Logger,
  launcherSecretValues,
  newId,
  type PayloadText,
  prefetchDepths,
  type Releaser,
  redactUrlsInText,
  scrubSecretValues,
  type WorkerHistoryItem,
  type WorkerHistoryStorage,
  type WorkerListItem,
  type WorkerListStorage,
} from "@batchjob/core";
import { ChunkSupply, type Settled } from "./chunk-supply.js";
import type { HeldChunk } from "./held-chunk.js";
import type { ChunkReport, FatalEnd, Launcher } from "./launchers/types.js";
import { Leaving } from "./leaving.js";
import { type End, Linger } from "./linger.js";
import { type Settlement, settlementOf } from "./outcome.js";

/** How a launcher's chunks are read (AcquireOptions.json): parsed, JSON text checked to parse, or unchecked text. */
function acquiredAs(form: Launcher["payloads"]): PayloadText {
  return form === "parsed" ? false : form === "json" ? true : "unchecked";
}

export interface RunnerDeps {
  queue: Acquirer & Releaser;
  list: WorkerListStorage;
  history: WorkerHistoryStorage;
  launcher: Launcher;
  jobType: JobTypeConfig;
  host: { id: string; hostname: string };
  log: Logger;
}

/**
 * Chunks count as quick while their smoothed run time (a moving average, a
 * quarter weight for the newest: one slow chunk among quick ones, a GC
 * pause, does not count) stays under this many ms. With `prefetch: auto`, a
 * worker of tiny chunks holds up to PREFETCH_QUICK_MAX ahead while they run
 * quick (a round trip would otherwise be most of a chunk's time), and the
 * base depth once they are slower (a slow chunk's items should not wait
 * behind it when another worker could run them).
 */
const QUICK_CHUNK_MS = 5;
const RUN_TIME_WEIGHT = 0.25;

/**
 * Settles in one call for a depth: at most half of it, so one call is in
 * flight while the chunks another brought run (all in one call would wait
 * a whole round trip between each lot); a quarter of a deep one.
 */
function settlesPerCall(depth: number): number {
  return Math.max(1, Math.min(Math.floor(depth / 2), Math.max(2, Math.ceil(depth / 4))));
}

/** The list entry is written at most this often (a worker of tiny chunks would write one per chunk). */
const ENTRY_EVERY_MS = 200;

export class Runner {
  readonly id = newId();
  /** Set when the worker ended but is still leaving the list (its first try did not succeed in time). */
  leaving: Leaving | undefined;
  /** The last update of the list entry, not awaited by the chunk; the worker leaves only after it. */
  private entryWritten: Promise<void> = Promise.resolve();
  private stopRequested = false;
  /** Why a requested stop ends the worker: the daemon shuts down, or its type was paused (`scaled-down`). */
  private stopReason: ExitReason = "shutdown";
  private chunkAbort: AbortController | undefined;
  private abortReason: string | undefined;
  private readonly entry: WorkerListItem;
  private readonly started = performance.now();
  private peakMemory: number | null = null;
  /** The launcher's secret values (an env token, a header): no error text it stores shows them. */
  private readonly secrets: string[];
  /** Chunks held ahead of the running one (0: no prefetch); `auto` goes deeper while chunks run quick. */
  private readonly prefetch: { base: number; quick: number };
  /** The chunks' run time (ms), smoothed; undefined before the first. */
  private runTime: number | undefined;
  private readonly supply: ChunkSupply;
  private readonly linger: Linger;
  private chunksRun = 0;
  /** When the entry was last written (performance.now()), and the timer of a write put off. */
  private entryNotedAt = Number.NEGATIVE_INFINITY;
  private entryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: RunnerDeps,
    readonly reservationId: string,
  ) {
    this.secrets = launcherSecretValues(deps.jobType.launcher);
    this.prefetch = prefetchDepths(deps.jobType);
    this.supply = new ChunkSupply(deps.queue, deps.jobType, {
      json: acquiredAs(deps.launcher.payloads),
      workerId: this.id,
      log: deps.log,
      perCall: settlesPerCall(this.prefetch.base),
    });
    this.linger = new Linger(deps.queue, deps.jobType, this.supply, deps.log);
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

  /** Graceful: finish the current chunk, acquire no next; a lingering worker leaves at once. */
  requestStop(reason: ExitReason = "shutdown"): void {
    if (!this.stopRequested || reason === "shutdown") this.stopReason = reason;
    this.stopRequested = true;
    this.linger.stop();
  }

  /** Whether it was asked to stop (it ends after its chunk). */
  get isStopping(): boolean {
    return this.stopRequested;
  }

  /** Whether the worker waits for new items on an empty queue (holds no chunk). */
  get isLingering(): boolean {
    return this.linger.active;
  }

  /**
   * Its slot is wanted by another dispatch: a lingering worker ends its wait
   * now and leaves, drained (true); a worker that is not lingering goes on (false).
   */
  yieldSlot(): boolean {
    return this.linger.yieldSlot();
  }

  /** Forced: abort the running chunk now; its unreported items go back to pending. */
  abort(reason: string): void {
    this.abortReason = reason;
    this.requestStop();
    this.chunkAbort?.abort(new Error(reason));
  }

  /** Runs until the worker ends; null when its reservation was no longer waiting (nothing ran, no history). */
  async run(): Promise<WorkerHistoryItem | null> {
    const { list, log, queue, jobType } = this.deps;
    let end: End | undefined;
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
      if (this.stopRequested) return this.finish({ reason: "shutdown" });
      let current = await this.supply.first();
      while (!end) {
        if (!current) {
          if (jobType.idleMs > 0) this.noteEntry(true);
          const l = await this.linger.wait(this.limitAt());
          if ("end" in l) {
            end = l.end;
            break;
          }
          current = l.next;
        }
        const step = await this.runChunk(current);
        end = step.end;
        current = step.next;
      }
    } catch (err) {
      end = { reason: "crashed", error: err instanceof Error ? err.message : String(err) };
      log.error({ err, workerId: this.id }, "worker failed");
      await this.settleAhead().catch((e) => log.warn({ err: e }, "could not hand back the prefetched chunk"));
    }
    return this.finish(end);
  }

  /** When maxRunSeconds is up (performance.now()); never without one. */
  private limitAt(): number {
    const s = this.deps.jobType.limits.maxRunSeconds;
    return s === undefined ? Number.POSITIVE_INFINITY : this.started + s * 1000;
  }

  private limitReached(chunksDone: number): boolean {
    const l = this.deps.jobType.limits;
    if (l.maxChunks !== undefined && chunksDone >= l.maxChunks) return true;
    if (l.maxRunSeconds !== undefined && performance.now() - this.started >= l.maxRunSeconds * 1000) return true;
    return false;
  }

  /** Whether a chunk acquired now would run: `more` chunks run before it still stay within the limits. */
  private wantsAnother(more: number): boolean {
    return !this.stopRequested && !this.limitReached(this.chunksRun + more);
  }

  /** Chunks to hold ahead now: the deeper `auto` depth while chunks run quick (smoothed under QUICK_CHUNK_MS). */
  private depth(): number {
    const quick = this.runTime !== undefined && this.runTime < QUICK_CHUNK_MS;
    return quick ? this.prefetch.quick : this.prefetch.base;
  }

  /** Smooths in a chunk's run time; the settles per call follow the depth it gives. */
  private noteRunTime(ms: number): void {
    this.runTime = this.runTime === undefined ? ms : this.runTime + RUN_TIME_WEIGHT * (ms - this.runTime);
    this.supply.perCall = settlesPerCall(this.depth());
  }

  /** Counts a settled chunk into the entry; a chunk reclaimed whole ends the worker (the manager took it for lost). */
  private account(st: Settled): End | undefined {
    const { batch, r } = st;
    if (!batch) return undefined;
    const e = this.entry;
    e.chunks++;
    e.itemsDone += r.acked;
    e.itemsFailed += r.dead;
    e.itemsRetried += r.retried;
    if (r.notHeld.length > 0)
      this.deps.log.warn(
        { chunkId: batch.id, notHeld: r.notHeld.length },
        "items were reclaimed before they could be settled",
      );
    if (batch.size > 0 && r.notHeld.length === batch.size)
      return { reason: "crashed", error: "the chunk was reclaimed before it was settled" };
    return undefined;
  }

  /** Waits for the settles in flight, counts them, and hands back the chunks they brought and `also`. */
  private async settleAhead(also: (HeldChunk | null)[] = []): Promise<void> {
    for (const st of await this.supply.settleAhead(also)) this.account(st);
  }

  private async runChunk(h: HeldChunk): Promise<{ next: HeldChunk | null; end?: End }> {
    const batch = h.batch;
    if (this.stopRequested || h.lost) {
      // shutting down before the chunk started: hand it back untouched (a lost one was taken back already)
      const lost = h.lost;
      await this.settleAhead([h]);
      return { next: null, end: lost ? { reason: "crashed", error: lost } : { reason: "shutdown" } };
    }
    const e = this.entry;
    e.firstChunkId ??= batch.id;
    e.currentChunkId = batch.id;
    e.currentChunkSize = batch.size;
    // the job starts first; the list entry and the next chunks' requests go out while it runs
    const startedAt = performance.now();
    const launched = this.launch(h);
    this.noteEntry();
    const depth = this.depth();
    while (this.supply.asking < depth && this.wantsAnother(this.supply.asking + 1))
      this.supply.sendAhead(null, null, true);
    const { report, leaseLost } = await launched;
    this.chunksRun++;
    this.noteRunTime(performance.now() - startedAt);
    if (report.peakMemoryBytes !== null) this.peakMemory = Math.max(this.peakMemory ?? 0, report.peakMemoryBytes);
    const shutdownAbort = this.abortReason !== undefined && !leaseLost;
    const s = this.withoutSecrets(
      settlementOf(batch, report, {
        giveBackUnreported: shutdownAbort,
        giveBackReason: `host ${this.deps.host.id} shutting down: ${this.abortReason}`,
      }),
    );
    s.runMs = performance.now() - startedAt;
    // every item done: the script acks the chunk whole, matching no ids (the common case, and the cheapest)
    s.whole = s.ack?.length === batch.size;
    const fatal = report.fatal;
    const limitHit = this.limitReached(this.chunksRun);
    const goOn = !fatal && !this.stopRequested && !leaseLost && !limitHit;
    e.currentChunkId = null;
    e.currentChunkSize = 0;

    // what the settle in flight brought: the settled previous chunk, and the next chunk (or a stop token)
    let prev = await this.supply.arrived();
    let prevEnd = prev ? this.account(prev) : undefined;
    // a settle sent when the depth came down asked for no chunk: the next one in flight may bring one
    while (prev && !prev.asked && !prevEnd && this.supply.inFlight > 0) {
      prev = (await this.supply.arrived()) as Settled;
      prevEnd = this.account(prev);
    }
    const waiting = prev?.next ?? null;
    const stopped = prev?.r.stopped === true;
    if (waiting && goOn && !prevEnd && !stopped) {
      // prefetched: it starts now, and this settle goes out meanwhile, acquiring the one after (unless the
      // worker holds as many as it wants already: chunks that stopped running quick hold fewer)
      const more = this.supply.asking < this.depth() && this.wantsAnother(this.supply.asking + 1);
      this.supply.sendAhead(batch, s, more);
      return { next: waiting };
    }
    const wantNext = goOn && !prevEnd && !stopped && !waiting;
    const st = await this.supply.settle(batch, s, wantNext);
    let end = this.endOf(fatal, leaseLost, prevEnd ?? this.account(st), stopped || st.r.stopped, limitHit);
    let next = st.next;
    // nothing came: the settles still in flight (prefetch deeper than one) may bring a chunk, or a stop token
    while (!end && !next && this.supply.inFlight > 0) {
      const more = (await this.supply.arrived()) as Settled;
      end = this.account(more) ?? (more.r.stopped ? { reason: "scaled-down" } : undefined);
      next = more.next;
    }
    if (!end) return { next };
    // a stop or a lost lease can arrive while the settles that acquired the next chunks are in flight
    await this.settleAhead([waiting, next]);
    return { next: null, end };
  }

  /**
   * Updates the list entry without holding the chunk up, at most once per
   * ENTRY_EVERY_MS (a later change is written when that time is up, as it
   * then is), unless `now`: a worker running thousands of tiny chunks a
   * second writes a few entries, not one per chunk (#12). Updates go one
   * after the other, and leaving waits for the last: an update retried
   * through a failover can otherwise land after the removal and bring the
   * entry back (a ghost).
   */
  private noteEntry(now = false): void {
    const due = this.entryNotedAt + ENTRY_EVERY_MS - performance.now();
    if (now || due <= 0) {
      clearTimeout(this.entryTimer);
      this.entryTimer = undefined;
      this.writeEntry();
    } else {
      this.entryTimer ??= setTimeout(() => {
        this.entryTimer = undefined;
        this.writeEntry();
      }, due);
    }
  }

  private writeEntry(): void {
    const { list, log } = this.deps;
    this.entryNotedAt = performance.now();
    const entry = { ...this.entry, updatedAt: new Date().toISOString() };
    this.entryWritten = this.entryWritten.then(() =>
      list.put(entry).catch((err) => log.warn({ err, workerId: this.id }, "worker list update failed")),
    );
  }

  /** Runs one chunk through the launcher while its lease is extended; a lost lease aborts it. */
  private async launch(h: HeldChunk): Promise<{ report: ChunkReport; leaseLost: boolean }> {
    const { launcher, log } = this.deps;
    // a controller per chunk: a launcher (one of a user's own kind too) may leave its listeners on the signal
    this.chunkAbort = new AbortController();
    if (this.abortReason) this.chunkAbort.abort(new Error(this.abortReason));
    let leaseLost = false;
    h.whileRunning((why) => {
      leaseLost = true;
      log.warn({ chunkId: h.id, workerId: this.id }, why);
      this.chunkAbort?.abort(new Error(why));
    });
    try {
      return { report: await launcher.run(h.batch, { signal: this.chunkAbort.signal, log }), leaseLost };
    } finally {
      this.supply.unhold(h);
    }
  }

  /** Why the worker ends after this chunk, if it does. */
  private endOf(
    fatal: FatalEnd | undefined,
    leaseLost: boolean,
    reclaimed: End | undefined,
    stopped: boolean,
    limitHit: boolean,
  ): End | undefined {
    if (fatal) return { reason: fatal.reason, error: fatal.error };
    if (leaseLost) return { reason: "crashed", error: "lease lost: the chunk was reclaimed" };
    // every item was reclaimed: the manager took this worker for lost; it must not go on
    if (reclaimed) return reclaimed;
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

  private async finish(ended: End): Promise<WorkerHistoryItem> {
    const { list, history } = this.deps;
    // a stop asked for a paused type ends `scaled-down`, wherever the worker was when it came
    const end = ended.reason === "shutdown" && this.stopRequested ? { ...ended, reason: this.stopReason } : ended;
    this.supply.releaseAll();
    clearTimeout(this.entryTimer);
    const { reason, error } = end;
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
