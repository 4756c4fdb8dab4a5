/**
 * HMAC signing of http launcher requests (scheme v1): the format, every way
 * verification refuses (tampering, staleness, replay), secret rotation, and
 * the replay guards: in memory, and in a real Redis with SET NX PX.
 */
import { createHmac } from "node:crypto";
import {
  MemoryReplayGuard,
  RedisReplayGuard,
  type RequestHeaders,
  signRequest,
  type VerifyOptions,
  verifySignature,
} from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { closeClient, connect, freshPrefix } from "../../../test/harness/index.js";

const secret = "a-test-secret-of-32-characters!!";
const previous = "the-previous-secret-32-chars!!!!";
const chunkId = "0190f5c2-7a1b-7c3d-8e4f-a1b2c3d4e5f6";
const nonce = "0123456789abcdef0123456789abcdef";
const body = `{"chunkId":"${chunkId}","jobType":"t","items":[{"id":"a","payload":"é","attempts":0}]}`;
const now = 1_800_000_000_000;

const signed = (fields: { secret?: string; timestamp?: number; nonce?: string; chunkId?: string } = {}) =>
  signRequest({ secret, chunkId, body, timestamp: now, nonce, ...fields });

/** Verifies with a fresh memory guard unless one is given. */
const verify = (headers: RequestHeaders, opts: Partial<VerifyOptions> = {}) =>
  verifySignature({ secret, headers, body, now, replayGuard: new MemoryReplayGuard(), ...opts });

describe("signature", () => {
  it("signs timestamp, nonce and chunk id with the body: v1=<hex HMAC-SHA256(secret, v1\\nts\\nnonce\\nchunk\\nbody)>", () => {
    const expected = createHmac("sha256", secret).update(`v1\n${now}\n${nonce}\n${chunkId}\n${body}`).digest("hex");
    expect(signed()).toEqual({
      "x-batchjob-timestamp": String(now),
      "x-batchjob-nonce": nonce,
      "x-batchjob-chunk-id": chunkId,
      "x-batchjob-signature": `v1=${expected}`,
    });
    const drawn = signRequest({ secret, chunkId, body });
    expect(drawn["x-batchjob-nonce"]).toMatch(/^[0-9a-f]{32}$/);
    expect(signRequest({ secret, chunkId, body })["x-batchjob-nonce"]).not.toBe(drawn["x-batchjob-nonce"]);
  });

  it("verifies its own signature from node or fetch headers, the body as a string or bytes", async () => {
    const ok = { ok: true, chunkId, nonce, timestamp: now, secretIndex: 0 };
    expect(await verify(signed())).toEqual(ok);
    expect(await verify(new Headers(signed()), { body: Buffer.from(body) })).toEqual(ok);
    const upper = Object.fromEntries(Object.entries(signed()).map(([k, v]) => [k.toUpperCase(), v]));
    expect(await verify(upper)).toEqual(ok);
  });

  it("refuses a replayed request (same nonce) within its window, in one guard", async () => {
    const replayGuard = new MemoryReplayGuard();
    const headers = signed();
    expect(await verify(headers, { replayGuard })).toMatchObject({ ok: true });
    expect(await verify(headers, { replayGuard, now: now + 299_000 })).toEqual({
      ok: false,
      reason: "replayed request (nonce already seen)",
    });
    // the same chunk signed again with a fresh nonce is a new request (the receiver dedupes on the chunk id)
    const again = signed({ nonce: "ffffffffffffffffffffffffffffffff" });
    expect(await verify(again, { replayGuard })).toMatchObject({ ok: true, chunkId });
  });

  it("keeps each nonce until its timestamp leaves the window, and one window more, then forgets it", async () => {
    let clock = 0;
    const replayGuard = new MemoryReplayGuard(() => clock);
    // sent 100 s ago: 200 s of its 300 s window are left, kept 500 s
    expect(await verify(signed({ timestamp: now - 100_000 }), { replayGuard })).toMatchObject({ ok: true });
    clock = 499_999;
    expect(replayGuard.remember(nonce, 1)).toBe(false);
    clock = 500_002;
    expect(replayGuard.remember(nonce, 1)).toBe(true);
    // expired nonces are swept (at most once a second), not only replaced
    expect(replayGuard.remember("another", 1)).toBe(true);
    expect(replayGuard.size).toBe(2);
    clock = 600_000;
    expect(replayGuard.remember("a third", 1)).toBe(true);
    expect(replayGuard.size).toBe(1);
  });

  it("uses one process-wide memory guard when given none", async () => {
    const headers = signed({ nonce: "abababababababababababababababab" });
    const opts = { secret, headers, body, now };
    expect(await verifySignature(opts)).toMatchObject({ ok: true });
    expect(await verifySignature(opts)).toMatchObject({ ok: false, reason: "replayed request (nonce already seen)" });
  });

  it("refuses a tampered chunk id, nonce, timestamp, body or signature", async () => {
    const mismatch = { ok: false, reason: "signature mismatch" };
    const good = signed();
    const swap = (name: string, value: string) => ({ ...good, [name]: value });
    expect(await verify(swap("x-batchjob-chunk-id", "0190f5c2-7a1b-7c3d-8e4f-a1b2c3d4e5f7"))).toEqual(mismatch);
    expect(await verify(swap("x-batchjob-nonce", "1123456789abcdef0123456789abcdef"))).toEqual(mismatch);
    expect(await verify(swap("x-batchjob-timestamp", String(now + 1)))).toEqual(mismatch);
    expect(await verify(good, { body: `${body} ` })).toEqual(mismatch);
    const sig = good["x-batchjob-signature"] ?? "";
    expect(await verify(swap("x-batchjob-signature", `${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}`))).toEqual(
      mismatch,
    );
  });

  it("refuses a request signed with another secret, without spending its nonce", async () => {
    const replayGuard = new MemoryReplayGuard();
    expect(await verify(signed({ secret: `${secret}x` }), { replayGuard })).toEqual({
      ok: false,
      reason: "signature mismatch",
    });
    expect(replayGuard.size).toBe(0);
    expect(await verify(signed(), { replayGuard })).toMatchObject({ ok: true });
  });

  it("accepts the previous secret while the list holds both (rotation), and says which matched", async () => {
    const both = [secret, previous];
    expect(await verify(signed({ secret: previous }), { secret: both })).toMatchObject({ ok: true, secretIndex: 1 });
    expect(await verify(signed(), { secret: both })).toMatchObject({ ok: true, secretIndex: 0 });
    expect(await verify(signed({ secret: previous }), { secret: [secret] })).toEqual({
      ok: false,
      reason: "signature mismatch",
    });
  });

  it("refuses timestamps beyond the window either side of now (default 5 minutes)", async () => {
    const at = (ts: number, replayWindowMs?: number) => verify(signed({ timestamp: ts }), { replayWindowMs });
    expect(await at(now - 300_000)).toMatchObject({ ok: true });
    expect(await at(now - 300_001)).toEqual({ ok: false, reason: "stale timestamp" });
    expect(await at(now - 3_600_000)).toEqual({ ok: false, reason: "stale timestamp" });
    expect(await at(now + 300_001)).toEqual({ ok: false, reason: "timestamp in the future" });
    expect(await at(now - 2_000, 1_000)).toEqual({ ok: false, reason: "stale timestamp" });
    expect(await at(now - 2_000, 3_000)).toMatchObject({ ok: true });
  });

  it("refuses missing or malformed headers, and the unversioned sha256= scheme", async () => {
    const good = signed();
    const without = (name: string) => Object.fromEntries(Object.entries(good).filter(([k]) => k !== name));
    const swap = (name: string, value: string | string[]) => ({ ...good, [name]: value });
    const reason = async (h: RequestHeaders) => ((await verify(h)) as { reason?: string }).reason;
    expect(await reason(without("x-batchjob-timestamp"))).toBe("missing timestamp");
    expect(await reason(swap("x-batchjob-timestamp", "soon"))).toBe("malformed timestamp");
    expect(await reason(without("x-batchjob-nonce"))).toBe("missing nonce");
    expect(await reason(swap("x-batchjob-nonce", "short"))).toBe("malformed nonce");
    expect(await reason(without("x-batchjob-chunk-id"))).toBe("missing chunk id");
    expect(await reason(swap("x-batchjob-chunk-id", "a b"))).toBe("malformed chunk id");
    expect(await reason(swap("x-batchjob-chunk-id", [chunkId, chunkId]))).toBe("malformed chunk id");
    expect(await reason(without("x-batchjob-signature"))).toBe("missing signature");
    const hex = (good["x-batchjob-signature"] ?? "").slice("v1=".length);
    expect(await reason(swap("x-batchjob-signature", hex))).toBe("malformed signature");
    expect(await reason(swap("x-batchjob-signature", `v1=${hex}00`))).toBe("malformed signature");
    expect(await reason(swap("x-batchjob-signature", `sha256=${hex}`))).toBe(
      "unsupported signature scheme sha256 (expected v1)",
    );
  });

  it("rejects a missing secret or a bad window: a receiver's mistake, not the request's", async () => {
    await expect(verify(signed(), { secret: [] })).rejects.toThrow(/non-empty list/);
    await expect(verify(signed(), { secret: "" })).rejects.toThrow(/non-empty list/);
    await expect(verify(signed(), { replayWindowMs: Number.NaN })).rejects.toThrow(/replayWindowMs/);
  });

  describe("RedisReplayGuard", () => {
    it("refuses a nonce already set by any guard on the same Redis, kept with its window as PTTL", async () => {
      const redis = connect();
      try {
        const prefix = `${freshPrefix()}:nonce:`;
        const receiverA = new RedisReplayGuard(redis, prefix);
        const receiverB = new RedisReplayGuard(redis, prefix);
        const headers = signed({ timestamp: now - 100_000 });
        expect(await verify(headers, { replayGuard: receiverA })).toMatchObject({ ok: true });
        expect(await verify(headers, { replayGuard: receiverB })).toEqual({
          ok: false,
          reason: "replayed request (nonce already seen)",
        });
        // kept for what is left of its window (200 s of 300) and one window more
        const ttl = await redis.pttl(`${prefix}${nonce}`);
        expect(ttl).toBeGreaterThan(450_000);
        expect(ttl).toBeLessThanOrEqual(500_001);
        expect(await receiverB.remember("fresh", 60_000)).toBe(true);
        expect(await receiverA.remember("fresh", 60_000)).toBe(false);
      } finally {
        await closeClient(redis);
      }
    });
  });
});
