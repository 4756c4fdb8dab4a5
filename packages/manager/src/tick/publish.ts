/**
 * Step 9, publish: for `batchjob status`, the decisions that changed since
 * the last tick (a decision's time is left out of the comparison), the load
 * level, and every 30 s the effective config, its secrets redacted. A
 * config that lowers a type's `shards` below what was published is logged
 * with the items its dropped shards still hold: nothing takes them until
 * the count is raised again.
 */
import { type BatchjobConfig, configSchema, redactSecrets, shardQueue } from "@batchjob/core";
import type { Decision } from "../planner.js";
import { observed, type TickContext, type TickStep } from "./context.js";

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
      await warnDroppedShards(ctx, await d.client.get(d.keys.config));
      await d.client.set(d.keys.config, JSON.stringify(publishableConfig(d.config)));
      ctx.state.publishedConfigAt = now;
    }
  },
};

/** Logs each type whose `shards` the config lowers below the `published` config's, with what its dropped shards hold. */
async function warnDroppedShards(ctx: TickContext, published: string | null): Promise<void> {
  if (!published) return;
  let before: { name?: unknown; shards?: unknown }[];
  try {
    const types = (JSON.parse(published) as { jobTypes?: unknown }).jobTypes;
    if (!Array.isArray(types)) return;
    before = types;
  } catch {
    return; // a corrupt published config is overwritten; status reports it
  }
  const d = ctx.deps;
  for (const t of d.config.jobTypes) {
    const was = before.find((b) => b?.name === t.name)?.shards;
    if (typeof was !== "number" || !Number.isInteger(was) || was <= t.shards) continue;
    let stranded = 0;
    for (let i = t.shards; i < was; i++) stranded += (await d.queue.counts(shardQueue(t.name, i))).total;
    d.log.warn(
      { jobType: t.name, shards: t.shards, before: was, stranded },
      `shards of ${t.name} lowered from ${was} to ${t.shards}: the ${stranded} items of the shards dropped wait until it is raised again`,
    );
  }
}
