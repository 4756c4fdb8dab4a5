/**
 * HMAC request signing between the http launcher and its receiver:
 * `sha256=<hex HMAC-SHA256(secret, "<timestampMs>.<body>")>`, checked in
 * constant time and refused when the timestamp is outside the tolerance.
 * examples/http-receiver.mjs re-implements `verifySignature`; keep them in sync.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-batchjob-signature";
export const TIMESTAMP_HEADER = "x-batchjob-timestamp";
export const CHUNK_ID_HEADER = "x-batchjob-chunk-id";

/** Default window a signed request stays valid, either side of `now`: 5 minutes. */
export const DEFAULT_TOLERANCE_MS = 300_000;

const SIGNATURE = /^sha256=([0-9a-f]{64})$/;
const TIMESTAMP = /^\d{1,16}$/;

function hmacHex(secret: string, timestamp: string, body: string | Uint8Array): string {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");
}

/** The `x-batchjob-signature` value for a body sent at `timestampMs`. */
export function signRequest(secret: string, timestampMs: number, body: string): string {
  return `sha256=${hmacHex(secret, String(timestampMs), body)}`;
}

export interface VerifyOptions {
  secret: string;
  /** The `x-batchjob-timestamp` header (ms since epoch). */
  timestamp: string | number | null | undefined;
  /** The `x-batchjob-signature` header. */
  signature: string | null | undefined;
  /** The raw body exactly as received. */
  body: string | Uint8Array;
  /** @defaultValue 300000 */
  toleranceMs?: number;
  /** @defaultValue Date.now() */
  now?: number;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** Checks a signed request: well-formed headers, a fresh timestamp, a matching HMAC. */
export function verifySignature(opts: VerifyOptions): VerifyResult {
  const { secret, signature, body, toleranceMs = DEFAULT_TOLERANCE_MS, now = Date.now() } = opts;
  if (opts.timestamp === null || opts.timestamp === undefined || opts.timestamp === "") {
    return { ok: false, reason: "missing timestamp" };
  }
  const timestamp = String(opts.timestamp);
  if (!TIMESTAMP.test(timestamp)) return { ok: false, reason: "malformed timestamp" };
  const skew = now - Number(timestamp);
  if (skew > toleranceMs) return { ok: false, reason: "stale timestamp" };
  if (-skew > toleranceMs) return { ok: false, reason: "timestamp in the future" };
  if (!signature) return { ok: false, reason: "missing signature" };
  const m = SIGNATURE.exec(signature);
  if (!m?.[1]) return { ok: false, reason: "malformed signature" };
  const expected = Buffer.from(hmacHex(secret, timestamp, body), "hex");
  const given = Buffer.from(m[1], "hex");
  return timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: "signature mismatch" };
}
