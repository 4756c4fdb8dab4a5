/**
 * One HTTP server (node:http) for the dashboard, its JSON API, Prometheus
 * /metrics and the probes. Each request:
 *   1. /healthz and /readyz answer without a token,
 *   2. every other route needs the token when one is set (401 otherwise),
 *   3. a POST action must not be cross-site (403 otherwise),
 *   4. the route runs; a failure is a JSON error, never a stack trace.
 * `routes: "probes"` (the worker daemon) serves the probes and /metrics only.
 * Stop: `close()` ends idle connections and waits for the rest.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { BatchjobError, InvalidArgumentError, type Logger } from "@batchjob/core";
import { type ApiContext, apiAction, apiGet, isActionPath } from "./api.js";
import { crossSiteReason, isAuthorized, sessionCookie } from "./auth.js";
import { ASSET_TYPES, asset, dashboardPage, PAGE_CSP, tokenPage } from "./dashboard-page.js";
import { assertSafeListen, formatAddress, type ListenAddress, parseListen } from "./listen-address.js";
import { defaultMetrics, type MetricsProvider } from "./metrics-seam.js";
import { HEALTH_TIMEOUT_MS, type ReadyCheck, redisAnswers, serveProbe } from "./probes.js";
import { PrometheusMetrics } from "./prometheus.js";
import { HttpError, send, sendError } from "./respond.js";
import type { StatusSource } from "./status-data.js";

export interface HttpServerOptions {
  /** `HOST:PORT` or a parsed address; port 0 picks a free one. */
  listen: string | ListenAddress;
  /** Redis, keys and queue to read and act on. */
  source: StatusSource;
  /** Bearer token every route but the probes needs; required off loopback. @defaultValue none */
  token?: string | undefined;
  /** "all", or "probes": /healthz, /readyz and /metrics only (the worker daemon). @defaultValue "all" */
  routes?: "all" | "probes";
  /**
   * Per-minute metrics (metrics-seam.ts); without, no charts and /api/metrics
   * is 404. @defaultValue defaultMetrics(source) (core's TypeMetrics); pass undefined for none
   */
  metrics?: MetricsProvider | undefined;
  /** Extra readiness of the serving process (its daemon started, not stopping). */
  ready?: ReadyCheck;
  /** How long the probes wait for Redis's PING. @defaultValue 1000 */
  healthTimeoutMs?: number;
  log?: Logger;
}

export interface BatchjobHttpServer {
  /** `http://host:port` it listens on. */
  url: string;
  address: ListenAddress;
  /** Records one manager tick's duration in `batchjob_manager_tick_seconds`. */
  observeTick(seconds: number): void;
  close(): Promise<void>;
}

const PROBE_ROUTES = new Set(["/healthz", "/readyz", "/metrics"]);

function errorStatus(err: unknown): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof BatchjobError && err.code === "BJ_ERR_REDIS_UNAVAILABLE") return { status: 503, message };
  if (err instanceof BatchjobError && err.code !== "BJ_ERR_SCRIPT_FAILED") return { status: 400, message };
  return { status: 500, message };
}

export async function startHttpServer(o: HttpServerOptions): Promise<BatchjobHttpServer> {
  const address = typeof o.listen === "string" ? parseListen(o.listen, "the listen address") : o.listen;
  assertSafeListen(address, o.token);
  const routes = o.routes ?? "all";
  const healthMs = o.healthTimeoutMs ?? HEALTH_TIMEOUT_MS;
  const metrics = "metrics" in o ? o.metrics : defaultMetrics(o.source);
  const prometheus = new PrometheusMetrics(o.source, metrics);
  const api: ApiContext = { source: o.source, metrics };
  const redisUp = () => redisAnswers(o.source.client, healthMs);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://server");
    const path = url.pathname;
    const method = req.method ?? "GET";
    // 1. probes
    if (path === "/healthz") return serveProbe(res, [redisUp]);
    if (path === "/readyz") return serveProbe(res, [...(o.ready ? [o.ready] : []), redisUp]);
    if (path === "/favicon.ico" && routes === "all") {
      // no icon: said without an error, so a browser's console stays clean
      res.writeHead(204, { "Cache-Control": "max-age=86400" });
      res.end();
      return;
    }
    if (routes === "probes" && !PROBE_ROUTES.has(path)) return sendError(res, 404, `no route ${path} here`);
    // 2. the token (the dashboard exchanges ?token= for its cookie)
    if (path === "/" && method === "GET" && o.token && url.searchParams.has("token")) {
      const given = url.searchParams.get("token") ?? "";
      const probe = { headers: { authorization: `Bearer ${given}` } } as IncomingMessage;
      if (!isAuthorized(probe, o.token)) return send(res, 401, tokenPage(true), "text/html; charset=utf-8");
      // behind a TLS proxy (X-Forwarded-Proto: https) the cookie is sent over TLS only
      const secure = req.headers["x-forwarded-proto"] === "https";
      res.writeHead(303, { Location: "/", "Set-Cookie": sessionCookie(o.token, secure), "Cache-Control": "no-store" });
      res.end();
      return;
    }
    if (!isAuthorized(req, o.token)) {
      if (path === "/" && method === "GET")
        return send(res, 401, tokenPage(false), "text/html; charset=utf-8", { "Content-Security-Policy": PAGE_CSP });
      res.setHeader("WWW-Authenticate", 'Bearer realm="batchjob"');
      return sendError(res, 401, "a token is needed: Authorization: Bearer <token>");
    }
    // 3. actions
    if (method === "POST") {
      const why = crossSiteReason(req);
      if (why) return sendError(res, 403, why);
      if (await apiAction(api, url, req, res)) return;
      return sendError(res, isActionPath(path) ? 400 : 404, `no action ${path}`);
    }
    if (method !== "GET" && method !== "HEAD") return sendError(res, 405, `${method} is not served`);
    // 4. pages and reads
    if (path === "/metrics")
      return send(res, 200, await prometheus.scrape(), prometheus.registry.contentType, {
        "Cache-Control": "no-store",
      });
    if (path === "/")
      return send(
        res,
        200,
        dashboardPage({ prefix: o.source.keys.prefix, metrics: metrics !== undefined }),
        "text/html; charset=utf-8",
        { "Content-Security-Policy": PAGE_CSP },
      );
    if (path.startsWith("/assets/")) {
      const name = path.slice("/assets/".length);
      const body = await asset(name);
      const type = ASSET_TYPES[name];
      if (body && type) return send(res, 200, body, type);
      return sendError(res, 404, `no asset ${name}`);
    }
    if (isActionPath(path)) return sendError(res, 405, `${path} takes POST`);
    if (await apiGet(api, url, res)) return;
    sendError(res, 404, `no route ${path}`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const { status, message } = errorStatus(err);
      if (status >= 500) o.log?.warn({ err, path: req.url?.split("?")[0] }, "http request failed");
      if (res.headersSent) res.destroy();
      else sendError(res, status, message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new InvalidArgumentError(
          `cannot listen on ${formatAddress(address)}: ${err.code === "EADDRINUSE" ? "the port is in use" : err.message}`,
        ),
      ),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  const bound: ListenAddress = { host: address.host, port: (server.address() as AddressInfo).port };
  const url = `http://${formatAddress(bound)}`;
  o.log?.info({ url, routes, token: o.token ? "required" : "none" }, "http server listening");
  let closing: Promise<void> | undefined;
  return {
    url,
    address: bound,
    observeTick: (seconds) => prometheus.tick.observe(seconds),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
