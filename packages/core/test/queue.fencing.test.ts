import { describe, expect, it } from "vitest";
import { untilRedisTimePasses } from "../../../test/harness/index.js";
import { testQueue } from "../../../test/harness/queue.js";

const policy = { maxAttempts: 3, maxReturns: 5, backoff: { type: "fixed" as const, delayMs: 0, maxDelayMs: 0 } };

describe("leases, reclaim and fencing", () => {
  it("reclaims an expired lease: items come back with no attempt charged, returns + 1", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", [{ payload: 1 }, { payload: 2 }]);
    // a lease no stall can outlast: not expired, not reclaimed
    const b = await t.queue.acquire("t", { max: 2, leaseMs: 600_000 });
    expect(await t.queue.reclaim("t")).toEqual({ chunks: 0, returned: 0, dead: 0 });
    // its holder renews it for 1 ms, then no more: once the Redis clock passes that deadline, it is expired
    const { leaseDeadline } = await t.queue.extend("t", b.id, 1);
    await untilRedisTimePasses(t.client, leaseDeadline);
    const r = await t.queue.reclaim("t");
    expect(r).toEqual({ chunks: 1, returned: 2, dead: 0 });
    const again = await t.queue.acquire("t", { max: 2 });
    // back at the head of pending, in order, with no attempt charged
    expect(again.items.map((i) => [i.id, i.attempts])).toEqual(b.items.map((i) => [i.id, 0]));
    const record = JSON.parse((await t.client.hget(t.keys.type("t").fails, b.items[0]?.id as string)) as string);
    expect(record).toMatchObject({ attempts: 0, returns: 1, error: "lease expired", how: "returned" });
    await t.close();
  });

  it("fences the old owner after a reclaim: its ack, release and extend change nothing and say so", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", [{ payload: 1 }]);
    const old = await t.queue.acquire("t", { max: 1, leaseMs: 600_000 });
    const id = old.items[0]?.id as string;
    // reclaimed as a dead host's chunk is (by name): what follows holds however the lease was lost
    expect((await t.queue.reclaim("t", { chunkIds: [old.id] })).chunks).toBe(1);
    const fresh = await t.queue.acquire("t", { max: 1, leaseMs: 60_000 });
    expect(fresh.items[0]?.id).toBe(id);

    expect(await t.queue.ack("t", old.id, [id])).toEqual({ acked: 0, notHeld: [id] });
    expect(await t.queue.release("t", old.id, [id], { retry: false })).toEqual({ retried: 0, dead: 0, notHeld: [id] });
    expect(await t.queue.extend("t", old.id, 60_000)).toEqual({ held: 0, leaseDeadline: 0 });
    const s = await t.queue.settle("t", old.id, { ack: [id] });
    expect(s).toMatchObject({ acked: 0, notHeld: [id] });

    expect(await t.queue.counts("t")).toMatchObject({ leased: 1, dead: 0, acked: 0 });
    expect(await t.queue.ack("t", fresh.id, [id])).toEqual({ acked: 1, notHeld: [] });
    await t.close();
  });

  it("extend keeps a lease alive past its first deadline; without it the chunk is reclaimed", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", [{ payload: "kept" }, { payload: "lost" }]);
    // nothing reclaims here but the test: however slow the machine, `kept` is renewed before any reclaim
    const kept = await t.queue.acquire("t", { max: 1, leaseMs: 500 });
    const lost = await t.queue.acquire("t", { max: 1, leaseMs: 500 });
    const keptId = kept.items[0]?.id as string;
    const e = await t.queue.extend("t", kept.id, 600_000);
    expect(e.held).toBe(1);
    expect(e.leaseDeadline).toBeGreaterThan(kept.leaseDeadline);
    // both first deadlines pass on the Redis clock: only the unrenewed lease is reclaimed
    await untilRedisTimePasses(t.client, Math.max(kept.leaseDeadline, lost.leaseDeadline));
    expect(await t.queue.reclaim("t")).toEqual({ chunks: 1, returned: 1, dead: 0 });
    expect(await t.queue.ack("t", kept.id, [keptId])).toEqual({ acked: 1, notHeld: [] });
    expect(await t.queue.ack("t", lost.id, [lost.items[0]?.id as string])).toMatchObject({ acked: 0 });
    await t.close();
  });

  it("reclaims the named chunks at once (a dead host's), expired or not", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", [{ payload: 1 }, { payload: 2 }]);
    const a = await t.queue.acquire("t", { max: 1, leaseMs: 60_000 });
    const b = await t.queue.acquire("t", { max: 1, leaseMs: 60_000 });
    expect(await t.queue.reclaim("t", { chunkIds: [a.id], reason: "host lost" })).toEqual({
      chunks: 1,
      returned: 1,
      dead: 0,
    });
    expect(await t.queue.counts("t")).toMatchObject({ pending: 1, leased: 1, reclaimed: 1 });
    expect(await t.queue.ack("t", b.id, [b.items[0]?.id as string])).toMatchObject({ acked: 1 });
    await t.close();
  });

  it("reclaims never charge attempts: with maxAttempts 1, ten host deaths leave the item alive", async () => {
    const t = testQueue({ defaultSettings: { ...policy, maxAttempts: 1, maxReturns: 100 } });
    await t.queue.enqueue("t", [{ payload: 1 }, { payload: 2 }]);
    for (let i = 0; i < 10; i++) {
      const b = await t.queue.acquire("t", { max: 2, leaseMs: 60_000 });
      expect(b.size).toBeGreaterThan(0);
      await t.queue.reclaim("t", { chunkIds: [b.id], reason: "host lost" });
    }
    expect(await t.queue.counts("t")).toMatchObject({ dead: 0, pending: 2, leased: 0 });
    await t.close();
  });

  it("a lone item that comes back maxReturns times is dead, with the reason", async () => {
    const t = testQueue({ defaultSettings: { ...policy, maxReturns: 3 } });
    await t.queue.enqueue("t", [{ id: "killer", payload: 1 }]);
    for (let i = 1; i <= 3; i++) {
      const b = await t.queue.acquire("t", { max: 1, leaseMs: 60_000 });
      expect(b.items.map((x) => x.id)).toEqual(["killer"]);
      expect(await t.queue.reclaim("t", { chunkIds: [b.id], reason: `host h${i} lost` })).toMatchObject({
        dead: i === 3 ? 1 : 0,
      });
    }
    const [dead] = await t.queue.listDead("t");
    expect(dead).toMatchObject({ id: "killer", attempts: 0, returns: 3, how: "returned" });
    expect(dead?.error).toMatch(/returned 3 times without a result.*host h3 lost/);
    await t.close();
  });

  it("a chunk returned a second time goes back split in halves, each leased whole as its own chunk", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue(
      "t",
      Array.from({ length: 6 }, (_, i) => ({ id: `i${i}`, payload: i })),
    );
    const first = await t.queue.acquire("t", { max: 6, leaseMs: 60_000 });
    await t.queue.reclaim("t", { chunkIds: [first.id] });
    const second = await t.queue.acquire("t", { max: 6, leaseMs: 60_000 });
    expect(second.items.map((i) => i.id)).toEqual(["i0", "i1", "i2", "i3", "i4", "i5"]);
    await t.queue.reclaim("t", { chunkIds: [second.id] });
    expect(await t.queue.counts("t")).toMatchObject({ pending: 6, grouped: 6, split: 6, leased: 0 });
    await t.queue.enqueue("t", [{ id: "later", payload: 9 }]);
    const a = await t.queue.acquire("t", { max: 100 });
    const b = await t.queue.acquire("t", { max: 100 });
    const c = await t.queue.acquire("t", { max: 100 });
    expect([a, b].map((x) => [x.items.map((i) => i.id), x.splitDepth])).toEqual([
      [["i0", "i1", "i2"], 1],
      [["i3", "i4", "i5"], 1],
    ]);
    expect(c.items.map((i) => i.id)).toEqual(["later"]);
    expect(c.splitDepth).toBeUndefined();
    expect(await t.queue.counts("t")).toMatchObject({ pending: 0, grouped: 0, leased: 7 });
    await t.close();
  });

  it("reclaim is bounded by items per call, not by chunks", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue(
      "t",
      Array.from({ length: 50 }, (_, i) => ({ payload: i })),
    );
    const owners: string[] = [];
    for (let i = 0; i < 5; i++) owners.push((await t.queue.acquire("t", { max: 10, leaseMs: 60_000 })).id);
    const k = t.keys.type("t");
    const { reclaimScript } = await import("../src/scripts/commands.js");
    const one = await reclaimScript(t.client, k, { ...policy }, 15, "host lost", owners, 0);
    // the call stops after the chunk that reaches 15 items: two chunks of 10
    expect(one).toMatchObject({ chunks: 2, returned: 20, more: true, handled: 2 });
    expect(await t.queue.reclaim("t", { chunkIds: owners, limit: 15 })).toMatchObject({ chunks: 3, returned: 30 });
    expect(await t.queue.counts("t")).toMatchObject({ pending: 50, leased: 0 });
    await t.close();
  });
});
