/**
 * /healthz and /readyz, for container probes (no token needed):
 *   healthz: the process answers and Redis answers PING within a bound;
 *   readyz:  what the serving process says (the manager: started and
 *            connected; the worker: its daemon started and not stopping),
 *            and Redis reachable. 200 `{ ok: true }`, else 503 with why.
 */
import type { ServerResponse } from "node:http";
import type { RedisClient } from "@batchjob/core";
import { sendJson } from "./respond.js";

/** How long /healthz waits for PING by default. */
export const HEALTH_TIMEOUT_MS = 1000;

/** Why a readiness check fails, or null when ready. */
export type ReadyCheck = () => string | null | Promise<string | null>;

/** Null when Redis answers PING within `timeoutMs`, else why not. */
export async function redisAnswers(client: RedisClient, timeoutMs: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`Redis did not answer PING within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([
      client.ping().then(
        () => null,
        (err: unknown) => `Redis did not answer PING: ${err instanceof Error ? err.message : String(err)}`,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function serveProbe(
  res: ServerResponse,
  checks: Array<() => Promise<string | null> | string | null>,
): Promise<void> {
  for (const check of checks) {
    const why = await check();
    if (why !== null) {
      sendJson(res, 503, { ok: false, error: why });
      return;
    }
  }
  sendJson(res, 200, { ok: true });
}
