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
  const out = new Map<string, T>();
  const failed = new Map<string, unknown>();
  const { unanswered } = ctx.state;
  const calls: { jobType: string; pending: Promise<T> }[] = [];
  for (const jobType of jobTypes) {
    if (ctx.unavailable.has(jobType)) continue;
    const since = unanswered.get(jobType);
    if (since === undefined) {
      let pending: Promise<T>;
      try {
        pending = call(jobType);
      } catch (err) {
        pending = Promise.reject(err);
      }
      calls.push({ jobType, pending });
      continue;
    }
    const s = ((performance.now() - since) / 1000).toFixed(1);
    markUnavailable(ctx, jobType, `slot ${slotOf(ctx, jobType)} has not answered a call made ${s} s ago`);
  }
  if (calls.length === 0) return out;
  const deadline = callDeadlineMs(ctx);
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  // one callback per call, no promise per call: a tick reads a thousand types this way
  await new Promise<void>((resolve) => {
    let left = calls.length;
    const settled = () => {
      if (--left === 0) resolve();
    };
    timer = setTimeout(resolve, deadline);
    for (const { jobType, pending } of calls) {
      pending.then(
        (v) => {
          out.set(jobType, v);
          settled();
        },
        (err: unknown) => {
          failed.set(jobType, err);
          settled();
        },
      );
    }
  });
  clearTimeout(timer);
  // what answers after this point is not used: the tick has moved on
  const answered = new Map<string, T>();
  for (const { jobType, pending } of calls) {
    if (failed.has(jobType)) {
      markUnavailable(ctx, jobType, `${what} failed on slot ${slotOf(ctx, jobType)}: ${message(failed.get(jobType))}`);
    } else if (out.has(jobType)) {
      answered.set(jobType, out.get(jobType) as T);
    } else {
      unanswered.set(jobType, started);
      // whatever it ends with, the type may be called again once it answered
      const done = () => unanswered.delete(jobType);
      pending.then(done, done);
      markUnavailable(ctx, jobType, `${what}: no answer within ${deadline} ms from slot ${slotOf(ctx, jobType)}`);
    }
  }
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
