/** Step 8, refill (refiller.ts): call the enqueuers of types below their low watermark. */
import { observed, type TickStep } from "./context.js";

export const refill: TickStep = {
  name: "refill",
  async run(ctx) {
    const backlog = observed(ctx).backlog;
    const pending = new Map(ctx.typeList.map((t) => [t.name, backlog.get(t.name)?.pending ?? 0]));
    ctx.refilled = await ctx.deps.refiller.check([...ctx.typeList], pending);
  },
};
