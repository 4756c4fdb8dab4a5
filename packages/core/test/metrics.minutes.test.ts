/**
 * The per-minute metrics (#10) written by the calls that settle: done,
 * retried, dead and returned items, ended chunks and their run time, in the
 * type's HASH of the current minute, which expires after the type's window;
 * a window of 0 writes nothing.
 */
import { TypeMetrics } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { testQueue } from "../../../test/harness/queue.js";

const policy = { maxAttempts: 2, backoff: { type: "fixed" as const, delayMs: 0, maxDelayMs: 0 } };

/** The minute of Redis's clock now. */
async function redisMinute(t: ReturnType<typeof testQueue>): Promise<number> {
  return Math.floor(Number((await t.client.time())[0]) / 60);
}

describe("per-minute metrics", () => {
  it("settle counts each outcome, the ended chunk and its run time, in the minute's HASH with the window's TTL", async () => {
    const t = testQueue({ defaultSettings: { ...policy, metricsWindowMinutes: 30 } });
    try {
      await t.queue.enqueue(
        "t",
        Array.from({ length: 6 }, (_, i) => ({ id: `i${i}`, payload: i })),
      );
      const b = await t.queue.acquire("t", { max: 4 });
      // a first settle leaves the chunk holding i3: no chunk ended yet
      await t.queue.settle("t", b.id, { ack: ["i0"], runMs: 5 });
      const before = await redisMinute(t);
      await t.queue.settle("t", b.id, {
        ack: ["i3"],
        fail: [
          { id: "i1", error: "temporary" },
          { id: "i2", error: "poison", retry: false },
        ],
        runMs: 250,
      });
      const after = await redisMinute(t);
      const m = new TypeMetrics(t.client, t.keys);
      const series = await m.series("t", 3);
      expect(series.map((p) => p.minute)).toEqual([after - 2, after - 1, after]);
      const total = (f: "done" | "retried" | "dead" | "returned" | "chunks" | "runMsSum" | "runCount") =>
        series.reduce((a, p) => a + p[f], 0);
      expect([total("done"), total("retried"), total("dead"), total("returned")]).toEqual([2, 1, 1, 0]);
      // one chunk ended (the second settle), with its run time, in the 101 ms – 1 s bucket
      expect([total("chunks"), total("runMsSum"), total("runCount")]).toEqual([1, 250, 1]);
      expect(series.reduce((a, p) => a + (p.runBuckets[2] ?? 0), 0)).toBe(1);
      const ttl = await t.client.pttl(t.keys.type("t").minute(before === after ? after : before));
      expect(ttl).toBeGreaterThan(29 * 60_000);
      expect(ttl).toBeLessThanOrEqual(30 * 60_000);
    } finally {
      await t.close();
    }
  });

  it("reclaim counts the items of an expired lease as returned; a window of 0 records nothing", async () => {
    const t = testQueue({ defaultSettings: { ...policy, metricsWindowMinutes: 10 } });
    const off = testQueue({ defaultSettings: { ...policy, metricsWindowMinutes: 0 } });
    try {
      await t.queue.enqueue("t", [{ payload: 1 }, { payload: 2 }]);
      const b = await t.queue.acquire("t", { max: 2, leaseMs: 1 });
      await t.client.zadd(t.keys.type("t").leases, 0, b.id); // its lease long expired
      const r = await t.queue.reclaim("t");
      expect(r.returned).toBe(2);
      const series = await new TypeMetrics(t.client, t.keys).series("t", 2);
      expect(series.reduce((a, p) => a + p.returned, 0)).toBe(2);

      await off.queue.enqueue("t", [{ payload: 1 }]);
      const c = await off.queue.acquire("t", { max: 1 });
      await off.queue.settle("t", c.id, { ack: c.items.map((i) => i.id), runMs: 3 });
      expect(await off.client.keys(`${off.prefix}:{t}:minute:*`)).toEqual([]);
      const none = await new TypeMetrics(off.client, off.keys).series("t", 1);
      expect(none[0]).toMatchObject({ done: 0, chunks: 0 });
    } finally {
      await t.close();
      await off.close();
    }
  });
});
