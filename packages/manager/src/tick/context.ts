/**
 * What the steps of one tick share: the manager's dependencies, the state it
 * keeps across ticks (as leader), and what this tick has found and decided
 * so far. A step is `{ name, run(ctx) }`; the pipeline guards and times it.
 */
import type {
  Acquirer,
  Backlog,
  BatchjobConfig,
  HostRegistry,
  JobTypeConfig,
  Keys,
  LiveHost,
  Logger,
  RedisClient,
  Supervisor,
  WorkerHistoryStorage,
  WorkerListItem,
  WorkerListStorage,
} from "@batchjob/core";
import type { Allocator, HostSlot } from "../allocator.js";
import type { Dispatcher } from "../dispatcher.js";
import type { InFlight } from "../in-flight.js";
import type { LevelReading, LoadLevel } from "../load-level.js";
import type { Decision } from "../planner.js";
import type { Refiller } from "../refiller.js";
import type { AlertTracker } from "./alerts.js";

export interface ManagerDeps {
  client: RedisClient;
  /** A queue on an auto-pipelining connection, for the many small reads of a tick. */
  reader: Supervisor;
  keys: Keys;
  /** The supervisor's calls, and the wake of lingering workers (a paused type's must leave). */
  queue: Supervisor & Pick<Acquirer, "wakeNext">;
  registry: HostRegistry;
  list: WorkerListStorage;
  history: WorkerHistoryStorage;
  dispatcher: Dispatcher;
  allocator: Allocator;
  refiller: Refiller;
  config: BatchjobConfig;
  log: Logger;
}

/** State a leader keeps from tick to tick; forgotten when leadership is (re)gained. */
export interface LeaderState {
  level: LoadLevel | undefined;
  inFlight: InFlight;
  /** Stop tokens last written per type. */
  tokens: Map<string, number>;
  /** Last decision published per type (a copy, without its time), to write only changes. */
  published: Map<string, Decision>;
  publishedConfigAt: number;
  /** Types seen idle (nothing ready, leased or delayed) and their activity count then: not read again until it moves. */
  idle: Map<string, string | null>;
  /** Ticks observed as leader: every SWEEP_EVERY_TICKS-th reads every type, idle or not (tick/observe.ts). */
  ticks: number;
  /** Types with a call that has not answered yet, since when (performance.now()): not called again until it does. */
  unanswered: Map<string, number>;
  /** The alert checks and the notifications not delivered yet (kept across leadership changes). */
  alerts: AlertTracker;
}

/** What the observe step read. */
export interface Observation {
  /** Redis time (ms). */
  now: number;
  alive: LiveHost[];
  dead: string[];
  workers: WorkerListItem[];
  /** Each type's backlog (a type seen idle and still idle: an empty one); none for a type skipped this tick. */
  backlog: Map<string, Omit<Backlog, "activity">>;
  lastStart: Map<string, number>;
  /** Paused job types (`batchjob pause`). */
  paused: ReadonlySet<string>;
  /** Host ids asked to drain (`batchjob drain`): nothing is dispatched to them. */
  drainRequested: ReadonlySet<string>;
}

export interface TickContext {
  deps: ManagerDeps;
  state: LeaderState;
  types: ReadonlyMap<string, JobTypeConfig>;
  typeList: readonly JobTypeConfig[];
  /** Null until observe succeeds (a step that needs it is skipped without it). */
  observation: Observation | null;
  level: LevelReading;
  decisions: Decision[];
  hosts: HostSlot[];
  started: number;
  reclaimedItems: number;
  refilled: string[];
  /** Malformed Redis entries skipped this tick. */
  quarantined: number;
  /** Job types skipped for the rest of this tick (their slot failed or did not answer), with why. */
  unavailable: Map<string, string>;
}

export interface TickStep {
  name: string;
  /** Skipped when observe failed this tick. @defaultValue true */
  needsObservation?: boolean;
  run(ctx: TickContext): Promise<void> | void;
}

/** The observation of a tick whose steps need one (the pipeline skips them otherwise). */
export function observed(ctx: TickContext): Observation {
  if (!ctx.observation) throw new Error("internal: step ran without an observation");
  return ctx.observation;
}
