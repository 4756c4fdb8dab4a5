import { describe, expect, it } from "vitest";
import { redisNowMs } from "../../../test/harness/index.js";
import { testQueue } from "../../../test/harness/queue.js";

async function killAll(t: ReturnType<typeof testQueue>, n: number) {
  await t.queue.enqueue(
    "t",
    Array.from({ length: n }, (_, i) => ({ id: `d${i}`, payload: { i } })),
  );
  const b = await t.queue.acquire("t", { max: n });
  await t.queue.release(
    "t",
    b.id,
    b.items.map((i) => i.id),
    { retry: false, error: "nope" },
  );
}

describe("dead letters", () => {
  it("lists dead items newest first with payload, attempts, error and time", async () => {
    const t = testQueue();
    const before = await redisNowMs(t.client);
    await killAll(t, 3);
    const after = await redisNowMs(t.client);
    const list = await t.queue.listDead("t", { limit: 2 });
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({ error: "nope", attempts: 1 });
    // the time of death, on the Redis clock, between the clock reads around the release
    expect(list[0]?.diedAt).toBeGreaterThanOrEqual(before);
    expect(list[0]?.diedAt).toBeLessThanOrEqual(after);
    expect((await t.queue.listDead("t", { offset: 2 })).length).toBe(1);
    await t.close();
  });

  it("retries named dead items with fresh attempts, and all of them", async () => {
    const t = testQueue();
    await killAll(t, 5);
    expect(await t.queue.retryDead("t", ["d1", "unknown"])).toBe(1);
    let c = await t.queue.counts("t");
    expect(c).toMatchObject({ dead: 4, pending: 1, revived: 1 });
    const b = await t.queue.acquire("t", { max: 10 });
    expect(b.items.map((i) => [i.id, i.attempts])).toEqual([["d1", 0]]);
    expect(await t.queue.retryDead("t")).toBe(4);
    c = await t.queue.counts("t");
    expect(c).toMatchObject({ dead: 0, pending: 4 });
    await t.close();
  });

  it("purges named dead items and all of them, leaving live items alone", async () => {
    const t = testQueue({});
    await killAll(t, 3);
    await t.queue.enqueue("t", [{ id: "alive", payload: 1 }]);
    expect(await t.queue.purgeDead("t", ["d0", "alive"])).toBe(1);
    expect(await t.queue.purgeDead("t")).toBe(2);
    const c = await t.queue.counts("t");
    expect(c).toMatchObject({ dead: 0, total: 1, pending: 1, purged: 3 });
    expect(await t.client.hlen(t.keys.type("t").fails)).toBe(0);
    await t.close();
  });

  it("handles more dead items than one script call takes", async () => {
    const t = testQueue();
    await killAll(t, 2500);
    expect(await t.queue.retryDead("t")).toBe(2500);
    expect((await t.queue.counts("t")).pending).toBe(2500);
    await t.close();
  });
});
