/**
 * /metrics: Prometheus text through prom-client, on a registry of this
 * server's own (never the global one). Each scrape reads Redis once (the
 * status report, each type's lifetime counters, the oldest pending age from
 * the metrics seam) and sets the gauges; concurrent scrapes share one read.
 * The manager's tick histogram is observed by the manager that serves it;
 * elsewhere it is registered with no observations.
 */
import type { QueueCounts } from "@batchjob/core";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { MetricsProvider } from "./metrics-seam.js";
import { collectStatus, type StatusSource } from "./status-data.js";

/** Lifetime counters of a type (QueueCounts) reported as `batchjob_items_total{outcome}`. */
export const OUTCOMES: readonly (keyof QueueCounts)[] = [
  "enqueued",
  "deduped",
  "acquired",
  "acked",
  "retried",
  "died",
  "returned",
  "reclaimed",
  "revived",
  "purged",
];

/** Buckets (seconds) of `batchjob_manager_tick_seconds`. */
export const TICK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class PrometheusMetrics {
  readonly registry = new Registry();
  private readonly queueItems = new Gauge({
    name: "batchjob_queue_items",
    help: "Items of a job type by state: pending, leased, delayed, dead",
    labelNames: ["type", "state"],
    registers: [this.registry],
  });
  private readonly items = new Counter({
    name: "batchjob_items_total",
    help: "Items of a job type by outcome since its queue was created (its stats hash)",
    labelNames: ["type", "outcome"],
    registers: [this.registry],
  });
  private readonly workers = new Gauge({
    name: "batchjob_workers",
    help: "Workers of a job type: running now, and the manager's target",
    labelNames: ["type", "state"],
    registers: [this.registry],
  });
  private readonly oldest = new Gauge({
    name: "batchjob_oldest_pending_age_seconds",
    help: "Age of a job type's oldest pending item (0 when none is pending; absent without per-minute metrics)",
    labelNames: ["type"],
    registers: [this.registry],
  });
  private readonly hosts = new Gauge({
    name: "batchjob_hosts",
    help: "Worker hosts by state: alive (heartbeat within hostTtlMs) or dead",
    labelNames: ["state"],
    registers: [this.registry],
  });
  private readonly paused = new Gauge({
    name: "batchjob_paused",
    help: "1 when a job type is paused",
    labelNames: ["type"],
    registers: [this.registry],
  });
  private readonly problems = new Gauge({
    name: "batchjob_status_problems",
    help: "Values that could not be read at the last scrape (see batchjob status)",
    registers: [this.registry],
  });
  /** Observed by a manager serving this registry; no observations elsewhere. */
  readonly tick = new Histogram({
    name: "batchjob_manager_tick_seconds",
    help: "Duration of the manager's ticks run as leader by the process serving these metrics",
    buckets: TICK_BUCKETS,
    registers: [this.registry],
  });
  private reading: Promise<string> | undefined;

  constructor(
    private readonly source: StatusSource,
    private readonly provider: MetricsProvider | undefined,
  ) {}

  /** The text of one scrape. */
  scrape(): Promise<string> {
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<string> {
    const r = await collectStatus(this.source, { historyLimit: 0 });
    const names = r.jobTypes.map((t) => t.name);
    // the lifetime counters, summed over a sharded type's shards
    const stats = await Promise.all(names.map((n) => this.source.queue.counts(n).catch(() => null)));
    const ages = this.provider
      ? await Promise.all(names.map((n) => this.provider?.oldestPendingAgeMs(n).catch(() => undefined)))
      : [];
    for (const g of [this.queueItems, this.items, this.workers, this.oldest, this.hosts, this.paused]) g.reset();
    r.jobTypes.forEach((t, i) => {
      for (const state of ["pending", "leased", "delayed", "dead"] as const) {
        const v = t[state];
        if (v !== null) this.queueItems.set({ type: t.name, state }, v);
      }
      this.workers.set({ type: t.name, state: "running" }, t.running);
      if (t.target !== null) this.workers.set({ type: t.name, state: "target" }, t.target);
      this.paused.set({ type: t.name }, t.paused ? 1 : 0);
      const s = stats[i];
      if (s) for (const outcome of OUTCOMES) this.items.inc({ type: t.name, outcome }, s[outcome]);
      const age = ages[i];
      if (age !== undefined) this.oldest.set({ type: t.name }, (age ?? 0) / 1000);
    });
    this.hosts.set({ state: "alive" }, r.hosts.filter((h) => h.alive).length);
    this.hosts.set({ state: "dead" }, r.hosts.filter((h) => !h.alive).length);
    this.problems.set(r.problems.length);
    return this.registry.metrics();
  }
}
