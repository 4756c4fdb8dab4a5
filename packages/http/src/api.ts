/**
 * The JSON API: /api/status (exactly `batchjob status --json`), /api/metrics
 * (a type's minute series through the metrics seam), the running workers
 * (/api/workers, sorted by job type then start), a type's dead letters,
 * and the actions: pause, resume, dead retry and dead purge. A job type name
 * is checked before any Redis call; a bad one is a 400 naming it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isJobTypeName, PausedTypes, RedisWorkerList } from "@batchjob/core";
import { type MetricsProvider, SERIES_MINUTES } from "./metrics-seam.js";
import { HttpError, readJsonBody, sendJson } from "./respond.js";
import { collectStatus, type StatusSource } from "./status-data.js";

/** Recent workers in /api/status, as `batchjob status` shows by default. */
export const STATUS_HISTORY = 10;
/** Dead letters listed per type by default, and the most listed. */
export const DEAD_LIMIT = { default: 20, max: 500 } as const;

export interface ApiContext {
  source: StatusSource;
  metrics: MetricsProvider | undefined;
}

function typeName(raw: string): string {
  const name = decodeURIComponent(raw);
  if (!isJobTypeName(name)) throw new HttpError(400, `${JSON.stringify(name)} is not a job type name`);
  return name;
}

function intParam(url: URL, name: string, d: { default: number; max: number }): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return d.default;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > d.max)
    throw new HttpError(400, `${name} must be an integer from 1 to ${d.max}, got ${JSON.stringify(raw)}`);
  return n;
}

/** `ids` of an action body: absent (all) or a list of item id strings. */
function idsOf(body: Record<string, unknown>): string[] | undefined {
  const ids = body.ids;
  if (ids === undefined) return undefined;
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === "string"))
    throw new HttpError(400, "ids must be a list of item id strings (leave it out for every dead item)");
  return ids;
}

/** Serves a GET under /api; false when the path is not one. */
export async function apiGet(ctx: ApiContext, url: URL, res: ServerResponse): Promise<boolean> {
  if (url.pathname === "/api/status") {
    sendJson(res, 200, await collectStatus(ctx.source, { historyLimit: STATUS_HISTORY }));
    return true;
  }
  if (url.pathname === "/api/workers") {
    // an entry that is not a worker list entry is skipped, as `status` does (it names them in its problems)
    const workers = await new RedisWorkerList(ctx.source.client, ctx.source.keys).list({}, () => {});
    workers.sort((a, b) => a.jobType.localeCompare(b.jobType) || a.createdAt.localeCompare(b.createdAt));
    sendJson(res, 200, { workers });
    return true;
  }
  if (url.pathname === "/api/metrics") {
    const type = url.searchParams.get("type");
    if (type === null) throw new HttpError(400, "name the job type: /api/metrics?type=T");
    const name = typeName(type);
    if (!ctx.metrics) throw new HttpError(404, "metrics not available: this server has no per-minute metrics");
    const minutes = intParam(url, "minutes", SERIES_MINUTES);
    const [points, oldestPendingAgeMs] = await Promise.all([
      ctx.metrics.series(name, minutes),
      ctx.metrics.oldestPendingAgeMs(name),
    ]);
    sendJson(res, 200, { type: name, minutes, points, oldestPendingAgeMs });
    return true;
  }
  const dead = /^\/api\/types\/([^/]+)\/dead$/.exec(url.pathname);
  if (dead?.[1]) {
    const name = typeName(dead[1]);
    const items = await ctx.source.queue.listDead(name, { limit: intParam(url, "limit", DEAD_LIMIT) });
    sendJson(res, 200, { type: name, items });
    return true;
  }
  return false;
}

const ACTIONS: Record<
  string,
  (ctx: ApiContext, type: string, body: Record<string, unknown>) => Promise<Record<string, unknown>>
> = {
  pause: async ({ source }, type) => ({
    paused: true,
    changed: await new PausedTypes(source.client, source.keys).pause(type),
  }),
  resume: async ({ source }, type) => ({
    paused: false,
    changed: await new PausedTypes(source.client, source.keys).resume(type),
  }),
  "dead/retry": async ({ source }, type, body) => ({ retried: await source.queue.retryDead(type, idsOf(body)) }),
  "dead/purge": async ({ source }, type, body) => ({ purged: await source.queue.purgeDead(type, idsOf(body)) }),
};

/** Serves a POST action (its request already checked for auth and cross-site); false when the path is not one. */
export async function apiAction(
  ctx: ApiContext,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const m = /^\/api\/types\/([^/]+)\/(pause|resume|dead\/retry|dead\/purge)$/.exec(url.pathname);
  const action = m?.[2] ? ACTIONS[m[2]] : undefined;
  if (!m?.[1] || !action) return false;
  const type = typeName(m[1]);
  const body = await readJsonBody(req);
  sendJson(res, 200, { type, ...(await action(ctx, type, body)) });
  return true;
}

/** True for a path an action is served on (a GET there is a 405). */
export function isActionPath(pathname: string): boolean {
  return /^\/api\/types\/[^/]+\/(pause|resume|dead\/retry|dead\/purge)$/.test(pathname);
}
