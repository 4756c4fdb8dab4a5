/**
 * The http launcher: POSTs each chunk to a receiver and reads its answer.
 *   1. body = the chunk as JSON, signed with HMAC-SHA256 over a timestamp, a nonce,
 *      the chunk id and the body (see ../signature.ts);
 *   2. 2xx: a blank body (every item done) or a result document {"results": [...]}, items
 *      without a result are done; a body that is not one, or is over maxResponseBytes, fails
 *      every item (retried): it never acks; any other status: items without a result failed and are retried;
 *   3. unreachable receiver: crashed; no answer within timeoutMs: timeout.
 * It has no progress channel: its reports never name a running item.
 * Also the `http` kind's definition (its options and factory).
 */
import {
  type Batch,
  defaults,
  ErrorCode,
  type Logger,
  redactUrl,
  redactUrlsInText,
  signRequest,
  z,
} from "@batchjob/core";
import { commonOptions, defineLauncher } from "./definition.js";
import {
  abortedUnreported,
  encodeChunk,
  errorCode,
  errorMessage,
  fatalReport,
  parseResultDocument,
  ResultCollector,
  UNREPORTED_OK,
  unreportedFailure,
} from "./results.js";
import type { ChunkReport, Launcher, RunContext } from "./types.js";

/** Characters of a non-2xx body kept in the items' error. */
const ERROR_BODY_CHARS = 200;
/** Bytes of a non-2xx body read (the rest is not). */
const ERROR_BODY_BYTES = 4096;
/** Largest 2xx body read: a larger one fails the chunk. @defaultValue 10485760 (10 MiB) */
export const DEFAULT_MAX_RESPONSE_BYTES: number = defaults.launcher.maxResponseBytes;

export interface HttpLauncherOptions {
  url: string;
  secret: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** @defaultValue DEFAULT_MAX_RESPONSE_BYTES */
  maxResponseBytes?: number;
  log: Logger;
}

/**
 * Reads at most `limit` bytes of a response body; `over` when it had more
 * (then the rest is not read: the body is cancelled). A Content-Length over
 * the limit is refused before reading.
 */
async function readBounded(res: Response, limit: number): Promise<{ bytes: Uint8Array; over: boolean }> {
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  if (!res.body) return { bytes: new Uint8Array(0), over: false };
  if (declared > limit) {
    await res.body.cancel().catch(() => {});
    return { bytes: new Uint8Array(0), over: true };
  }
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > limit) {
      parts.push(value.subarray(0, limit - size));
      await reader.cancel().catch(() => {});
      return { bytes: Buffer.concat(parts), over: true };
    }
    parts.push(value);
    size += value.byteLength;
  }
  return { bytes: Buffer.concat(parts), over: false };
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
    const maxBytes = this.opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const body = encodeChunk(batch);
    const timeout = AbortSignal.timeout(timeoutMs);
    let status: number;
    let answer: { bytes: Uint8Array; over: boolean };
    try {
      const res = await fetch(url, {
        method: "POST",
        body,
        // a redirect is answered as its 3xx status: the signed chunk is not sent on elsewhere
        redirect: "manual",
        headers: {
          ...this.baseHeaders,
          "content-type": "application/json",
          ...signRequest({ secret, chunkId: batch.id, body }),
        },
        signal: AbortSignal.any([ctx.signal, timeout]),
      });
      status = res.status;
      answer = await readBounded(res, status >= 200 && status <= 299 ? maxBytes : ERROR_BODY_BYTES);
    } catch (err) {
      if (ctx.signal.aborted)
        return { results: results.finish(), unreported: abortedUnreported(ctx.signal), peakMemoryBytes: null };
      if (timeout.aborted) return fatalReport(results, "timeout", `timed out after ${timeoutMs} ms`, null);
      // item errors are stored in Redis: no URL password in them
      const why = redactUrlsInText(fetchFailure(err));
      return fatalReport(results, "crashed", `cannot reach ${redactUrl(url)}: ${why}`, null);
    }

    if (status < 200 || status > 299) {
      const text = new TextDecoder().decode(answer.bytes);
      const error = `HTTP ${status}: ${text.slice(0, ERROR_BODY_CHARS)}`;
      return { results: results.finish(), unreported: unreportedFailure(error), peakMemoryBytes: null };
    }
    const problem = answer.over
      ? `the body is over maxResponseBytes (${maxBytes} bytes)`
      : this.collect(answer, results);
    if (problem !== undefined) {
      const error = `HTTP ${status}: refused the answer: ${problem}`;
      const where = { code: ErrorCode.LAUNCHER_OUTPUT, chunkId: batch.id, jobType: batch.jobType, url: redactUrl(url) };
      ctx.log.warn(where, error);
      // nothing of a refused answer counts (collect adds no result then): the whole chunk fails and is retried
      return { results: results.finish(), unreported: unreportedFailure(error), peakMemoryBytes: null };
    }
    return { results: results.finish(), unreported: UNREPORTED_OK, peakMemoryBytes: null };
  }

  /** Adds the results of a 2xx body to `results`; returns why the body is refused, if it is. */
  private collect(answer: { bytes: Uint8Array }, results: ResultCollector): string | undefined {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(answer.bytes);
    } catch {
      return "the body is not UTF-8";
    }
    const doc = parseResultDocument(text);
    if ("problem" in doc) return `not a result document: ${doc.problem}`;
    doc.results.forEach((r, i) => {
      results.add({ id: r.id, ...r.outcome }, `results[${i}]`);
    });
    return undefined;
  }

  async close(): Promise<void> {}
}

/** `http`: a signed POST of each chunk to a receiver; its answer settles the items. */
export const httpDefinition = defineLauncher({
  kind: "http",
  schema: z.strictObject({
    /** Secret in part: a password in it would be shown as ***; but fetch refuses credentials in a URL. */
    url: z
      .url({ protocol: /^https?$/ })
      .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), {
        message: "give credentials in headers (Authorization), not in the URL: fetch refuses a URL with credentials",
      })
      .meta({ secret: "url" }),
    /** HMAC-SHA256 key shared with the receiver. Secret. */
    secret: z.string().min(16, { message: "secret: use at least 16 characters" }).meta({ secret: true }),
    /** Sent with every request; their values are secret (Authorization: Bearer ...). */
    headers: z.record(z.string(), z.string().meta({ secret: true })).optional(),
    timeoutMs: commonOptions.timeoutMs,
    /** Largest 2xx response body read; a larger one fails the chunk (it never acks). @defaultValue 10485760 */
    maxResponseBytes: z.int().min(1).default(DEFAULT_MAX_RESPONSE_BYTES),
  }),
  create: (spec, ctx) =>
    new HttpLauncher({
      url: spec.url,
      secret: spec.secret,
      headers: spec.headers,
      timeoutMs: spec.timeoutMs,
      maxResponseBytes: spec.maxResponseBytes,
      log: ctx.log,
    }),
});

declare module "@batchjob/core" {
  /** Tells the type checker this kind's options (`LauncherSpec`, `LauncherInput`, `defineConfig`). */
  interface LauncherKinds {
    http: typeof httpDefinition;
  }
}
