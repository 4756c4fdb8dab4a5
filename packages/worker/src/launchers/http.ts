/**
 * The http launcher: POSTs each chunk to a receiver and reads its answer.
 *   1. body = the chunk as JSON, signed with HMAC-SHA256 (see ../signature.ts);
 *   2. 2xx: an optional JSON body {"results": [...]}, items without a result are done;
 *      any other status: items without a result failed and are retried;
 *   3. unreachable receiver: crashed; no answer within timeoutMs: timeout.
 * It has no progress channel: its reports never name a running item.
 * Also the `http` kind's definition (its options and factory).
 */
import { type Batch, type Logger, z } from "@batchjob/core";
import { CHUNK_ID_HEADER, SIGNATURE_HEADER, signRequest, TIMESTAMP_HEADER } from "../signature.js";
import { commonOptions, defineLauncher } from "./definition.js";
import {
  abortedUnreported,
  encodeChunk,
  errorCode,
  errorMessage,
  fatalReport,
  ResultCollector,
  resultsOfReturn,
  UNREPORTED_OK,
  unreportedFailure,
} from "./results.js";
import type { ChunkReport, Launcher, RunContext } from "./types.js";

/** Characters of a non-2xx body kept in the items' error. */
const ERROR_BODY_CHARS = 200;

export interface HttpLauncherOptions {
  url: string;
  secret: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  log: Logger;
}

/** Why fetch failed: the system code of its cause (ECONNREFUSED, ENOTFOUND...) or its message. */
function fetchFailure(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined;
  return errorCode(cause) ?? errorCode(err) ?? errorMessage(cause ?? err);
}

export class HttpLauncher implements Launcher {
  readonly kind = "http";
  readonly payloads = "json";
  /** spec.headers with lower-case names, so ours replace any of the same name. */
  private readonly baseHeaders: Record<string, string>;

  constructor(private readonly opts: HttpLauncherOptions) {
    this.baseHeaders = Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  }

  async run(batch: Batch, ctx: RunContext): Promise<ChunkReport> {
    const results = new ResultCollector(batch, ctx.log);
    if (ctx.signal.aborted)
      return { results: results.finish(), unreported: abortedUnreported(ctx.signal), peakMemoryBytes: null };
    const { url, secret, timeoutMs } = this.opts;
    const body = encodeChunk(batch);
    const timestamp = Date.now();
    const timeout = AbortSignal.timeout(timeoutMs);
    let status: number;
    let text: string;
    try {
      const res = await fetch(url, {
        method: "POST",
        body,
        // a redirect is answered as its 3xx status: the signed chunk is not sent on elsewhere
        redirect: "manual",
        headers: {
          ...this.baseHeaders,
          "content-type": "application/json",
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signRequest(secret, timestamp, body),
          [CHUNK_ID_HEADER]: batch.id,
        },
        signal: AbortSignal.any([ctx.signal, timeout]),
      });
      status = res.status;
      text = await res.text();
    } catch (err) {
      if (ctx.signal.aborted)
        return { results: results.finish(), unreported: abortedUnreported(ctx.signal), peakMemoryBytes: null };
      if (timeout.aborted) return fatalReport(results, "timeout", `timed out after ${timeoutMs} ms`, null);
      return fatalReport(results, "crashed", `cannot reach ${url}: ${fetchFailure(err)}`, null);
    }

    if (status < 200 || status > 299) {
      const error = `HTTP ${status}: ${text.slice(0, ERROR_BODY_CHARS)}`;
      return { results: results.finish(), unreported: unreportedFailure(error), peakMemoryBytes: null };
    }
    if (text.trim() !== "") {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        results.warn("response body", `not JSON: ${text.slice(0, 120)}`);
      }
      results.addAll(resultsOfReturn(value), "response results");
    }
    return { results: results.finish(), unreported: UNREPORTED_OK, peakMemoryBytes: null };
  }

  async close(): Promise<void> {}
}

/** `http`: a signed POST of each chunk to a receiver; its answer settles the items. */
export const httpDefinition = defineLauncher({
  kind: "http",
  schema: z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    /** HMAC-SHA256 key shared with the receiver. */
    secret: z.string().min(16, { message: "secret: use at least 16 characters" }),
    headers: z.record(z.string(), z.string()).optional(),
    timeoutMs: commonOptions.timeoutMs,
  }),
  create: (spec, ctx) =>
    new HttpLauncher({
      url: spec.url,
      secret: spec.secret,
      headers: spec.headers,
      timeoutMs: spec.timeoutMs,
      log: ctx.log,
    }),
});

declare module "@batchjob/core" {
  /** Tells the type checker this kind's options (`LauncherSpec`, `LauncherInput`, `defineConfig`). */
  interface LauncherKinds {
    http: typeof httpDefinition;
  }
}
