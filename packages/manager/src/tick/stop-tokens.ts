/**
 * Step 4, stop: the stop tokens of the types above target, or that still
 * hold some, set in one script per type from the listed workers, so a worker
 * that takes a token meanwhile is counted as leaving, never stopped twice.
 * Each type on its own: a type whose slot fails keeps its tokens as they were.
 * The calls go out together on the auto-pipelining reader (a new leader
 * writes every type's tokens once).
 * A paused type holding tokens also wakes its lingering workers (#10): one
 * waiting on an empty queue takes a token when woken and passes the wake on,
 * so it leaves now rather than at the end of its `idleMs`.
 */
import { observed, type TickStep } from "./context.js";
import { perTypeEach } from "./per-type.js";

export const stopTokens: TickStep = {
  name: "stop",
  async run(ctx) {
    const { tokens } = ctx.state;
    const touched = ctx.decisions.filter(
      (dec) => !ctx.unavailable.has(dec.jobType) && (dec.stopTokens > 0 || (tokens.get(dec.jobType) ?? -1) !== 0),
    );
    if (touched.length === 0) return;
    const obs = observed(ctx);
    const dead = new Set(obs.dead);
    const listed = new Map<string, string[]>();
    for (const w of obs.workers) {
      if (!dead.has(w.hostId)) listed.set(w.jobType, [...(listed.get(w.jobType) ?? []), w.id]);
    }
    const dispatched = ctx.state.inFlight.perType();
    const byType = new Map(touched.map((dec) => [dec.jobType, dec]));
    const set = await perTypeEach(ctx, [...byType.keys()], "setting its stop tokens", (jobType) =>
      ctx.deps.reader.setStopTokens(jobType, byType.get(jobType)?.target ?? 0, {
        listed: listed.get(jobType) ?? [],
        dispatched: dispatched.get(jobType) ?? 0,
      }),
    );
    const wake: string[] = [];
    for (const dec of touched) {
      const r = set.get(dec.jobType);
      if (r) {
        dec.stopTokens = r.tokens;
        tokens.set(dec.jobType, r.tokens);
        if (r.tokens > 0 && obs.paused.has(dec.jobType)) wake.push(dec.jobType);
      } else {
        // the tokens written before stay; forget them, so the next tick writes them again
        tokens.delete(dec.jobType);
        dec.stopTokens = 0;
        dec.reason += `; stop tokens not set: ${ctx.unavailable.get(dec.jobType)}`;
      }
    }
    await perTypeEach(ctx, wake, "waking its lingering workers", (jobType) => ctx.deps.queue.wakeNext(jobType));
  },
};
