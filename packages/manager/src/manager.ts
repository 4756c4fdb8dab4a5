/**
 * One manager tick, a list of named steps, each guarded so one failure is
 * logged and cannot stop the others (or the daemon):
 *   1. observe:  live and dead hosts, running workers, queue counts, last starts
 *      (each part on its own; a malformed entry is skipped and counted)
 *   2. level:    the load level from the hosts' load, with hysteresis
 *   3. plan:     per job type, start or stop workers, with a reason
 *   4. stop:     set stop tokens (scale down after the current chunk)
 *   5. allocate: a host for each planned worker (none: no start)
 *   6. start:    reserve each placed worker and dispatch it (the worker
 *                acquires its chunks itself)
 *   7. reap:     reclaim expired leases; drop dead hosts' undelivered starts
 *   8. refill:   call enqueuers of types below their low watermark
 *   9. publish:  decisions, load level and config to Redis for `status`
 * Dispatches not yet visible in the worker list count as running, so the
 * next tick does not start them twice.
 */
import {
  type Backlog,
  type BatchjobConfig,
  type BatchQueue,
  type HostRegistry,
  type JobTypeConfig,
  type Keys,
  type LiveHost,
  type Logger,
  type RedisClient,
  runningTotal,
  type WorkerHistoryStorage,
  type WorkerListItem,
  type WorkerListStorage,
} from "@batchjob/core";
import type { Allocator, HostSlot } from "./allocator.js";
import type { Dispatcher } from "./dispatcher.js";
import { type LevelReading, type LoadLevel, readLevel } from "./load-level.js";
import { type Decision, plan } from "./planner.js";
import { lostWorkers, reapDeadHosts, reapWorkers, reclaimExpired } from "./reaper.js";
import type { Refiller } from "./refiller.js";
import { startWorkers } from "./starter.js";

export interface ManagerDeps {
  client: RedisClient;
  /** A queue on an auto-pipelining connection, for the many small reads of a tick. */
  reader: BatchQueue;
  keys: Keys;
  queue: BatchQueue;
  registry: HostRegistry;
  list: WorkerListStorage;
  history: WorkerHistoryStorage;
  dispatcher: Dispatcher;
  allocator: Allocator;
  refiller: Refiller;
  config: BatchjobConfig;
  log: Logger;
}

interface InFlight {
  jobType: string;
  hostId: string;
  at: number;
}

export interface TickReport {
  at: number;
  /** Malformed Redis entries skipped this tick (worker list, host info). */
  quarantined: number;
  level: LevelReading;
  decisions: Decision[];
  started: number;
  reclaimedItems: number;
  deadHosts: string[];
  refilled: string[];
  /** Steps that failed this tick, with their error. */
  failed: { step: string; error: string }[];
  durationMs: number;
  /** Time spent in each step (ms). */
  stepsMs: Record<string, number>;
}

/** How long a dispatch may stay invisible in the worker list before it stops counting as running. */
const IN_FLIGHT_MS = 30_000;

export class Manager {
  private level: LoadLevel | undefined;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly tokens = new Map<string, number>();
  private readonly types: Map<string, JobTypeConfig>;
  private publishedConfigAt = 0;
  /** Last decision published per type (without its time), to write only changes. */
  private readonly published = new Map<string, string>();
  /** Types seen idle (nothing ready, leased or delayed) and their activity count then: not read again until it moves. */
  private readonly idle = new Map<string, string | undefined>();
  /** Malformed entries skipped during this tick. */
  private quarantined = 0;

  constructor(private readonly d: ManagerDeps) {
    this.types = new Map(d.config.jobTypes.map((t) => [t.name, t]));
  }

  /** Forget per-leader state (tokens written, config published) when leadership is (re)gained. */
  resetLeadership(): void {
    this.tokens.clear();
    this.published.clear();
    this.idle.clear();
    this.publishedConfigAt = 0;
  }

  /**
   * One tick. `stillLeader` is asked before each step that changes anything:
   * a manager that lost its lease mid-tick stops acting at once.
   */
  async tick(stillLeader: () => boolean = () => true): Promise<TickReport> {
    const t0 = performance.now();
    const { d } = this;
    const failed: TickReport["failed"] = [];
    const stepsMs: Record<string, number> = {};
    const step = async <T>(name: string, fn: () => Promise<T>, fallback: T): Promise<T> => {
      const s0 = performance.now();
      if (name !== "observe" && !stillLeader()) {
        failed.push({ step: name, error: "skipped: leadership lost during the tick" });
        return fallback;
      }
      try {
        return await fn();
      } catch (err) {
        d.log.error({ err, step: name }, "manager step failed");
        failed.push({ step: name, error: err instanceof Error ? err.message : String(err) });
        return fallback;
      } finally {
        stepsMs[name] = performance.now() - s0;
      }
    };
    const typeList = [...this.types.values()];

    // 1. observe (a malformed entry is skipped and counted; only a failing Redis fails it)
    this.quarantined = 0;
    const obs = await step("observe", () => this.observe(typeList), null);
    const now = obs?.now ?? Date.now();
    const alive = obs?.alive ?? [];
    const dead = obs?.dead ?? [];
    const backlog = obs?.backlog ?? new Map<string, Backlog>();

    // 2. level
    const level = readLevel(
      alive.map((h) => h.load),
      this.level,
      d.config.manager.load,
    );
    if (obs) this.level = level.level;

    // 3. plan
    const leaving = new Set([...backlog.values()].flatMap((b) => b.stopping));
    const running = obs ? this.runningByType(obs.workers, now, new Set(dead), leaving) : new Map<string, number>();
    const decisions = obs
      ? typeList.map((t) =>
          plan(
            {
              config: t,
              pending: backlog.get(t.name)?.pending ?? 0,
              running: running.get(t.name) ?? 0,
              lastStartAt: obs.lastStart.get(t.name),
            },
            level.level,
            now,
          ),
        )
      : [];

    // 4. stop tokens (atomic with workers taking them)
    if (obs) await step("stop", () => this.writeStopTokens(decisions, obs.workers, new Set(dead)), undefined);

    // 5. allocate, 6. start
    const hosts = this.hostSlots(alive);
    d.allocator.reset();
    let started = 0;
    if (obs)
      await step(
        "start",
        async () => {
          const planned = decisions.filter((dec) => dec.start > 0);
          if (planned.length === 0) return;
          const out = await startWorkers(planned, {
            hosts,
            allocator: d.allocator,
            dispatcher: d.dispatcher,
            queue: d.queue,
            log: d.log,
          });
          started = out.started.length;
          const startedTypes = new Set<string>();
          for (const s of out.started) {
            this.inFlight.set(s.reservationId, { jobType: s.jobType, hostId: s.hostId, at: now });
            startedTypes.add(s.jobType);
          }
          if (startedTypes.size > 0) {
            await d.client.hset(d.keys.lastStart, ...[...startedTypes].flatMap((t) => [t, String(now)]));
          }
          for (const dec of decisions) {
            const n = out.started.filter((s) => s.jobType === dec.jobType).length;
            const u = out.unplaced.get(dec.jobType) ?? 0;
            if (u > 0) dec.reason += `; ${u} not started: no live host with a free slot serves ${dec.jobType}`;
            if (dec.start > 0) dec.start = n;
          }
          d.log.info({ started: out.started.length }, "workers dispatched");
        },
        undefined,
      );

    // 7. reap
    let reclaimedItems = 0;
    await step(
      "reap",
      async () => {
        const expired = typeList
          .filter((t) => {
            const first = backlog.get(t.name)?.earliestLeaseDeadline;
            return first !== null && first !== undefined && first <= now;
          })
          .map((t) => t.name);
        reclaimedItems = await reclaimExpired(d.queue, expired, d.log);
        if (!obs) return;
        const deps = {
          queue: d.queue,
          registry: d.registry,
          dispatcher: d.dispatcher,
          list: d.list,
          history: d.history,
          log: d.log,
        };
        const deadSet = new Set(dead);
        await reapWorkers(deps, lostWorkers(obs.workers, alive, deadSet, d.config.worker.hostTtlMs, now));
        if (dead.length > 0) {
          for (const [id, f] of this.inFlight) if (deadSet.has(f.hostId)) this.inFlight.delete(id);
          await reapDeadHosts(deps, dead);
        }
        d.dispatcher.keepOnly(new Set(alive.map((h) => h.id)));
      },
      undefined,
    );

    // 8. refill
    const refilled = await step(
      "refill",
      async () => d.refiller.check(typeList, new Map(typeList.map((t) => [t.name, backlog.get(t.name)?.pending ?? 0]))),
      [] as string[],
    );

    // 9. publish
    if (obs) await step("publish", () => this.publish(now, level, decisions), undefined);
    if (this.quarantined > 0) d.log.warn({ entries: this.quarantined }, "malformed Redis entries skipped this tick");

    for (const dec of decisions)
      if (dec.start > 0 || dec.stopTokens > 0) d.log.info({ jobType: dec.jobType }, dec.reason);
    return {
      at: now,
      quarantined: this.quarantined,
      level,
      decisions,
      started,
      reclaimedItems,
      deadHosts: dead,
      refilled,
      failed,
      durationMs: performance.now() - t0,
      stepsMs,
    };
  }

  private async observe(typeList: JobTypeConfig[]) {
    const { d } = this;
    const ttl = d.config.worker.hostTtlMs;
    // the host list gives the Redis time the backlog counts due retries by
    const skip = (what: string) => (field: string, error: string) => {
      this.quarantined++;
      d.log.warn({ key: what, field, error }, "malformed entry skipped");
    };
    const hosts = await d.registry.list(ttl, skip(d.keys.hostInfo));
    let [workers, activity, lastRaw] = await Promise.all([
      d.list.list({}, skip(d.keys.workers)),
      d.client.hgetall(d.keys.activity),
      d.client.hgetall(d.keys.lastStart),
    ]);
    // dispatches not yet seen running, by type: the backlog call says which still wait for a worker
    const inFlight = new Map<string, string[]>();
    for (const [id, f] of this.inFlight) inFlight.set(f.jobType, [...(inFlight.get(f.jobType) ?? []), id]);
    // an idle type is read again only when items were enqueued to it or a worker of it runs
    const busy = new Set([...workers.map((w) => w.jobType), ...inFlight.keys()]);
    const toRead = typeList.filter(
      (t) => !this.idle.has(t.name) || this.idle.get(t.name) !== activity[t.name] || busy.has(t.name),
    );
    const read = await Promise.all(toRead.map((t) => d.reader.backlog(t.name, hosts.now, inFlight.get(t.name))));
    const backlog = new Map<string, Backlog>();
    let taken = false;
    for (const t of typeList) {
      if (this.idle.has(t.name)) {
        backlog.set(t.name, { pending: 0, earliestLeaseDeadline: null, delayed: 0, waiting: [], stopping: [] });
      }
    }
    toRead.forEach((t, i) => {
      const b = read[i] as Backlog;
      backlog.set(t.name, b);
      if (b.pending === 0 && b.earliestLeaseDeadline === null && b.delayed === 0)
        this.idle.set(t.name, activity[t.name]);
      else this.idle.delete(t.name);
      // a reservation no longer waiting was taken by a worker (listed from then on) or refused
      const waiting = new Set(b.waiting);
      for (const id of inFlight.get(t.name) ?? []) {
        if (waiting.has(id)) continue;
        this.inFlight.delete(id);
        taken = true;
      }
    });
    // a worker may have listed itself and taken its reservation after the list was read: read it again
    if (taken) workers = await d.list.list({}, () => {});
    const lastStart = new Map(
      Object.entries(lastRaw)
        .map(([k, v]) => [k, Number(v)] as const)
        .filter(([k, v]) => Number.isFinite(v) || void skip(d.keys.lastStart)(k, "not a number")),
    );
    return { now: hosts.now, alive: hosts.alive, dead: hosts.dead, workers, backlog, lastStart };
  }

  /**
   * Workers per type: listed ones, minus those that took a stop token and are
   * leaving (their ids are in `leaving`: counting them would stop one worker
   * too many), plus dispatches no worker has claimed yet.
   */
  private runningByType(
    workers: WorkerListItem[],
    now: number,
    deadHosts: Set<string>,
    leaving: Set<string>,
  ): Map<string, number> {
    const out = new Map<string, number>();
    const claimed = new Set<string>();
    for (const w of workers) {
      claimed.add(w.reservationId);
      if (deadHosts.has(w.hostId) || leaving.has(w.id)) continue;
      out.set(w.jobType, (out.get(w.jobType) ?? 0) + 1);
    }
    for (const [id, f] of this.inFlight) {
      if (claimed.has(id) || now - f.at > IN_FLIGHT_MS || deadHosts.has(f.hostId)) {
        this.inFlight.delete(id);
        continue;
      }
      out.set(f.jobType, (out.get(f.jobType) ?? 0) + 1);
    }
    return out;
  }

  private hostSlots(alive: LiveHost[]): HostSlot[] {
    const pendingPerHost = new Map<string, number>();
    for (const f of this.inFlight.values()) pendingPerHost.set(f.hostId, (pendingPerHost.get(f.hostId) ?? 0) + 1);
    return alive.map((h) => ({
      id: h.id,
      slots: h.slots,
      running: runningTotal(h) + (pendingPerHost.get(h.id) ?? 0),
      jobTypes: h.jobTypes,
      load: h.load,
      draining: h.draining,
    }));
  }

  /**
   * Stop tokens of the types above target, or that still hold some: set in
   * one script per type from the listed workers, so a worker that takes a
   * token meanwhile is counted as leaving, never stopped twice over.
   */
  private async writeStopTokens(
    decisions: Decision[],
    workers: WorkerListItem[],
    deadHosts: ReadonlySet<string>,
  ): Promise<void> {
    const touched = decisions.filter((dec) => dec.stopTokens > 0 || (this.tokens.get(dec.jobType) ?? -1) !== 0);
    if (touched.length === 0) return;
    const listed = new Map<string, string[]>();
    for (const w of workers) {
      if (!deadHosts.has(w.hostId)) listed.set(w.jobType, [...(listed.get(w.jobType) ?? []), w.id]);
    }
    const dispatched = new Map<string, number>();
    for (const f of this.inFlight.values()) dispatched.set(f.jobType, (dispatched.get(f.jobType) ?? 0) + 1);
    await Promise.all(
      touched.map(async (dec) => {
        const r = await this.d.queue.setStopTokens(dec.jobType, dec.target, {
          listed: listed.get(dec.jobType) ?? [],
          dispatched: dispatched.get(dec.jobType) ?? 0,
        });
        dec.stopTokens = r.tokens;
        this.tokens.set(dec.jobType, r.tokens);
      }),
    );
  }

  private async publish(now: number, level: LevelReading, decisions: Decision[]): Promise<void> {
    const { d } = this;
    // separate commands: these keys live in different cluster slots
    await Promise.all([
      decisions.length > 0
        ? d.client.hset(
            d.keys.decisions,
            ...decisions.flatMap((dec) => [dec.jobType, JSON.stringify({ ...dec, at: now })]),
          )
        : undefined,
      d.client.set(d.keys.load, JSON.stringify({ ...level, at: now })),
    ]);
    if (now - this.publishedConfigAt > 30_000) {
      await d.client.set(d.keys.config, JSON.stringify(publishableConfig(d.config)));
      this.publishedConfigAt = now;
    }
  }
}

/** The config as JSON: code (inline jobs, refill functions) shown as "[function]". */
export function publishableConfig(config: BatchjobConfig): unknown {
  return JSON.parse(JSON.stringify(config, (_k, v) => (typeof v === "function" ? "[function]" : v)));
}
