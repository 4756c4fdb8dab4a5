/**
 * The shared enqueue cases (test/fixtures/enqueue-cases.json) on core's
 * BatchQueue.enqueue: the same table drives the Python and PHP clients'
 * tests, so the three validate, dedupe and store alike. Then the protocol's
 * version check on the script itself: another version is refused with
 * BJ_ERR_PROTOCOL_VERSION before anything is written.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { testQueue } from "../../../test/harness/queue.js";
import { type BatchjobError, ENQUEUE_PROTOCOL_VERSION, type EnqueueItem, ProtocolVersionError } from "../src/index.js";
import { enqueueArgs, enqueueKeys, runScript } from "../src/scripts/commands.js";

interface Expect {
  added?: number;
  ids?: unknown[];
  deduped?: string[];
  error?: string;
  message?: string[];
}
interface Case {
  name: string;
  maxPayloadBytes?: number;
  enqueueBatch?: number;
  calls: { type: unknown; items: unknown; expect: Expect }[];
  after?: { pending?: number; entries?: [string, string][]; noKeys?: boolean };
}

const table = JSON.parse(
  readFileSync(new URL("../../../test/fixtures/enqueue-cases.json", import.meta.url), "utf8"),
) as { protocolVersion: number; cases: Case[] };

const SPECIALS: Record<string, unknown> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
  unserialisable: 10n,
};

/** The table's value in JavaScript: `$special` and `$repeat` objects replaced. */
function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (Object.keys(o).length === 1 && "$special" in o) {
    const s = SPECIALS[o.$special as string];
    if (s === undefined) throw new Error(`enqueue-cases.json: unknown $special ${String(o.$special)}`);
    return s;
  }
  if (Object.keys(o).length === 1 && "$repeat" in o) {
    const [text, n] = o.$repeat as [string, number];
    return text.repeat(n);
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decode(x)]));
}

/** Expected ids: "#" matches any generated id. */
function idsMatch(expected: unknown[], got: string[]): void {
  expect(got).toHaveLength(expected.length);
  expected.forEach((e, i) => {
    if (e === "#") expect(got[i]).toMatch(/^#\d+$/);
    else expect(got[i]).toBe(e);
  });
}

describe("the shared enqueue cases, on core", () => {
  it("uses the protocol version the table was written for", () => {
    expect(ENQUEUE_PROTOCOL_VERSION).toBe(table.protocolVersion);
  });

  for (const c of table.cases) {
    it(c.name, async () => {
      const t = testQueue({ maxPayloadBytes: c.maxPayloadBytes, enqueueBatch: c.enqueueBatch });
      try {
        for (const call of c.calls) {
          const run = t.queue.enqueue(decode(call.type) as string, decode(call.items) as EnqueueItem[]);
          const want = decode(call.expect) as Expect;
          if (want.error) {
            const err = (await run.catch((e: unknown) => e)) as BatchjobError;
            expect(err.code, String(err)).toBe(want.error);
            for (const m of want.message ?? []) expect(err.message).toContain(m);
          } else {
            const r = await run;
            expect(r.added).toBe(want.added);
            expect(r.deduped).toEqual(want.deduped);
            idsMatch(want.ids ?? [], r.ids);
          }
        }
        const after = c.after ?? {};
        if (after.noKeys) expect(await t.client.keys(`${t.prefix}:*`)).toEqual([]);
        const type = decode(c.calls[0]?.type) as string;
        if (after.pending !== undefined) expect((await t.queue.counts(type)).pending).toBe(after.pending);
        if (after.entries) {
          const entries = (await t.client.lrange(t.keys.type(type).pending, 0, -1)).map((e) => e.split("\t"));
          expect(entries.map(([, p]) => p)).toEqual(after.entries.map(([, p]) => p));
          idsMatch(
            after.entries.map(([id]) => id),
            entries.map(([id]) => id as string),
          );
        }
      } finally {
        await t.close();
      }
    });
  }
});

describe("the enqueue script's protocol version", () => {
  it("refuses another version before writing anything, and takes its own", async () => {
    const t = testQueue();
    try {
      const keys = enqueueKeys(t.keys.type("t"));
      const args = enqueueArgs(["a", ""], ["1", "2"], 0, 2);
      for (const other of ["0", "1", "3", ""]) {
        const err = await runScript(t.client, "enqueue", keys, [other, ...args.slice(1)]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ProtocolVersionError);
        expect((err as BatchjobError).code).toBe("BJ_ERR_PROTOCOL_VERSION");
        expect((err as Error).message).toContain(
          `enqueue protocol version ${other} is not supported: this script speaks version 2`,
        );
      }
      expect(await t.client.keys(`${t.prefix}:*`)).toEqual([]);
      expect(args[0]).toBe(ENQUEUE_PROTOCOL_VERSION);
      expect(await runScript(t.client, "enqueue", keys, args)).toEqual([2, 1, []]);
    } finally {
      await t.close();
    }
  });
});
