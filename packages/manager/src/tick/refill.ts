/** Step 8, refill (refiller.ts): call the enqueuers of types below their low watermark (not of types skipped this tick). */
import { observed, type TickStep } from "./context.js";

export const refill: TickStep = {
  name: "refill",
  async run(ctx) {
    const backlog = observed(ctx).backlog;
    const types = ctx.typeList.filter((t) => !ctx.unavailable.has(t.name));
    const pending = new Map(types.map((t) => [t.name, backlog.get(t.name)?.pending ?? 0]));
    ctx.refilled = await ctx.deps.refiller.check(types, pending);
  },
};
