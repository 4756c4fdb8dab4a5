/** @batchjob/http: the HTTP server (dashboard, JSON API, Prometheus /metrics, probes) and the status report. */
export { ACTION_HEADER, COOKIE_NAME } from "./auth.js";
export {
  assertSafeListen,
  formatAddress,
  isLoopback,
  type ListenAddress,
  parseListen,
  TOKEN_ENV,
  tokenFromEnv,
} from "./listen-address.js";
export { type MetricsProvider, type MinutePoint, SERIES_MINUTES } from "./metrics-seam.js";
export { HEALTH_TIMEOUT_MS, type ReadyCheck } from "./probes.js";
export { OUTCOMES, TICK_BUCKETS } from "./prometheus.js";
export { type BatchjobHttpServer, type HttpServerOptions, startHttpServer } from "./server.js";
export {
  collectStatus,
  STATUS_READ_MS,
  type StatusHost,
  type StatusJobType,
  type StatusReport,
  type StatusSource,
  slotName,
} from "./status-data.js";
export { type Problems, readHistory, readStored, wrongField } from "./stored.js";
