import { describe, expect, it } from "vitest";
import { redisNowMs, untilRedisTimePasses } from "../../../test/harness/index.js";
import { testQueue } from "../../../test/harness/queue.js";

const fastRetry = { maxAttempts: 3, backoff: { type: "fixed" as const, delayMs: 0, maxDelayMs: 0 } };

describe("BatchQueue.ack", () => {
  it("removes acked items for good and drops the chunk's lease when it is empty", async () => {
    const t = testQueue();
    await t.queue.enqueue("t", [{ payload: 1 }, { payload: 2 }]);
    const b = await t.queue.acquire("t", { max: 2 });
    const ids = b.items.map((i) => i.id);
    expect(await t.queue.ack("t", b.id, [ids[0] as string])).toEqual({ acked: 1, notHeld: [] });
    const k = t.keys.type("t");
    expect(await t.client.zscore(k.leases, b.id)).not.toBeNull();
    expect(await t.queue.ack("t", b.id, [ids[1] as string])).toEqual({ acked: 1, notHeld: [] });
    expect(await t.client.zscore(k.leases, b.id)).toBeNull();
    expect(await t.client.exists(k.chunk(b.id))).toBe(0);
    expect(await t.queue.counts("t")).toMatchObject({ total: 0, leased: 0, acked: 2, chunks: 0 });
    await t.close();
  });

  it("ignores unknown ids, ids of another chunk and an unknown owner, and says so", async () => {
    const t = testQueue();
    await t.queue.enqueue("t", [{ payload: 1 }, { payload: 2 }]);
    const a = await t.queue.acquire("t", { max: 1 });
    const b = await t.queue.acquire("t", { max: 1 });
    const aId = a.items[0]?.id as string;
    const bId = b.items[0]?.id as string;
    expect(await t.queue.ack("t", a.id, [bId, "nope"])).toEqual({ acked: 0, notHeld: [bId, "nope"] });
    expect(await t.queue.ack("t", "no-such-owner", [aId])).toEqual({ acked: 0, notHeld: [aId] });
    expect(await t.queue.ack("t", a.id, [])).toEqual({ acked: 0, notHeld: [] });
    expect((await t.queue.counts("t")).leased).toBe(2);
    await t.close();
  });
});

describe("BatchQueue.release", () => {
  it("puts a retried item back with attempts + 1 and its error kept", async () => {
    const t = testQueue({ defaultSettings: fastRetry });
    await t.queue.enqueue("t", [{ payload: "x" }]);
    const b = await t.queue.acquire("t", { max: 1 });
    const r = await t.queue.release("t", b.id, [b.items[0]?.id as string], { error: "boom" });
    expect(r).toEqual({ retried: 1, dead: 0, notHeld: [] });
    const again = await t.queue.acquire("t", { max: 1 });
    expect(again.items[0]).toMatchObject({ id: b.items[0]?.id, payload: "x", attempts: 1 });
    const raw = await t.client.hget(t.keys.type("t").fails, again.items[0]?.id as string);
    expect(JSON.parse(raw as string)).toMatchObject({ error: "boom", attempts: 1 });
    await t.close();
  });

  it("delays a retry by delayMs: not acquirable before, acquirable after", async () => {
    const t = testQueue({ defaultSettings: fastRetry });
    await t.queue.enqueue("t", [{ payload: 1 }]);
    const b = await t.queue.acquire("t", { max: 1 });
    const id = b.items[0]?.id as string;
    // due in 10 minutes: no stall of a slow machine makes it due while the test looks
    const before = await redisNowMs(t.client);
    await t.queue.release("t", b.id, [id], { delayMs: 600_000 });
    const after = await redisNowMs(t.client);
    const due = Number(await t.client.zscore(t.keys.type("t").delayed, id));
    expect(due).toBeGreaterThanOrEqual(before + 600_000);
    expect(due).toBeLessThanOrEqual(after + 600_000);
    expect((await t.queue.counts("t")).delayed).toBe(1);
    expect((await t.queue.acquire("t", { max: 1 })).size).toBe(0);
    // its due time comes (moved to now rather than waited out): acquirable, with its attempt counted
    await t.client.zadd(t.keys.type("t").delayed, "XX", after, id);
    await untilRedisTimePasses(t.client, after);
    const back = await t.queue.acquire("t", { max: 1 });
    expect(back.items.map((i) => [i.id, i.attempts])).toEqual([[id, 1]]);
    expect((await t.queue.counts("t")).delayed).toBe(0);
    await t.close();
  });

  it("grows the backoff with attempts (exponential, capped)", async () => {
    const t = testQueue({
      defaultSettings: { maxAttempts: 10, backoff: { type: "exponential", delayMs: 1000, maxDelayMs: 5000 } },
    });
    const k = t.keys.type("t");
    const { ids } = await t.queue.enqueue("t", [{ payload: 1 }]);
    const id = ids[0] as string;
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      // make it due now, so the test need not wait out each backoff
      if ((await t.client.zscore(k.delayed, id)) !== null) await t.client.zadd(k.delayed, 0, id);
      const b = await t.queue.acquire("t", { max: 1 });
      const [sec, usec] = await t.client.time();
      await t.queue.release("t", b.id, [id], { error: `e${attempt}` });
      const at = Number(await t.client.zscore(k.delayed, id));
      delays.push(Math.round((at - (Number(sec) * 1000 + Math.floor(Number(usec) / 1000))) / 100) * 100);
    }
    expect(delays).toEqual([1000, 2000, 4000, 5000, 5000]);
    await t.close();
  });

  it("sends an item to dead after maxAttempts, keeping its last error and attempts", async () => {
    const t = testQueue({ defaultSettings: fastRetry });
    await t.queue.enqueue("t", [{ payload: { a: 1 } }]);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const b = await t.queue.acquire("t", { max: 1 });
      expect(b.items[0]?.attempts).toBe(attempt - 1);
      const r = await t.queue.release("t", b.id, [b.items[0]?.id as string], { error: `fail ${attempt}` });
      expect(r.dead).toBe(attempt === 3 ? 1 : 0);
    }
    expect((await t.queue.acquire("t", { max: 1 })).size).toBe(0);
    const dead = await t.queue.listDead("t");
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ payload: { a: 1 }, attempts: 3, error: "fail 3" });
    expect(await t.queue.counts("t")).toMatchObject({ dead: 1, died: 1, retried: 2, pending: 0, leased: 0 });
    await t.close();
  });

  it("sends an item straight to dead with retry: false", async () => {
    const t = testQueue({ defaultSettings: fastRetry });
    await t.queue.enqueue("t", [{ payload: 1 }]);
    const b = await t.queue.acquire("t", { max: 1 });
    expect(await t.queue.release("t", b.id, [b.items[0]?.id as string], { retry: false, error: "bad input" })).toEqual({
      retried: 0,
      dead: 1,
      notHeld: [],
    });
    expect((await t.queue.listDead("t"))[0]).toMatchObject({ attempts: 1, error: "bad input" });
    await t.close();
  });

  it("uses each job type's own policy", async () => {
    const t = testQueue({ jobTypes: [{ name: "once", maxAttempts: 1 }], defaultSettings: fastRetry });
    await t.queue.enqueue("once", [{ payload: 1 }]);
    await t.queue.enqueue("thrice", [{ payload: 1 }]);
    for (const type of ["once", "thrice"]) {
      const b = await t.queue.acquire(type, { max: 1 });
      await t.queue.release(type, b.id, [b.items[0]?.id as string]);
    }
    expect((await t.queue.counts("once")).dead).toBe(1);
    expect((await t.queue.counts("thrice")).dead).toBe(0);
    await t.close();
  });
});
