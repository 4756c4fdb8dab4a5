/**
 * The planner (pure): how many workers of each job type to start or stop.
 *   target = parallel[level], for starts capped by the backlog's need
 *   (ceil(pending / chunkSize)); no start while pending < minQueueEntries;
 *   at most one start per cooldownSeconds of a type (all at once when the
 *   cooldown is 0), except the first worker of a type with none running,
 *   which starts at once (#12: with lingering workers, a type with none
 *   alive has been idle); above target, the surplus is asked to stop after its
 *   current chunk (stop tokens), never killed.
 * A paused type (#10) has target 0: no start, every running worker asked to
 * stop after its chunk; its reason starts with "paused".
 * Every decision carries a reason for the log and for `batchjob status`.
 */
import type { JobTypeConfig } from "@batchjob/core";
import type { LoadLevel } from "./load-level.js";

export interface TypeState {
  config: Pick<JobTypeConfig, "name" | "chunkSize" | "parallel" | "cooldownSeconds" | "minQueueEntries">;
  pending: number;
  /** Workers running or dispatched and not yet running. */
  running: number;
  /** Last start of this type (ms, Redis clock); undefined: never. */
  lastStartAt: number | undefined;
  /** Paused (`batchjob pause`): no start; the running workers stop after their chunk. */
  paused?: boolean;
}

export interface Decision {
  jobType: string;
  level: LoadLevel;
  target: number;
  running: number;
  pending: number;
  /** Workers to start now. */
  start: number;
  /** Stop tokens the type should hold after this tick. */
  stopTokens: number;
  reason: string;
}

export function plan(state: TypeState, level: LoadLevel, now: number): Decision {
  const c = state.config;
  if (state.paused) {
    const n = state.running;
    return {
      jobType: c.name,
      level,
      target: 0,
      running: n,
      pending: state.pending,
      start: 0,
      stopTokens: n,
      reason: `paused: ${state.pending} pending, running ${n}${n > 0 ? `, stopping ${n} after their chunk` : ""}`,
    };
  }
  const target = c.parallel[level];
  const base = { jobType: c.name, level, target, running: state.running, pending: state.pending };
  if (state.running > target) {
    const stop = state.running - target;
    return {
      ...base,
      start: 0,
      stopTokens: stop,
      reason: `${level} load: target ${target}, running ${state.running}, stopping ${stop} after their chunk`,
    };
  }
  const idle = { ...base, start: 0, stopTokens: 0 };
  if (state.pending === 0) return { ...idle, reason: `queue empty: running ${state.running}` };
  if (state.pending < c.minQueueEntries) {
    return { ...idle, reason: `below minQueueEntries: ${state.pending} < ${c.minQueueEntries}` };
  }
  const needed = Math.ceil(state.pending / c.chunkSize);
  const want = Math.min(target, needed);
  if (state.running >= want) {
    const cap = want < target ? `, backlog needs ${needed}` : "";
    return { ...idle, reason: `${level} load: target ${target}${cap}, running ${state.running}: at target` };
  }
  const cooldownMs = c.cooldownSeconds * 1000;
  // the first worker of a type with none running starts at once (#12): the cooldown spaces the ones after it
  const first = state.running === 0;
  if (cooldownMs > 0 && !first && state.lastStartAt !== undefined && now - state.lastStartAt < cooldownMs) {
    const left = Math.ceil((cooldownMs - (now - state.lastStartAt)) / 1000);
    return { ...idle, reason: `cooldown: ${left} s left (target ${want}, running ${state.running})` };
  }
  const start = cooldownMs > 0 ? 1 : want - state.running;
  const cap = want < target ? ` (backlog needs ${needed})` : "";
  const noCooldown = first && cooldownMs > 0 && state.lastStartAt !== undefined && now - state.lastStartAt < cooldownMs;
  return {
    ...idle,
    start,
    reason: `${level} load: target ${target}${cap}, running ${state.running}, starting ${start}${noCooldown ? " (first worker: no cooldown)" : ""}`,
  };
}
