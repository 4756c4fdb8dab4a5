/**
 * Property tests of verifySignature on what a receiver gets from anyone:
 * arbitrary headers and bodies never make it throw and never verify without
 * the secret (nor spend a nonce); a request signed with one of the secrets
 * verifies once, and changing any signed part of it is refused.
 */

import { MemoryReplayGuard, type RequestHeaders, signRequest, verifySignature } from "@batchjob/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const NUM_RUNS = 2000;
const secret = "a-test-secret-of-32-characters!!";
const now = 1_800_000_000_000;
const NAMES = ["x-batchjob-timestamp", "x-batchjob-nonce", "x-batchjob-chunk-id", "x-batchjob-signature"];

const hex = (n: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n });
const chunkId = fc.oneof(fc.uuid(), fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 40 }));
/** Values shaped like the real ones (so the checks past the format are reached), and anything else. */
const value = fc.oneof(
  fc.integer({ min: now - 400_000, max: now + 400_000 }).map(String),
  hex(32),
  chunkId,
  hex(64).map((h) => `v1=${h}`),
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
  fc.constantFrom(undefined, "", "v1=", "sha256=00"),
);
const headers = fc.oneof(
  fc.record(Object.fromEntries(NAMES.map((n) => [n, value])) as Record<string, typeof value>, { requiredKeys: [] }),
  fc.dictionary(fc.oneof(fc.constantFrom(...NAMES, ...NAMES.map((n) => n.toUpperCase())), fc.string()), value),
);
const body = fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.uint8Array({ maxLength: 200 }));
const request = fc.record({
  secret: fc.string({ minLength: 1, maxLength: 40 }),
  chunkId: fc.uuid(),
  body: fc.string({ unit: "binary", maxLength: 200 }),
  timestamp: fc.integer({ min: now - 300_000, max: now + 300_000 }),
  nonce: hex(32),
});

describe("verifySignature (fuzz)", () => {
  it(`never throws on arbitrary headers and bodies, never verifies them, spends no nonce (${NUM_RUNS} runs)`, async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(headers, body, async (h, b) => {
        runs++;
        const replayGuard = new MemoryReplayGuard();
        const result = await verifySignature({ secret, headers: h as RequestHeaders, body: b, now, replayGuard });
        expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^[a-z]/) });
        expect(replayGuard.size).toBe(0);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(runs).toBe(NUM_RUNS);
  });

  it(`verifies a signed request once, with the secret that signed it among others (${NUM_RUNS} runs)`, async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(request, fc.array(fc.string({ minLength: 1 }), { maxLength: 3 }), async (r, others) => {
        runs++;
        const secrets = [...others, r.secret];
        const h = signRequest(r);
        const replayGuard = new MemoryReplayGuard();
        const opts = { secret: secrets, headers: h, body: r.body, now, replayGuard };
        expect(await verifySignature(opts)).toEqual({
          ok: true,
          chunkId: r.chunkId,
          nonce: r.nonce,
          timestamp: r.timestamp,
          secretIndex: secrets.indexOf(r.secret),
        });
        expect(await verifySignature(opts)).toEqual({ ok: false, reason: "replayed request (nonce already seen)" });
        const without = secrets.filter((s) => s !== r.secret);
        if (without.length > 0) {
          expect(await verifySignature({ ...opts, secret: without })).toMatchObject({ ok: false });
        }
      }),
      { numRuns: NUM_RUNS },
    );
    expect(runs).toBe(NUM_RUNS);
  });

  it(`refuses a signed request with one header or the body replaced or one character changed (${NUM_RUNS} runs)`, async () => {
    let runs = 0;
    const change = fc.oneof(
      fc.record({ part: fc.constantFrom(...NAMES), to: value }),
      fc.record({ part: fc.constant("body"), to: body }),
      fc.record({
        part: fc.constantFrom(...NAMES, "body"),
        at: fc.nat(),
        to: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(request, change, async (r, c) => {
        runs++;
        const signed = signRequest(r);
        const h: Record<string, unknown> = { ...signed };
        const was = c.part === "body" ? r.body : (signed[c.part] ?? "");
        let to: unknown = c.to;
        if ("at" in c) {
          const i = c.at % Math.max(1, was.length);
          to = `${was.slice(0, i)}${c.to}${was.slice(i + 1)}`;
        }
        if (c.part !== "body") h[c.part] = to;
        const b = c.part === "body" ? (to as string | Uint8Array) : r.body;
        const unchanged =
          c.part === "body"
            ? Buffer.from(b).equals(Buffer.from(r.body))
            : to === was || (Array.isArray(to) && to.length === 1 && to[0] === was);
        const opts = { secret: r.secret, headers: h as RequestHeaders, body: b, now };
        const result = await verifySignature({ ...opts, replayGuard: new MemoryReplayGuard() });
        expect(result.ok).toBe(unchanged);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(runs).toBe(NUM_RUNS);
  });
});
