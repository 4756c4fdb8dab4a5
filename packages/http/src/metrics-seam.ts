/**
 * The one place the server meets per-minute metrics (#10 item 1): an optional
 * provider of a job type's minute series and its oldest pending age. Given,
 * the dashboard draws its charts and /metrics reports the age from it; absent,
 * the page says "metrics not available" and /api/metrics answers 404.
 * `defaultMetrics` wires in core's per-minute metrics (`TypeMetrics`).
 */
import { type MinutePoint as CoreMinutePoint, TypeMetrics } from "@batchjob/core";
import type { StatusSource } from "./status-data.js";

/**
 * One minute of a job type's activity, as the dashboard draws it: the fields
 * of core's `MinutePoint` (items done, retried and dead; chunks; run time sum
 * and count) a provider must give.
 */
export type MinutePoint = Pick<
  CoreMinutePoint,
  "minute" | "done" | "retried" | "dead" | "chunks" | "runMsSum" | "runCount"
>;

export interface MetricsProvider {
  /** The last `minutes` minutes of `type`, oldest first (minutes without activity may be left out). */
  series(type: string, minutes: number): Promise<MinutePoint[]>;
  /** Age (ms) of the oldest pending item of `type`; null when none is pending. */
  oldestPendingAgeMs(type: string): Promise<number | null>;
}

/** How many minutes /api/metrics returns when `minutes` is not given, and the most it returns. */
export const SERIES_MINUTES = { default: 60, max: 24 * 60 } as const;

/**
 * The provider a server uses when its options name none: core's per-minute
 * metrics and oldest pending age, read from Redis (`TypeMetrics`), so every
 * server (dashboard, manager) has them.
 */
export function defaultMetrics(source: StatusSource): MetricsProvider {
  const metrics = new TypeMetrics(source.client, source.keys, (t) => source.queue.queuesOf(t));
  return {
    series: (type, minutes) => metrics.series(type, minutes),
    oldestPendingAgeMs: (type) => metrics.oldestPendingAgeMs(type),
  };
}
