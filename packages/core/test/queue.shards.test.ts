import { describe, expect, it } from "vitest";
import { closeClient, freshPrefix, redisUrl, track } from "../../../test/harness/index.js";
import {
  BatchQueue,
  connectRedis,
  createLogger,
  PartialEnqueueError,
  parseQueueName,
  shardOfKey,
  shardQueue,
} from "../src/index.js";
import { planShards } from "../src/queue/shard-plan.js";

/** A queue on its own prefix whose type `s` is spread over `shards` shards. */
function shardedQueue(shards = 3, extra: Record<string, unknown> = {}) {
  const prefix = freshPrefix();
  const client = connectRedis(redisUrl());
  const logger = createLogger("shards-test", { level: "silent" });
  const queue = new BatchQueue({ redis: client, prefix, jobTypes: [{ name: "s", shards, ...extra }], logger });
  const close = async () => {
    await queue.close();
    await closeClient(client);
  };
  track(`BatchQueue ${prefix}`, () => client.status !== "end", close);
  const pendingOf = (i: number) => client.llen(queue.keys.type(shardQueue("s", i)).pending);
  return { queue, client, keys: queue.keys, prefix, close, pendingOf };
}

/** The merged backlog of type `s` now (what the manager's tick reads). */
async function backlogOf(queue: BatchQueue) {
  const [g] = queue.backlogs([{ jobType: "s", reservations: [] }], Date.now());
  const [b] = (await g?.backlogs) ?? [];
  return b as Exclude<typeof b, Error | undefined>;
}

/** A key whose items go to `shard` of `shards`. */
function keyOfShard(shard: number, shards: number): string {
  const key = Array.from({ length: 100 }, (_, i) => `k${i}`).find((k) => shardOfKey(k, shards) === shard);
  if (key === undefined) throw new Error(`no key of 100 maps to shard ${shard} of ${shards}`);
  return key;
}

/** Takes and acks every item of type `s`, chunk by chunk through settle (as a worker does); the ids it took. */
async function drain(queue: BatchQueue, max = 7): Promise<string[]> {
  const seen: string[] = [];
  let batch = await queue.acquire("s", { max });
  while (batch.size > 0) {
    seen.push(...batch.items.map((i) => i.id));
    const r = await queue.settle(
      batch.queue ?? batch.jobType,
      batch.id,
      { ack: batch.items.map((i) => i.id) },
      { max },
    );
    expect(r.acked).toBe(batch.size);
    if (!r.next) break;
    batch = r.next;
  }
  return seen;
}

describe("queue names of shards (#12)", () => {
  it("shard 0 is the type itself; shard i is T#i, whose keys have a hash tag of their own", () => {
    const q = new BatchQueue({ redis: "redis://127.0.0.1:1", prefix: "bj" });
    expect(shardQueue("t", 0)).toBe("t");
    expect(shardQueue("t", 2)).toBe("t#2");
    expect(q.keys.type("t").pending).toBe("bj:{t}:pending");
    expect(q.keys.type("t#2").pending).toBe("bj:{t#2}:pending");
    expect(parseQueueName("t#2")).toEqual({ jobType: "t", shard: 2 });
    expect(parseQueueName("t")).toEqual({ jobType: "t", shard: 0 });
    for (const bad of ["t#0", "t#01", "t#64", "#1", "t#x", "t#1#1"]) expect(parseQueueName(bad), bad).toBeNull();
    expect(() => q.keys.type("t#0")).toThrow(/invalid job type name/);
    void q.close();
  });

  it("a key always maps to the same shard, and keys spread over all of them", () => {
    const hits = new Set<number>();
    for (let i = 0; i < 100; i++) {
      const s = shardOfKey(`customer-${i}`, 4);
      expect(shardOfKey(`customer-${i}`, 4)).toBe(s);
      hits.add(s);
    }
    expect([...hits].sort()).toEqual([0, 1, 2, 3]);
    expect(shardOfKey("anything", 1)).toBe(0);
  });

  it("planShards deals unkeyed items round-robin from where the last call left off, keyed ones by key", () => {
    const a = planShards(3, 4, () => "", 0);
    expect(a.members).toEqual([[0, 3], [1], [2]]);
    const b = planShards(3, 1, () => "", a.nextStart);
    expect(b.members).toEqual([[], [0], []]);
    const keyed = planShards(3, 4, (i) => (i % 2 === 0 ? "k" : ""), 0);
    const k = shardOfKey("k", 3);
    expect(keyed.members[k]).toEqual(expect.arrayContaining([0, 2]));
  });
});

describe("a job type spread over shards (#12)", () => {
  it("spreads one call's items evenly over its shards, with ids unique over all of them", async () => {
    const t = shardedQueue(3);
    const r = await t.queue.enqueue(
      "s",
      Array.from({ length: 30 }, (_, i) => ({ payload: i })),
    );
    expect(r.added).toBe(30);
    expect(new Set(r.ids).size).toBe(30);
    expect([await t.pendingOf(0), await t.pendingOf(1), await t.pendingOf(2)]).toEqual([10, 10, 10]);
    // single-item calls rotate over the shards too
    for (let i = 0; i < 3; i++) await t.queue.enqueue("s", [{ payload: i }]);
    expect([await t.pendingOf(0), await t.pendingOf(1), await t.pendingOf(2)]).toEqual([11, 11, 11]);
    const c = await t.queue.counts("s");
    expect(c).toMatchObject({ pending: 33, enqueued: 33, total: 33 });
    await t.close();
  });

  it("items with one key land on one shard, in order; a caller id dedupes across calls", async () => {
    const t = shardedQueue(4);
    await t.queue.enqueue(
      "s",
      Array.from({ length: 8 }, (_, i) => ({ payload: i, key: "order-7" })),
    );
    const shard = shardOfKey("order-7", 4);
    expect(await t.pendingOf(shard)).toBe(8);
    const entries = await t.client.lrange(t.keys.type(shardQueue("s", shard)).pending, 0, -1);
    expect(entries.map((e) => JSON.parse(e.split("\t")[1] as string))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

    const first = await t.queue.enqueue("s", [
      { id: "inv-1", payload: 1 },
      { id: "inv-2", payload: 2 },
    ]);
    expect(first.added).toBe(2);
    const again = await t.queue.enqueue("s", [
      { id: "inv-1", payload: 1 },
      { id: "inv-2", payload: 2 },
      { payload: 3 },
    ]);
    expect(again.added).toBe(1);
    expect(again.deduped.sort()).toEqual(["inv-1", "inv-2"]);
    expect((await t.queue.counts("s")).total).toBe(11);
    await t.close();
  });

  it("a worker takes from its shard first and from the others when it is empty: every item once", async () => {
    const t = shardedQueue(3);
    const r = await t.queue.enqueue(
      "s",
      Array.from({ length: 50 }, (_, i) => ({ payload: i })),
    );
    // only one shard's items would come back without stealing
    const seen = await drain(t.queue);
    expect(seen.sort()).toEqual([...r.ids].sort());
    expect(await t.queue.counts("s")).toMatchObject({ pending: 0, leased: 0, acked: 50, total: 0 });
    await t.close();
  });

  it("a shard that fails is passed over for the others; its error comes out only when no shard has items", async () => {
    const t = shardedQueue(3);
    const key = keyOfShard(2, 3);
    await t.queue.enqueue("s", [{ payload: 1, key }]);
    // shard 1's pending list is a string (a master failing over answers with an error much the same way)
    await t.client.set(t.keys.type("s#1").pending, "not a list");
    const got = await t.queue.acquire("s#1", { max: 5 });
    expect(got).toMatchObject({ queue: "s#2", size: 1 });
    await expect(t.queue.acquire("s#1", { max: 5 })).rejects.toThrow(/WRONGTYPE|wrong kind/i);
    await t.close();
  });

  it("a chunk of shard i is settled, extended and handed back in shard i", async () => {
    const t = shardedQueue(2);
    await t.queue.enqueue("s", [{ payload: "a" }, { payload: "b" }]);
    const one = await t.queue.acquire("s#1", { max: 10, leaseMs: 5000 });
    expect(one).toMatchObject({ jobType: "s", queue: "s#1", size: 1 });
    expect((await t.queue.extend("s#1", one.id, 60_000)).held).toBe(1);
    expect(await t.queue.returnChunk("s#1", one.id)).toBe(1);
    expect(await t.pendingOf(1)).toBe(1);
    // shard 0's chunks carry no queue name: they are in the type's own keys
    const zero = await t.client.lrange(t.keys.type("s").pending, 0, -1);
    expect(zero).toHaveLength(1);
    await t.queue.enqueue("s", []);
    const fromZero = await t.queue.acquire("s", { max: 1 });
    const fromOne = await t.queue.acquire("s", { max: 1 });
    expect([fromZero.queue, fromOne.queue].sort()).toEqual(["s#1", undefined]);
    await t.close();
  });

  it("a worker settling on another shard takes the type's stop token (kept in shard 0) and hands its next chunk back", async () => {
    const t = shardedQueue(2);
    await t.queue.enqueue("s", [{ payload: 1 }, { payload: 2 }, { payload: 3 }, { payload: 4 }]);
    const batch = await t.queue.acquire("s#1", { max: 1 });
    expect(batch.queue).toBe("s#1");
    await t.queue.setStopTokens("s", 0, { listed: ["w1"], dispatched: 0 });
    expect(await t.queue.stopTokens("s")).toBe(1);
    const r = await t.queue.settle(
      "s#1",
      batch.id,
      { ack: [batch.items[0]?.id as string] },
      { max: 1, workerId: "w1" },
    );
    expect(r).toMatchObject({ acked: 1, stopped: true, next: null });
    expect(await t.queue.stopTokens("s")).toBe(0);
    expect(await t.client.smembers(t.keys.type("s").stopping)).toEqual(["w1"]);
    // nothing stayed leased: the chunk taken beside the token went back
    expect(await t.queue.counts("s")).toMatchObject({ pending: 3, leased: 0 });
    await t.close();
  });

  it("a settle that went through never throws for what comes after it (stop token, steal): it reports its acks", async () => {
    const t = shardedQueue(2);
    await t.queue.enqueue("s", [{ payload: 1 }, { payload: 2 }, { payload: 3 }, { payload: 4 }]);
    const batch = await t.queue.acquire("s#1", { max: 1 });
    // shard 0's stop tokens cannot be read (a wrong type here; a master failing over, in life)
    await t.client.hset(t.keys.type("s").stop, "x", "1");
    const r = await t.queue.settle("s#1", batch.id, { ack: batch.items.map((i) => i.id) }, { max: 1, workerId: "w" });
    expect(r).toMatchObject({ acked: 1, stopped: false });
    expect(r.next?.queue).toBe("s#1");
    await t.close();
  });

  it("an idle sharded type's backlog mark is what activity() reads for it (the manager compares the two)", async () => {
    const t = shardedQueue(3);
    await t.queue.enqueue(
      "s",
      Array.from({ length: 5 }, (_, i) => ({ payload: i })),
    );
    await drain(t.queue);
    const b = await backlogOf(t.queue);
    const [a] = t.queue.activity(["s"]);
    expect(b?.activity).not.toBeNull();
    expect(b?.activity).toBe((await a?.counts)?.[0]);
    // a busy shard makes the type busy: no mark
    await t.queue.enqueue("s", [{ payload: 9 }]);
    expect(await backlogOf(t.queue)).toMatchObject({ pending: 1, activity: null });
    await t.close();
  });

  it("reclaim of a sharded type goes on past a shard that fails, then says so", async () => {
    const t = shardedQueue(3);
    await t.queue.enqueue(
      "s",
      Array.from({ length: 6 }, (_, i) => ({ payload: i })),
    );
    await t.queue.acquire("s", { max: 2, leaseMs: 1 });
    await t.queue.acquire("s#2", { max: 2, leaseMs: 1 });
    await t.client.set(t.keys.type("s#1").leases, "not a zset");
    await new Promise((r) => setTimeout(r, 5));
    await expect(t.queue.reclaim("s")).rejects.toThrow();
    // shards 0 and 2 were reclaimed all the same
    expect(await t.pendingOf(0)).toBe(2);
    expect(await t.pendingOf(2)).toBe(2);
    await t.close();
  });

  it("backlog, reclaim, dead letters and metrics read the type as the sum of its shards", async () => {
    const t = shardedQueue(3, { maxAttempts: 1, leaseMs: 50 });
    await t.queue.enqueue(
      "s",
      Array.from({ length: 9 }, (_, i) => ({ payload: i })),
    );
    expect(await backlogOf(t.queue)).toMatchObject({ pending: 9, delayed: 0 });

    // one chunk per shard, all failed for good: dead in their own shards, listed together
    for (const q of ["s", "s#1", "s#2"]) {
      const c = await t.queue.acquire(q, { max: 1, leaseMs: 60_000 });
      await t.queue.settle(q, c.id, { fail: c.items.map((i) => ({ id: i.id, error: `failed in ${q}` })) });
    }
    const dead = await t.queue.listDead("s");
    expect(dead.map((d) => d.error).sort()).toEqual(["failed in s", "failed in s#1", "failed in s#2"]);
    expect(await t.queue.retryDead("s")).toBe(3);
    expect((await t.queue.counts("s")).dead).toBe(0);

    // leases that expire in any shard are reclaimed by one call for the type
    for (const q of ["s", "s#1", "s#2"]) await t.queue.acquire(q, { max: 2, leaseMs: 1 });
    await new Promise((r) => setTimeout(r, 5));
    const rec = await t.queue.reclaim("s");
    expect(rec.chunks).toBe(3);
    expect(await t.queue.counts("s")).toMatchObject({ leased: 0, pending: 9 });

    const { TypeMetrics } = await import("../src/index.js");
    const m = new TypeMetrics(t.client, t.keys, (x) => t.queue.queuesOf(x));
    const series = await m.series("s", 2);
    expect(series.reduce((sum, p) => sum + p.dead, 0)).toBe(3);
    expect(await m.oldestPendingAgeMs("s")).not.toBeNull();
    await t.close();
  });

  it("the activity count of a sharded type moves with an enqueue to any shard", async () => {
    const t = shardedQueue(2);
    const read = async () => {
      const [g] = t.queue.activity(["s"]);
      return (await g?.counts)?.[0];
    };
    expect(await read()).toBeNull();
    await t.queue.enqueue("s", [{ payload: 1 }]);
    const a = await read();
    await t.queue.enqueue("s", [{ payload: 2 }]);
    const b = await read();
    expect(Number(b)).toBe(Number(a) + 1);
    await t.close();
  });

  it("waitForItems wakes for an enqueue that lands on any shard", async () => {
    const t = shardedQueue(3);
    // a key picks the shard: one that is not shard 0
    const key = keyOfShard(2, 3);
    const waiting = t.queue.waitForItems("s", 60_000);
    await new Promise((r) => setImmediate(r));
    await t.queue.enqueue("s", [{ payload: 1, key }]);
    expect(await waiting).toBe(true);
    await t.close();
  });

  it("a producer with no settings for the type takes its shards from the published config", async () => {
    const t = shardedQueue(3);
    await t.client.set(t.keys.config, JSON.stringify({ jobTypes: [{ name: "s", shards: 3 }] }));
    const producer = new BatchQueue({ redis: t.client, prefix: t.prefix });
    await producer.enqueue(
      "s",
      Array.from({ length: 6 }, (_, i) => ({ payload: i })),
    );
    expect([await t.pendingOf(0), await t.pendingOf(1), await t.pendingOf(2)]).toEqual([2, 2, 2]);
    await producer.close();
    await t.close();
  });

  it("an ordering key that is not a string is refused, naming the item, and nothing is queued", async () => {
    const t = shardedQueue(2);
    await expect(t.queue.enqueue("s", [{ payload: 1 }, { payload: 2, key: 5 as unknown as string }])).rejects.toThrow(
      /item 1: key must be a string/,
    );
    expect((await t.queue.counts("s")).total).toBe(0);
    // a shard's queue name is not a type to enqueue to
    await expect(t.queue.enqueue("s#1", [{ payload: 1 }])).rejects.toThrow(/invalid job type name/);
    await t.close();
  });

  it("a write that fails on one shard says which items were queued (PartialEnqueueError)", async () => {
    const t = shardedQueue(2);
    // shard 1's pending list is a string: its MULTI fails, shard 0's succeeds
    await t.client.set(t.keys.type("s#1").pending, "not a list");
    const err = await t.queue
      .enqueue(
        "s",
        Array.from({ length: 4 }, (_, i) => ({ payload: i })),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialEnqueueError);
    const p = err as PartialEnqueueError;
    expect(p.queued).toBe(2);
    expect(p.message).toMatch(/2 of 4 items were queued.*shard\(s\) 1/);
    expect(await t.pendingOf(0)).toBe(2);
    await t.close();
  });
});
