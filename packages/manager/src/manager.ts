/**
 * One manager tick, a list of named steps, each guarded so one failure is
 * logged and cannot stop the others (or the daemon):
 *   1. observe:  live and dead hosts, running workers, queue counts, last starts
 *   2. level:    the load level from the hosts' load, with hysteresis
 *   3. plan:     per job type, start or stop workers, with a reason
 *   4. stop:     set stop tokens (scale down after the current chunk)
 *   5. allocate: a host for each planned worker (none: no start)
 *   6. start:    acquire each placed worker's first chunk and dispatch it
 *   7. reap:     reclaim expired leases; hand back dead hosts' work
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

    // 1. observe
    const obs = await step("observe", () => this.observe(typeList), null);
    if (!obs) {
      return {
        at: Date.now(),
        level: { level: this.level ?? "low", value: 0, hosts: 0 },
        decisions: [],
        started: 0,
        reclaimedItems: 0,
        deadHosts: [],
        refilled: [],
        failed,
        durationMs: performance.now() - t0,
        stepsMs,
      };
    }
    const { now, alive, dead, workers, backlog, lastStart } = obs;

    // 2. level
    const level = readLevel(
      alive.map((h) => h.load),
      this.level,
      d.config.manager.load,
    );
    this.level = level.level;

    // 3. plan
    const leaving = new Set([...backlog.values()].flatMap((b) => b.stopping));
    const running = this.runningByType(workers, now, new Set(dead), leaving);
    const decisions = typeList.map((t) =>
      plan(
        {
          config: t,
          pending: backlog.get(t.name)?.pending ?? 0,
          running: running.get(t.name) ?? 0,
          lastStartAt: lastStart.get(t.name),
        },
        level.level,
        now,
      ),
    );

    // 4. stop tokens (written only when they change)
    await step("stop", () => this.writeStopTokens(decisions), undefined);

    // 5. allocate, 6. start
    const hosts = this.hostSlots(alive);
    d.allocator.reset();
    let started = 0;
    await step(
      "start",
      async () => {
        const planned = decisions.filter((dec) => dec.start > 0);
        if (planned.length === 0) return;
        const out = await startWorkers(planned, this.types, hosts, d.allocator, d.dispatcher, d.queue, d.log);
        started = out.started.length;
        const startedTypes = new Set<string>();
        for (const s of out.started) {
          this.inFlight.set(s.chunkId, { jobType: s.jobType, hostId: s.hostId, at: now });
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
        const deps = {
          queue: d.queue,
          registry: d.registry,
          dispatcher: d.dispatcher,
          list: d.list,
          history: d.history,
          log: d.log,
        };
        const deadSet = new Set(dead);
        await reapWorkers(deps, lostWorkers(workers, alive, deadSet, d.config.worker.hostTtlMs, now));
        if (dead.length > 0) {
          for (const [chunkId, f] of this.inFlight) if (deadSet.has(f.hostId)) this.inFlight.delete(chunkId);
          const moved = await reapDeadHosts(deps, dead, hosts, d.allocator, this.types);
          for (const r of moved) this.inFlight.set(r.chunkId, { jobType: r.jobType, hostId: r.hostId, at: now });
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
    await step("publish", () => this.publish(now, level, decisions), undefined);

    for (const dec of decisions)
      if (dec.start > 0 || dec.stopTokens > 0) d.log.info({ jobType: dec.jobType }, dec.reason);
    return {
      at: now,
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
    const hosts = await d.registry.list(ttl);
    const [workers, activity, lastRaw] = await Promise.all([
      d.list.list(),
      d.client.hgetall(d.keys.activity),
      d.client.hgetall(d.keys.lastStart),
    ]);
    // dispatches not yet seen running, by type: the backlog call says which still hold their lease
    const inFlight = new Map<string, string[]>();
    for (const [chunkId, f] of this.inFlight) inFlight.set(f.jobType, [...(inFlight.get(f.jobType) ?? []), chunkId]);
    // an idle type is read again only when items were enqueued to it or a worker of it runs
    const busy = new Set([...workers.map((w) => w.jobType), ...inFlight.keys()]);
    const toRead = typeList.filter(
      (t) => !this.idle.has(t.name) || this.idle.get(t.name) !== activity[t.name] || busy.has(t.name),
    );
    const read = await Promise.all(toRead.map((t) => d.reader.backlog(t.name, hosts.now, inFlight.get(t.name))));
    const backlog = new Map<string, Backlog>();
    for (const t of typeList) {
      if (this.idle.has(t.name)) {
        backlog.set(t.name, { pending: 0, earliestLeaseDeadline: null, delayed: 0, leased: [], stopping: [] });
      }
    }
    toRead.forEach((t, i) => {
      const b = read[i] as Backlog;
      backlog.set(t.name, b);
      if (b.pending === 0 && b.earliestLeaseDeadline === null && b.delayed === 0)
        this.idle.set(t.name, activity[t.name]);
      else this.idle.delete(t.name);
      // a dispatched chunk without a lease was handed back (no free slot on arrival) or reclaimed
      const held = new Set(b.leased);
      for (const chunkId of inFlight.get(t.name) ?? []) if (!held.has(chunkId)) this.inFlight.delete(chunkId);
    });
    const lastStart = new Map(Object.entries(lastRaw).map(([k, v]) => [k, Number(v)]));
    return { now: hosts.now, alive: hosts.alive, dead: hosts.dead, workers, backlog, lastStart };
  }

  /** Workers per type: listed ones plus dispatches no worker has claimed yet (still leased, recent, host alive). */
  /**
   * Workers per type: listed ones, minus those that took a stop token and are
   * leaving (their current chunk is in `leaving`: counting them would stop
   * one worker too many), plus dispatches no worker has claimed yet.
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
      claimed.add(w.firstChunkId);
      if (deadHosts.has(w.hostId) || (w.currentChunkId !== null && leaving.has(w.currentChunkId))) continue;
      out.set(w.jobType, (out.get(w.jobType) ?? 0) + 1);
    }
    for (const [chunkId, f] of this.inFlight) {
      if (claimed.has(chunkId) || now - f.at > IN_FLIGHT_MS || deadHosts.has(f.hostId)) {
        this.inFlight.delete(chunkId);
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

  private async writeStopTokens(decisions: Decision[]): Promise<void> {
    const changed = decisions.filter((dec) => (this.tokens.get(dec.jobType) ?? -1) !== dec.stopTokens);
    await Promise.all(changed.map((dec) => this.d.queue.setStopTokens(dec.jobType, dec.stopTokens)));
    for (const dec of changed) this.tokens.set(dec.jobType, dec.stopTokens);
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
