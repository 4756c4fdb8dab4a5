/**
 * Step 4, stop: the stop tokens of the types above target, or that still
 * hold some, set in one script per type from the listed workers, so a worker
 * that takes a token meanwhile is counted as leaving, never stopped twice.
 */
import { observed, type TickStep } from "./context.js";

export const stopTokens: TickStep = {
  name: "stop",
  async run(ctx) {
    const { tokens } = ctx.state;
    const touched = ctx.decisions.filter((dec) => dec.stopTokens > 0 || (tokens.get(dec.jobType) ?? -1) !== 0);
    if (touched.length === 0) return;
    const obs = observed(ctx);
    const dead = new Set(obs.dead);
    const listed = new Map<string, string[]>();
    for (const w of obs.workers) {
      if (!dead.has(w.hostId)) listed.set(w.jobType, [...(listed.get(w.jobType) ?? []), w.id]);
    }
    const dispatched = ctx.state.inFlight.perType();
    await Promise.all(
      touched.map(async (dec) => {
        const r = await ctx.deps.queue.setStopTokens(dec.jobType, dec.target, {
          listed: listed.get(dec.jobType) ?? [],
          dispatched: dispatched.get(dec.jobType) ?? 0,
        });
        dec.stopTokens = r.tokens;
        tokens.set(dec.jobType, r.tokens);
      }),
    );
  },
};
