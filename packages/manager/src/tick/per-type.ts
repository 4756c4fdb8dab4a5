/**
 * Per-type calls of a tick, each on its own: every key of a job type lives in
 * its own cluster slot, so a type whose slot is down (its master dead and not
 * yet replaced, or its whole slot range lost) must cost that type only.
 *   1. a type found unavailable earlier in the tick is not called again;
 *   2. a type whose call of an earlier tick has still not answered is not
 *      called again until it does (calls do not pile up behind a dead node);
 *   3. a call that fails, or does not answer within the deadline, marks its
 *      type unavailable for the rest of the tick, with the reason and slot;
 * the later steps skip it, its decision says why, and the tick report lists it.
 * Some reads answer for several types at once (the activity counts: one
 * MGET on one Redis, one per slot on a cluster; the backlogs: one script call
 * per few hundred types, per slot on a cluster): a group fails or is late as
 * one, and an error of one type in its answer marks that type alone.
 */
import { hashSlot } from "@batchjob/core";
import type { TickContext } from "./context.js";

/** How long a per-type call may take before its type is skipped this tick: a tick, and at least a second. */
export function callDeadlineMs(ctx: TickContext): number {
  return Math.max(1000, ctx.deps.config.manager.tickMs);
}

/** Marks `jobType` unavailable for the rest of the tick (the first reason found stays). */
export function markUnavailable(ctx: TickContext, jobType: string, reason: string): void {
  if (ctx.unavailable.has(jobType)) return;
  ctx.unavailable.set(jobType, reason);
  ctx.deps.log.warn({ jobType, reason }, "job type skipped this tick");
}

/** The cluster slot of a type's keys, for a message an operator can act on. */
export function slotOf(ctx: TickContext, jobType: string): number {
  return hashSlot(ctx.deps.keys.type(jobType).pending);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Rules 1 and 2: the types of `jobTypes` that may be called now; the ones still waiting for an answer are marked. */
export function callable(ctx: TickContext, jobTypes: readonly string[]): string[] {
  const out: string[] = [];
  for (const jobType of jobTypes) {
    if (ctx.unavailable.has(jobType)) continue;
    const since = ctx.state.unanswered.get(jobType);
    if (since === undefined) {
      out.push(jobType);
      continue;
    }
    const s = ((performance.now() - since) / 1000).toFixed(1);
    markUnavailable(ctx, jobType, `slot ${slotOf(ctx, jobType)} has not answered a call made ${s} s ago`);
  }
  return out;
}

type Settled<T> = { value: T } | { error: unknown } | undefined;

/** The outcome of each of `pending` once all settled or the deadline passed (undefined: no answer yet); one callback each. */
async function settleWithin<T>(ctx: TickContext, pending: Promise<T>[]): Promise<Settled<T>[]> {
  const out = new Array<Settled<T>>(pending.length);
  if (pending.length === 0) return out;
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    let left = pending.length;
    timer = setTimeout(resolve, callDeadlineMs(ctx));
    for (const [i, p] of pending.entries()) {
      p.then(
        (value) => {
          out[i] = { value };
          if (--left === 0) resolve();
        },
        (error: unknown) => {
          out[i] = { error };
          if (--left === 0) resolve();
        },
      );
    }
  });
  clearTimeout(timer);
  // what answers after this point is not used: the tick has moved on
  return out.slice();
}

/** Rule 3 for a call that did not answer in time: its types wait for its answer before they are called again. */
function late(ctx: TickContext, jobTypes: readonly string[], pending: Promise<unknown>, what: string, since: number) {
  const { unanswered } = ctx.state;
  for (const t of jobTypes) unanswered.set(t, since);
  const done = () => {
    for (const t of jobTypes) unanswered.delete(t);
  };
  pending.then(done, done);
  const ms = callDeadlineMs(ctx);
  for (const t of jobTypes) markUnavailable(ctx, t, `${what}: no answer within ${ms} ms from slot ${slotOf(ctx, t)}`);
}

/**
 * Calls `call` for each of `jobTypes` at once under the rules above (one
 * deadline for them all); returns the value of each call that answered in
 * time. A type left out was skipped or failed, and is unavailable now.
 */
export async function perTypeEach<T>(
  ctx: TickContext,
  jobTypes: readonly string[],
  what: string,
  call: (jobType: string) => Promise<T>,
): Promise<Map<string, T>> {
  const types = callable(ctx, jobTypes);
  const since = performance.now();
  const pending = types.map((t) => {
    try {
      return call(t);
    } catch (err) {
      return Promise.reject(err);
    }
  });
  const settled = await settleWithin(ctx, pending);
  const answered = new Map<string, T>();
  types.forEach((t, i) => {
    const s = settled[i];
    if (s === undefined) late(ctx, [t], pending[i] as Promise<T>, what, since);
    else if ("error" in s) markUnavailable(ctx, t, `${what} failed on slot ${slotOf(ctx, t)}: ${message(s.error)}`);
    else answered.set(t, s.value);
  });
  return answered;
}

/** `perTypeEach` for one type: the value of its call, or undefined when it was skipped or failed. */
export async function perType<T>(
  ctx: TickContext,
  jobType: string,
  what: string,
  call: () => Promise<T>,
): Promise<T | undefined> {
  return (await perTypeEach(ctx, [jobType], what, call)).get(jobType);
}

/**
 * Reads made for groups of types at once (each group answers together, a
 * value or an Error per type), under rule 3: a group that fails or is late
 * marks all its types; an Error marks its type alone. Returns each value read.
 */
export async function perGroupEach<T>(
  ctx: TickContext,
  groups: readonly { jobTypes: string[]; values: Promise<(T | Error)[]> }[],
  what: string,
): Promise<Map<string, T>> {
  const since = performance.now();
  const settled = await settleWithin(
    ctx,
    groups.map((g) => g.values),
  );
  const answered = new Map<string, T>();
  for (const [i, g] of groups.entries()) {
    const s = settled[i];
    if (s === undefined) {
      late(ctx, g.jobTypes, g.values, what, since);
      continue;
    }
    g.jobTypes.forEach((t, k) => {
      const v = "error" in s ? s.error : s.value[k];
      if (v instanceof Error || "error" in s) {
        markUnavailable(ctx, t, `${what} failed on slot ${slotOf(ctx, t)}: ${message(v)}`);
      } else answered.set(t, v as T);
    });
  }
  return answered;
}
