/** HMAC signing of http launcher requests: the format, and every way verification refuses. */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signRequest, verifySignature } from "../src/signature.js";

const secret = "a-test-secret-of-32-characters!!";
const body = '{"chunkId":"c1","jobType":"t","items":[{"id":"a","payload":"é","attempts":0}]}';
const now = 1_800_000_000_000;

describe("signature", () => {
  it("signs as sha256=<hex HMAC-SHA256(secret, timestamp.body)>", () => {
    const expected = createHmac("sha256", secret).update(`${now}.${body}`).digest("hex");
    expect(signRequest(secret, now, body)).toBe(`sha256=${expected}`);
  });

  it("verifies its own signature, from a string or the raw bytes, header values as strings", () => {
    const signature = signRequest(secret, now, body);
    expect(verifySignature({ secret, timestamp: String(now), signature, body, now })).toEqual({ ok: true });
    expect(verifySignature({ secret, timestamp: now, signature, body: Buffer.from(body), now })).toEqual({ ok: true });
  });

  it("refuses another secret, another body and another timestamp", () => {
    const signature = signRequest(secret, now, body);
    const refused = { ok: false, reason: "signature mismatch" };
    expect(verifySignature({ secret: `${secret}x`, timestamp: now, signature, body, now })).toEqual(refused);
    expect(verifySignature({ secret, timestamp: now, signature, body: `${body} `, now })).toEqual(refused);
    expect(verifySignature({ secret, timestamp: now + 1, signature, body, now })).toEqual(refused);
  });

  it("refuses missing or malformed headers", () => {
    const signature = signRequest(secret, now, body);
    const v = (timestamp: string | undefined, sig: string | undefined) =>
      verifySignature({ secret, timestamp, signature: sig, body, now });
    expect(v(undefined, signature)).toEqual({ ok: false, reason: "missing timestamp" });
    expect(v("soon", signature)).toEqual({ ok: false, reason: "malformed timestamp" });
    expect(v(String(now), undefined)).toEqual({ ok: false, reason: "missing signature" });
    expect(v(String(now), signature.slice("sha256=".length))).toEqual({ ok: false, reason: "malformed signature" });
    expect(v(String(now), `${signature}00`)).toEqual({ ok: false, reason: "malformed signature" });
  });

  it("refuses timestamps beyond the tolerance either side of now (default 5 minutes)", () => {
    const at = (ts: number, toleranceMs?: number) =>
      verifySignature({ secret, timestamp: ts, signature: signRequest(secret, ts, body), body, now, toleranceMs });
    expect(at(now - 300_000)).toEqual({ ok: true });
    expect(at(now - 300_001)).toEqual({ ok: false, reason: "stale timestamp" });
    expect(at(now + 300_001)).toEqual({ ok: false, reason: "timestamp in the future" });
    expect(at(now - 2_000, 1_000)).toEqual({ ok: false, reason: "stale timestamp" });
  });
});
