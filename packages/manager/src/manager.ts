/**
 * One manager tick: a pipeline of named steps over one context, each guarded
 * so one failure is logged and reported and cannot stop the others (or the
 * daemon), each timed (`TickReport.stepsMs`):
 *   1. observe:  live and dead hosts, running workers, queue backlogs, last starts
 *                (a malformed entry is skipped and counted, never fatal)
 * Every per-type call (backlog, stop tokens, reservations, reclaims) fails
 * for its type alone (tick/per-type.ts): a type whose cluster slot is down is
 * skipped and reported (`TickReport.skipped`, its decision's reason).
 *   2. level:    the load level from the hosts' load, with hysteresis
 *   3. plan:     per job type, start or stop workers, with a reason
 *   4. stop:     set stop tokens (scale down after the current chunk)
 *   5. allocate, 6. start: a host and a reservation for each planned worker,
 *                dispatched (the worker acquires its chunks itself)
 *   7. reap:     reclaim expired leases; hand back lost workers' chunks; drop
 *                dead hosts' undelivered starts
 *   8. refill:   call enqueuers of types below their low watermark
 *   9. publish:  changed decisions, load level and config for `status`
 *  10. alerts:   every checkEveryMs, each type's alert thresholds; a crossing
 *                recorded and posted to the webhook once (tick/alerts.ts)
 * Adding a step is a file in tick/ and a line in STEPS.
 */
import { type BatchjobConfig, defaults, type JobTypeConfig } from "@batchjob/core";
import type { Allocator } from "./allocator.js";
import { InFlight } from "./in-flight.js";
import type { LevelReading } from "./load-level.js";
import type { Decision } from "./planner.js";
import { AlertTracker, alerts } from "./tick/alerts.js";
import type { LeaderState, ManagerDeps, TickContext, TickStep } from "./tick/context.js";
import { observe } from "./tick/observe.js";
import { runSteps } from "./tick/pipeline.js";
import { level, planStep } from "./tick/plan.js";
import { publish } from "./tick/publish.js";
import { reap } from "./tick/reap.js";
import { refill } from "./tick/refill.js";
import { start } from "./tick/start.js";
import { stopTokens } from "./tick/stop-tokens.js";

export type { ManagerDeps } from "./tick/context.js";
export { publishableConfig } from "./tick/publish.js";

/** The steps of a tick, in order. */
export const STEPS: readonly TickStep[] = [observe, level, planStep, stopTokens, start, reap, refill, publish, alerts];

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
  /** Job types skipped this tick because their slot failed or did not answer, with why (the others went on). */
  skipped: { jobType: string; reason: string }[];
  durationMs: number;
  /** Time spent in each step (ms). */
  stepsMs: Record<string, number>;
}

function freshState(alerts: AlertTracker): LeaderState {
  return {
    alerts,
    level: undefined,
    inFlight: new InFlight(),
    tokens: new Map(),
    published: new Map(),
    publishedConfigAt: 0,
    idle: new Map(),
    ticks: 0,
    unanswered: new Map(),
  };
}

export class Manager {
  private state: LeaderState;
  private types: Map<string, JobTypeConfig>;
  /** A reloaded config waiting for the next tick (each tick runs on one config). */
  private reloaded: { config: BatchjobConfig; allocator: Allocator | undefined } | undefined;

  constructor(
    private readonly d: ManagerDeps,
    private readonly steps: readonly TickStep[] = STEPS,
  ) {
    this.types = new Map(d.config.jobTypes.map((t) => [t.name, t]));
    this.state = freshState(this.alertTracker(d.config));
  }

  private alertTracker(config: BatchjobConfig): AlertTracker {
    const hook = config.manager.alerts;
    const every = hook?.checkEveryMs ?? defaults.manager.alerts.checkEveryMs;
    return new AlertTracker(this.d.client, this.d.keys, this.d.log, hook, every);
  }

  /** Forget per-leader state (tokens written, decisions and config published) when leadership is (re)gained. */
  resetLeadership(): void {
    const { level, inFlight, alerts } = this.state;
    this.state = { ...freshState(alerts), level, inFlight };
  }

  /**
   * A reloaded config (SIGHUP, #10), taken at the start of the next tick:
   * the job types (parallel, cooldownSeconds, chunkSize, ...), the load
   * thresholds and, when given, a new allocator. It is published again at
   * once for `status`.
   */
  reload(config: BatchjobConfig, allocator?: Allocator): void {
    this.reloaded = { config, allocator };
  }

  private takeReloaded(): void {
    const r = this.reloaded;
    if (!r) return;
    this.reloaded = undefined;
    // a changed webhook takes effect now (what fires is in Redis: nothing fires twice)
    if (JSON.stringify(r.config.manager.alerts) !== JSON.stringify(this.d.config.manager.alerts))
      this.state.alerts = this.alertTracker(r.config);
    this.d.config = r.config;
    if (r.allocator) this.d.allocator = r.allocator;
    this.types = new Map(r.config.jobTypes.map((t) => [t.name, t]));
    this.state.publishedConfigAt = 0;
  }

  /**
   * One tick. `stillLeader` is asked before each step that changes anything:
   * a manager that lost its lease mid-tick stops acting at once.
   */
  async tick(stillLeader: () => boolean = () => true): Promise<TickReport> {
    const t0 = performance.now();
    this.takeReloaded();
    const ctx: TickContext = {
      deps: this.d,
      state: this.state,
      types: this.types,
      typeList: [...this.types.values()],
      observation: null,
      level: { level: this.state.level ?? "low", value: 0, hosts: 0 },
      decisions: [],
      hosts: [],
      started: 0,
      reclaimedItems: 0,
      refilled: [],
      quarantined: 0,
      unavailable: new Map(),
    };
    const { failed, stepsMs } = await runSteps(this.steps, ctx, stillLeader, this.d.log);
    if (ctx.quarantined > 0) this.d.log.warn({ entries: ctx.quarantined }, "malformed Redis entries skipped this tick");
    for (const dec of ctx.decisions)
      if (dec.start > 0 || dec.stopTokens > 0) this.d.log.info({ jobType: dec.jobType }, dec.reason);
    return {
      at: ctx.observation?.now ?? Date.now(),
      quarantined: ctx.quarantined,
      level: ctx.level,
      decisions: ctx.decisions,
      started: ctx.started,
      reclaimedItems: ctx.reclaimedItems,
      deadHosts: ctx.observation?.dead ?? [],
      refilled: ctx.refilled,
      failed,
      skipped: [...ctx.unavailable].map(([jobType, reason]) => ({ jobType, reason })),
      durationMs: performance.now() - t0,
      stepsMs,
    };
  }
}
