/**
 * Step 10, alerts: every `manager.alerts.checkEveryMs`, each job type with
 * `alerts` is checked against its thresholds: the oldest pending item's wait
 * (`longWaitSeconds`) and the items that died within `deadGrowthMinutes`
 * (`deadGrowth`), from the metrics in Redis. A crossing is recorded in
 * `keys.alerts` (what status and the dashboard show) and posted once to the
 * webhook, signed as the http launcher signs; a clear is posted once too.
 * Posts run beside the tick (a slow webhook holds up nothing) and are tried
 * again at the next check until one is delivered.
 */
import {
  type JobTypeConfig,
  type Keys,
  type Logger,
  newChunkId,
  type RedisClient,
  shardQueues,
  signRequest,
  TypeMetrics,
} from "@batchjob/core";
import { observed, type TickStep } from "./context.js";

export type AlertKind = "longWait" | "deadGrowth";

/** A firing alert as `keys.alerts` keeps it, and the body of a notification. */
export interface AlertState {
  jobType: string;
  alert: AlertKind;
  /** The value read: ms waited (longWait) or items dead in the window (deadGrowth). */
  value: number;
  /** The threshold crossed, in the same unit. */
  threshold: number;
  /** When it started firing (ms, Redis clock). */
  since: number;
}

export interface AlertNotification extends AlertState {
  event: "firing" | "resolved";
  prefix: string;
  /** When it was sent (ms, Redis clock). */
  at: number;
}

/** What the alerts step keeps between checks (the leader's). */
export class AlertTracker {
  private lastCheck = Number.NEGATIVE_INFINITY;
  /** Notifications not delivered yet, by `<type>:<alert>` (the newest replaces an older one). */
  private readonly undelivered = new Map<string, AlertNotification>();
  private readonly posting = new Set<string>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    private readonly log: Logger,
    private readonly webhook: { webhook: string; secret: string; timeoutMs: number } | undefined,
    private readonly checkEveryMs: number,
  ) {}

  /** Checks the types with alerts, at most once per checkEveryMs; `now` is Redis time (ms). */
  async check(types: readonly JobTypeConfig[], now: number): Promise<void> {
    if (now - this.lastCheck < this.checkEveryMs) return;
    this.lastCheck = now;
    const watched = types.filter((t) => t.alerts && (t.alerts.longWaitSeconds || t.alerts.deadGrowth));
    if (watched.length === 0) return;
    const shards = new Map(types.map((t) => [t.name, t.shards]));
    const metrics = new TypeMetrics(this.client, this.keys, (t) => shardQueues(t, shards.get(t) ?? 1));
    const firing = new Map<string, AlertState>();
    for (const [field, json] of Object.entries(await this.client.hgetall(this.keys.alerts))) {
      try {
        firing.set(field, JSON.parse(json) as AlertState);
      } catch {
        firing.delete(field); // a malformed record: treated as not firing, rewritten if it fires
      }
    }
    for (const t of watched) {
      const a = t.alerts as NonNullable<JobTypeConfig["alerts"]>;
      const readings: [AlertKind, number, number | undefined][] = [];
      try {
        if (a.longWaitSeconds)
          readings.push(["longWait", (await metrics.oldestPendingAgeMs(t.name)) ?? 0, a.longWaitSeconds * 1000]);
        if (a.deadGrowth) {
          const series = await metrics.series(t.name, a.deadGrowthMinutes);
          readings.push(["deadGrowth", series.reduce((n, p) => n + p.dead, 0), a.deadGrowth]);
        }
      } catch (err) {
        // a type whose slot is down: its alerts wait for the next check, the other types go on
        this.log.warn({ err, jobType: t.name }, "alert check failed");
        continue;
      }
      for (const [alert, value, threshold] of readings) {
        if (threshold === undefined) continue;
        const field = `${t.name}:${alert}`;
        const was = firing.get(field);
        if (value >= threshold && !was) {
          const state: AlertState = { jobType: t.name, alert, value, threshold, since: now };
          await this.client.hset(this.keys.alerts, field, JSON.stringify(state));
          this.log.warn({ ...state }, "alert firing");
          this.notify(field, { ...state, event: "firing", prefix: this.keys.prefix, at: now });
        } else if (value < threshold && was) {
          await this.client.hdel(this.keys.alerts, field);
          this.log.info({ ...was, value }, "alert resolved");
          this.notify(field, { ...was, value, event: "resolved", prefix: this.keys.prefix, at: now });
        }
      }
    }
    // notifications a webhook did not take last time
    for (const field of this.undelivered.keys()) this.post(field);
  }

  private notify(field: string, n: AlertNotification): void {
    if (!this.webhook) return;
    this.undelivered.set(field, n);
    this.post(field);
  }

  /** Posts the undelivered notification of `field` beside the tick; one post per field at a time. */
  private post(field: string): void {
    const hook = this.webhook;
    const n = this.undelivered.get(field);
    if (!hook || !n || this.posting.has(field)) return;
    this.posting.add(field);
    const body = JSON.stringify(n);
    fetch(hook.webhook, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...signRequest({ secret: hook.secret, chunkId: newChunkId(), body }),
      },
      body,
      signal: AbortSignal.timeout(hook.timeoutMs),
    })
      .then(async (res) => {
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) throw new Error(`the webhook answered ${res.status}`);
        // delivered, unless a newer notification of the field replaced it meanwhile
        if (this.undelivered.get(field) === n) this.undelivered.delete(field);
      })
      .catch((err: unknown) => {
        this.log.warn(
          { err: err instanceof Error ? err.message : String(err), alert: field },
          "alert not delivered; tried again at the next check",
        );
      })
      .finally(() => this.posting.delete(field));
  }
}

export const alerts: TickStep = {
  name: "alerts",
  async run(ctx) {
    await ctx.state.alerts.check(ctx.typeList, observed(ctx).now);
  },
};
