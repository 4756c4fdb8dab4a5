/**
 * The age of the oldest pending item (#10): counted from the enqueue of the
 * entry at the head of pending, whichever path enqueued it (the script for
 * caller ids, which the Python and PHP clients run too, or the MULTI without
 * them), moving on as chunks take the head; null when nothing waits. Marks of
 * entries gone are dropped at the next enqueue.
 */
import { TypeMetrics } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { waitFor } from "../../../test/harness/index.js";
import { testQueue } from "../../../test/harness/queue.js";

async function redisMs(t: ReturnType<typeof testQueue>): Promise<number> {
  const [s, us] = await t.client.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** Waits until Redis's clock has moved `ms` past `from` (an event on the shared clock, not a sleep of ours). */
async function clockPast(t: ReturnType<typeof testQueue>, from: number, ms: number): Promise<number> {
  return waitFor(`Redis time ${ms} ms on`, async () => {
    const now = await redisMs(t);
    return now >= from + ms ? now : null;
  });
}

describe("the age of the oldest pending item", () => {
  it("counts from the head's enqueue, through both enqueue paths, and moves on as chunks take the head", async () => {
    const t = testQueue();
    try {
      const m = new TypeMetrics(t.client, t.keys);
      expect(await m.oldestPendingAgeMs("t")).toBeNull();
      const t0 = await redisMs(t);
      // the MULTI path (no caller ids), then the script (caller ids)
      await t.queue.enqueue("t", [{ payload: "a1" }, { payload: "a2" }]);
      const t1 = await clockPast(t, t0, 150);
      await t.queue.enqueue("t", [{ id: "b1", payload: "b1" }]);
      const t2 = await clockPast(t, t1, 150);
      await t.queue.enqueue("t", [{ payload: "c1" }]);

      const first = (await m.oldestPendingAgeMs("t")) as number;
      const now = await redisMs(t);
      expect(first).toBeGreaterThanOrEqual(now - t1); // at least since before the second enqueue
      expect(first).toBeLessThanOrEqual(now - t0);

      // the head is now b1: the second enqueue's
      await t.queue.acquire("t", { max: 2 });
      const second = (await m.oldestPendingAgeMs("t")) as number;
      const now2 = await redisMs(t);
      expect(second).toBeLessThan(now2 - t1 + 5);
      expect(second).toBeGreaterThanOrEqual(now2 - t2);

      // then c1, the third's; a chunk handed back to the head counts from the oldest mark still kept
      const b = await t.queue.acquire("t", { max: 1 });
      const third = (await m.oldestPendingAgeMs("t")) as number;
      expect(third).toBeLessThan((await redisMs(t)) - t2 + 5);
      await t.queue.returnChunk("t", b.id);
      expect(await m.oldestPendingAgeMs("t")).toBeGreaterThanOrEqual(third);

      await t.queue.acquire("t", { max: 10 });
      expect(await m.oldestPendingAgeMs("t")).toBeNull();
    } finally {
      await t.close();
    }
  });

  it("taking chunks drops the marks of entries gone once more than 32 are kept", async () => {
    const t = testQueue();
    try {
      const since = t.keys.type("t").since;
      for (let i = 0; i < 40; i++) await t.queue.enqueue("t", [{ payload: i }]);
      expect(await t.client.zcard(since)).toBe(40);
      await t.queue.acquire("t", { max: 10 });
      // the head is entry 11: its mark and the 29 after it are kept
      expect(await t.client.zrangebyscore(since, "-inf", "+inf", "WITHSCORES", "LIMIT", 0, 1)).toEqual([
        expect.stringMatching(/^11:\d+$/),
        "11",
      ]);
      expect(await t.client.zcard(since)).toBe(30);
      await t.queue.acquire("t", { max: 30 });
      expect(await new TypeMetrics(t.client, t.keys).oldestPendingAgeMs("t")).toBeNull();
    } finally {
      await t.close();
    }
  });

  it("revived dead items count from their revival", async () => {
    const t = testQueue({ defaultSettings: { maxAttempts: 1, backoff: { type: "fixed", delayMs: 0, maxDelayMs: 0 } } });
    try {
      const m = new TypeMetrics(t.client, t.keys);
      const t0 = await redisMs(t);
      await t.queue.enqueue("t", [{ id: "x", payload: 1 }]);
      const t1 = await clockPast(t, t0, 150);
      const b = await t.queue.acquire("t", { max: 1 });
      await t.queue.settle("t", b.id, { fail: [{ id: "x", error: "boom", retry: false }] });
      expect(await m.oldestPendingAgeMs("t")).toBeNull();
      await t.queue.retryDead("t");
      const age = (await m.oldestPendingAgeMs("t")) as number;
      expect(age).toBeLessThan((await redisMs(t)) - t1 + 5);
    } finally {
      await t.close();
    }
  });
});
