/**
 * HMAC request signing between a sender (the http launcher, the manager's alert
 * webhook) and its receiver, scheme v1:
 * `x-batchjob-signature: v1=<hex HMAC-SHA256(secret, "v1\n<timestamp>\n<nonce>\n<chunkId>\n<body>")>`.
 * A receiver's check: 1. well-formed headers; 2. a timestamp within the window
 * of now; 3. the HMAC of one of its secrets, compared in constant time; 4. a
 * nonce not seen before (a `ReplayGuard`, in memory or in Redis, keeps each
 * nonce until its timestamp has left the window, plus one window of slack).
 * examples/http-receiver.mjs re-implements `verifySignature`; keep them in sync.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { InvalidArgumentError } from "./errors.js";
import type { RedisClient } from "./redis.js";

export const SIGNATURE_HEADER = "x-batchjob-signature";
export const TIMESTAMP_HEADER = "x-batchjob-timestamp";
export const NONCE_HEADER = "x-batchjob-nonce";
export const CHUNK_ID_HEADER = "x-batchjob-chunk-id";

/** The signature scheme this module signs and verifies: the `v1=` of the signature header. */
export const SIGNATURE_SCHEME = "v1";

/** Default window a signed request stays valid either side of its timestamp, and its nonce is kept: 5 minutes. */
export const DEFAULT_REPLAY_WINDOW_MS = 300_000;

const TIMESTAMP = /^\d{1,16}$/;
/** 128 random bits as hex, as `signRequest` draws them. */
const NONCE = /^[0-9a-f]{32}$/;
/** Visible ASCII (no newline: the fields of the signed text are separated by newlines). */
const CHUNK_ID = /^[\x21-\x7e]{1,200}$/;
const SIGNATURE = /^([A-Za-z0-9]{1,16})=(.*)$/s;
const HEX_DIGEST = /^[0-9a-f]{64}$/;

function hmac(secret: string, timestamp: string, nonce: string, chunkId: string, body: string | Uint8Array): Buffer {
  return createHmac("sha256", secret)
    .update(`${SIGNATURE_SCHEME}\n${timestamp}\n${nonce}\n${chunkId}\n`)
    .update(body)
    .digest();
}

export interface SignInput {
  secret: string;
  /** The chunk id, sent as `x-batchjob-chunk-id` (a UUID). */
  chunkId: string;
  /** The body exactly as sent. */
  body: string;
  /** @defaultValue Date.now() */
  timestamp?: number;
  /** @defaultValue 16 random bytes as hex */
  nonce?: string;
}

/** The four headers of a signed request: timestamp, nonce, chunk id and the `v1=` signature over them and the body. */
export function signRequest(input: SignInput): Record<string, string> {
  const timestamp = String(input.timestamp ?? Date.now());
  const nonce = input.nonce ?? randomBytes(16).toString("hex");
  if (!TIMESTAMP.test(timestamp)) throw new InvalidArgumentError(`signRequest: timestamp ${timestamp} is not ms`);
  if (!NONCE.test(nonce)) throw new InvalidArgumentError("signRequest: the nonce must be 32 lower-case hex digits");
  if (!CHUNK_ID.test(input.chunkId)) {
    throw new InvalidArgumentError("signRequest: the chunk id must be 1 to 200 visible ASCII characters");
  }
  const digest = hmac(input.secret, timestamp, nonce, input.chunkId, input.body).toString("hex");
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [NONCE_HEADER]: nonce,
    [CHUNK_ID_HEADER]: input.chunkId,
    [SIGNATURE_HEADER]: `${SIGNATURE_SCHEME}=${digest}`,
  };
}

/**
 * Remembers the nonces of verified requests so that a replay is refused.
 * `remember` records `nonce` for `ttlMs` and says whether it was new; it is
 * called only for requests whose signature holds.
 */
export interface ReplayGuard {
  remember(nonce: string, ttlMs: number): boolean | Promise<boolean>;
}

/** Sweeps of expired nonces happen at most this often. */
const SWEEP_EVERY_MS = 1000;

/** Nonces in this process's memory: enough for one receiver process (not for several behind a load balancer). */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, number>();
  private nextSweep = 0;

  /** @param clock monotonic ms; @defaultValue performance.now */
  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Nonces held now (expired ones are dropped by the next sweep). */
  get size(): number {
    return this.seen.size;
  }

  remember(nonce: string, ttlMs: number): boolean {
    const now = this.clock();
    if (now >= this.nextSweep) {
      for (const [n, expires] of this.seen) if (expires <= now) this.seen.delete(n);
      this.nextSweep = now + SWEEP_EVERY_MS;
    }
    const expires = this.seen.get(nonce);
    if (expires !== undefined && expires > now) return false;
    this.seen.set(nonce, now + ttlMs);
    return true;
  }
}

/** Nonces in Redis (`SET key 1 NX PX ttl`), shared by every receiver process that uses the same Redis and prefix. */
export class RedisReplayGuard implements ReplayGuard {
  /** @param prefix of the nonce keys; @defaultValue "batchjob:nonce:" */
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix = "batchjob:nonce:",
  ) {}

  async remember(nonce: string, ttlMs: number): Promise<boolean> {
    const reply = await this.redis.set(`${this.prefix}${nonce}`, "1", "PX", Math.max(1, Math.ceil(ttlMs)), "NX");
    return reply === "OK";
  }
}

let processGuard: MemoryReplayGuard | undefined;

/** The guard `verifySignature` uses when given none: one per process, made on first use. */
function defaultGuard(): MemoryReplayGuard {
  if (processGuard === undefined) processGuard = new MemoryReplayGuard();
  return processGuard;
}

/** Request headers as node:http (`req.headers`) or fetch (`Headers`) give them. */
export type RequestHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyOptions {
  /** The secret, or during a rotation the list of secrets accepted (any one may match). */
  secret: string | readonly string[];
  headers: RequestHeaders;
  /** The raw body exactly as received. */
  body: string | Uint8Array;
  /**
   * A request is valid while its timestamp is this close to now, either side;
   * its nonce is kept until then. @defaultValue 300000
   */
  replayWindowMs?: number;
  /** Where nonces are kept. @defaultValue one MemoryReplayGuard per process */
  replayGuard?: ReplayGuard;
  /** @defaultValue Date.now() */
  now?: number;
}

export type VerifyResult =
  | {
      ok: true;
      /** The signed chunk id: answer a second request for it from what the first one did (dedupe). */
      chunkId: string;
      nonce: string;
      timestamp: number;
      /** Index in `secret` of the secret that matched (0 when `secret` is a string). */
      secretIndex: number;
    }
  | { ok: false; reason: string };

/** A header's single value; undefined when absent; null when it is not one string. */
function header(headers: RequestHeaders, name: string): string | null | undefined {
  let value: unknown;
  if (typeof Headers !== "undefined" && headers instanceof Headers) value = headers.get(name) ?? undefined;
  else if (typeof headers === "object" && headers !== null) {
    const record = headers as Record<string, unknown>;
    value = Object.hasOwn(record, name)
      ? record[name]
      : Object.entries(record).find(([k]) => k.toLowerCase() === name)?.[1];
  }
  if (Array.isArray(value)) value = value.length === 1 ? value[0] : null;
  if (value === undefined || value === "") return undefined;
  return typeof value === "string" ? value : null;
}

function secretsOf(secret: string | readonly string[]): readonly string[] {
  const list = typeof secret === "string" ? [secret] : secret;
  if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== "string" || s === "")) {
    throw new InvalidArgumentError("verifySignature: give a secret, or a non-empty list of non-empty secrets");
  }
  return list;
}

type Fields = { timestamp: string; nonce: string; chunkId: string; digest: Buffer };

/** The signed fields of the headers, or why they are refused (before any HMAC is computed). */
function fieldsOf(headers: RequestHeaders, now: number, windowMs: number): Fields | { reason: string } {
  const timestamp = header(headers, TIMESTAMP_HEADER);
  if (timestamp === undefined) return { reason: "missing timestamp" };
  if (timestamp === null || !TIMESTAMP.test(timestamp)) return { reason: "malformed timestamp" };
  const skew = now - Number(timestamp);
  if (skew > windowMs) return { reason: "stale timestamp" };
  if (-skew > windowMs) return { reason: "timestamp in the future" };
  const nonce = header(headers, NONCE_HEADER);
  if (nonce === undefined) return { reason: "missing nonce" };
  if (nonce === null || !NONCE.test(nonce)) return { reason: "malformed nonce" };
  const chunkId = header(headers, CHUNK_ID_HEADER);
  if (chunkId === undefined) return { reason: "missing chunk id" };
  if (chunkId === null || !CHUNK_ID.test(chunkId)) return { reason: "malformed chunk id" };
  const signature = header(headers, SIGNATURE_HEADER);
  if (signature === undefined) return { reason: "missing signature" };
  const m = signature === null ? null : SIGNATURE.exec(signature);
  if (!m?.[1] || m[2] === undefined) return { reason: "malformed signature" };
  if (m[1] !== SIGNATURE_SCHEME)
    return { reason: `unsupported signature scheme ${m[1]} (expected ${SIGNATURE_SCHEME})` };
  if (!HEX_DIGEST.test(m[2])) return { reason: "malformed signature" };
  return { timestamp, nonce, chunkId, digest: Buffer.from(m[2], "hex") };
}

/**
 * Checks a signed request: well-formed headers, a timestamp within
 * `replayWindowMs` of now, the HMAC of one of the secrets (constant-time),
 * then a nonce not seen before. Never rejects for what the request holds; it
 * rejects for a bad `secret` option, or when the replay guard does (Redis
 * unreachable: answer 5xx, the launcher retries).
 */
export async function verifySignature(opts: VerifyOptions): Promise<VerifyResult> {
  const secrets = secretsOf(opts.secret);
  const windowMs = opts.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
  if (!Number.isFinite(windowMs) || windowMs < 0) {
    throw new InvalidArgumentError(`verifySignature: replayWindowMs must be a number of ms >= 0, got ${windowMs}`);
  }
  const now = opts.now ?? Date.now();
  const fields = fieldsOf(opts.headers, now, windowMs);
  if ("reason" in fields) return { ok: false, reason: fields.reason };
  const { timestamp, nonce, chunkId, digest } = fields;
  const body = typeof opts.body === "string" || opts.body instanceof Uint8Array ? opts.body : null;
  if (body === null) return { ok: false, reason: "the body must be a string or bytes" };
  let secretIndex = -1;
  // every secret is tried, so the time taken does not tell which one matched
  secrets.forEach((secret, i) => {
    if (timingSafeEqual(hmac(secret, timestamp, nonce, chunkId, body), digest) && secretIndex < 0) secretIndex = i;
  });
  if (secretIndex < 0) return { ok: false, reason: "signature mismatch" };
  const guard = opts.replayGuard ?? defaultGuard();
  // kept until the timestamp leaves the window (the request is stale from then on), and one
  // window more: the guard's clock is not the wall clock, which may be stepped back
  const ttlMs = Number(timestamp) + windowMs - now + 1 + windowMs;
  if (!(await guard.remember(nonce, ttlMs))) return { ok: false, reason: "replayed request (nonce already seen)" };
  return { ok: true, chunkId, nonce, timestamp: Number(timestamp), secretIndex };
}
