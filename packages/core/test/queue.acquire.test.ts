import { describe, expect, it } from "vitest";
import { redisNowMs } from "../../../test/harness/index.js";
import { testQueue } from "../../../test/harness/queue.js";
import { InvalidArgumentError } from "../src/index.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("BatchQueue.acquire", () => {
  it("gives an empty batch on an empty or unknown queue", async () => {
    const t = testQueue();
    const b = await t.queue.acquire("nothing", { max: 5 });
    expect(b).toMatchObject({ jobType: "nothing", items: [], size: 0 });
    expect(await t.client.zcard(t.keys.type("nothing").leases)).toBe(0);
    await t.close();
  });

  it("takes up to max items FIFO under a UUID v7 chunk id, with a lease from the Redis clock", async () => {
    const t = testQueue();
    await t.queue.enqueue(
      "t",
      Array.from({ length: 7 }, (_, i) => ({ payload: i })),
    );
    // the lease runs from the Redis clock at the acquire: between the clock read before and after it
    const before = await redisNowMs(t.client);
    const b1 = await t.queue.acquire("t", { max: 5, leaseMs: 60_000 });
    const after = await redisNowMs(t.client);
    expect(b1.id).toMatch(UUID_V7);
    expect(b1.size).toBe(5);
    expect(b1.items.map((i) => i.payload)).toEqual([0, 1, 2, 3, 4]);
    expect(b1.items.every((i) => i.attempts === 0)).toBe(true);
    expect(b1.leaseDeadline).toBeGreaterThanOrEqual(before + 60_000);
    expect(b1.leaseDeadline).toBeLessThanOrEqual(after + 60_000);
    const b2 = await t.queue.acquire("t", { max: 5, chunkId: "mine" });
    expect(b2.id).toBe("mine");
    expect(b2.items.map((i) => i.payload)).toEqual([5, 6]);
    const k = t.keys.type("t");
    const held = await t.client.lrange(k.chunk("mine"), 0, -1);
    expect(held).toEqual(b2.items.map((i) => `${i.id}\t${JSON.stringify(i.payload)}`));
    expect(Number(await t.client.zscore(k.leases, "mine"))).toBe(b2.leaseDeadline);
    expect(await t.queue.counts("t")).toMatchObject({ pending: 0, leased: 7, chunks: 2, acquired: 7 });
    await t.close();
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses max = %s", async (max) => {
    const t = testQueue();
    await t.queue.enqueue("t", [{ payload: 1 }]);
    const err = await t.queue.acquire("t", { max }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(/max must be an integer ≥ 1/);
    expect((await t.queue.counts("t")).pending).toBe(1);
    await t.close();
  });

  it("kills an item whose stored payload was corrupted around the API instead of looping on it", async () => {
    const t = testQueue();
    const { ids } = await t.queue.enqueue("t", [{ payload: 1 }, { payload: 2 }]);
    await t.client.lset(t.keys.type("t").pending, 0, `${ids[0]}\t{not json`);
    const b = await t.queue.acquire("t", { max: 10 });
    expect(b.items.map((i) => i.id)).toEqual([ids[1]]);
    const dead = await t.queue.listDead("t");
    expect(dead.map((d) => [d.id, d.error])).toEqual([[ids[0], "stored payload is not valid JSON"]]);
    await t.close();
  });

  it('json: "unchecked" hands every payload over as its stored text, a corrupt one too, and kills nothing', async () => {
    const t = testQueue();
    const { ids } = await t.queue.enqueue("t", [{ payload: { a: 1 } }, { payload: 2 }]);
    await t.client.lset(t.keys.type("t").pending, 0, `${ids[0]}\t{not json`);
    const b = await t.queue.acquire("t", { max: 10, json: "unchecked" });
    expect(b.items.map((i) => [i.id, i.payload])).toEqual([
      [ids[0], "{not json"],
      [ids[1], "2"],
    ]);
    expect(await t.queue.listDead("t")).toEqual([]);
    // json: true still checks each payload
    await t.queue.enqueue("t", [{ payload: 3 }]);
    await t.client.lset(t.keys.type("t").pending, 0, "x\t{not json either");
    const c = await t.queue.acquire("t", { max: 10, json: true });
    expect(c.items).toEqual([]);
    expect((await t.queue.listDead("t")).map((d) => d.id)).toEqual(["x"]);
    await t.close();
  });
});

describe("entries written around the API", () => {
  it("an entry without a tab dies as invalid JSON instead of breaking acquire, settle or reclaim", async () => {
    const t = testQueue({ defaultSettings: { maxAttempts: 3, backoff: { type: "fixed", delayMs: 0, maxDelayMs: 0 } } });
    const k = t.keys.type("t");
    await t.queue.enqueue("t", [{ payload: 1 }]);
    // make `fails` exist, so acquire decodes ids of every entry it pops
    const first = await t.queue.acquire("t", { max: 1 });
    await t.queue.release(
      "t",
      first.id,
      first.items.map((i) => i.id),
    );
    await t.client.rpush(k.pending, "no-tab-here");
    await t.queue.enqueue("t", [{ payload: 2 }]);
    const b = await t.queue.acquire("t", { max: 10, json: true });
    expect(b.items.map((i) => i.payload)).toEqual(["1", "2"]);
    expect((await t.queue.listDead("t")).map((d) => [d.id, d.error])).toEqual([
      ["no-tab-here", "stored payload is not valid JSON"],
    ]);
    await t.client.rpush(k.pending, "another");
    const c = await t.queue.acquire("t", { max: 10, leaseMs: 60_000 });
    await t.client.rpush(k.chunk(c.id), "third");
    expect(await t.queue.reclaim("t", { chunkIds: [c.id, b.id] })).toMatchObject({ chunks: 2 });
    expect(await t.queue.counts("t")).toMatchObject({ leased: 0 });
    await t.close();
  });

  it("a retried settle gets the chunk it already acquired, not a second one", async () => {
    const t = testQueue();
    await t.queue.enqueue(
      "t",
      [1, 2, 3, 4].map((n) => ({ payload: n })),
    );
    const a = await t.queue.acquire("t", { max: 1 });
    const r1 = await t.queue.settle("t", a.id, { ack: a.items.map((i) => i.id) }, { max: 2, chunkId: "next-1" });
    const r2 = await t.queue.settle("t", a.id, { ack: a.items.map((i) => i.id) }, { max: 2, chunkId: "next-1" });
    expect(r2.next?.items).toEqual(r1.next?.items);
    expect(r2.notHeld).toEqual(a.items.map((i) => i.id));
    expect(await t.queue.counts("t")).toMatchObject({ pending: 1, leased: 2, chunks: 1 });
    await t.close();
  });
});
