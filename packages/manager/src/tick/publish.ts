/**
 * Step 9, publish: for `batchjob status`, the decisions that changed since
 * the last tick (a decision's time is left out of the comparison), the load
 * level, and every 30 s the effective config, its secrets redacted.
 */
import { type BatchjobConfig, configSchema, redactSecrets } from "@batchjob/core";
import type { Decision } from "../planner.js";
import { observed, type TickStep } from "./context.js";

/** How often the effective config is written again. */
const CONFIG_EVERY_MS = 30_000;

/**
 * The config as JSON for anyone who reads Redis: every field the schema marks
 * secret redacted (URL passwords "***", launcher secrets, header and env
 * values "[redacted]"; see @batchjob/core secrets.ts), code (inline jobs,
 * refill functions) shown as "[function]", a config's own launcher kinds by
 * their names.
 */
export function publishableConfig(config: BatchjobConfig): unknown {
  const redacted = redactSecrets(configSchema, { ...config, launchers: config.launchers.map((d) => d.kind) });
  return JSON.parse(JSON.stringify(redacted, (_k, v) => (typeof v === "function" ? "[function]" : v)));
}

/** Whether two decisions say the same (field by field, all of them plain values: no JSON per type per tick). */
function sameDecision(a: Decision | undefined, b: Decision): boolean {
  if (a === undefined) return false;
  for (const key of Object.keys(b) as (keyof Decision)[]) if (a[key] !== b[key]) return false;
  return Object.keys(a).length === Object.keys(b).length;
}

export const publish: TickStep = {
  name: "publish",
  async run(ctx) {
    const d = ctx.deps;
    const now = observed(ctx).now;
    const { published } = ctx.state;
    const changed: string[] = [];
    const seen: Decision[] = [];
    for (const dec of ctx.decisions) {
      if (sameDecision(published.get(dec.jobType), dec)) continue;
      seen.push({ ...dec });
      changed.push(dec.jobType, JSON.stringify({ ...dec, at: now }));
    }
    // separate commands: these keys live in different cluster slots
    await Promise.all([
      changed.length > 0 ? d.client.hset(d.keys.decisions, ...changed) : undefined,
      d.client.set(d.keys.load, JSON.stringify({ ...ctx.level, at: now })),
    ]);
    for (const dec of seen) published.set(dec.jobType, dec);
    if (now - ctx.state.publishedConfigAt > CONFIG_EVERY_MS) {
      await d.client.set(d.keys.config, JSON.stringify(publishableConfig(d.config)));
      ctx.state.publishedConfigAt = now;
    }
  },
};
