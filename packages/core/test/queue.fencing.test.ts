import { describe, expect, it } from "vitest";
import { waitFor } from "../../../test/harness/index.js";
import { testQueue } from "../../../test/harness/queue.js";

const policy = { maxAttempts: 3, backoff: { type: "fixed" as const, delayMs: 0, maxDelayMs: 0 } };

describe("leases, reclaim and fencing", () => {
  it("reclaims an expired lease: items come back with attempts + 1", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", [{ payload: 1 }, { payload: 2 }]);
    const b = await t.queue.acquire("t", { max: 2, leaseMs: 100 });
    expect(await t.queue.reclaim("t")).toEqual({ chunks: 0, retried: 0, dead: 0 });
    const r = await waitFor("the lease to expire", async () => {
      const x = await t.queue.reclaim("t");
      return x.chunks > 0 ? x : null;
    });
    expect(r).toEqual({ chunks: 1, retried: 2, dead: 0 });
    const again = await t.queue.acquire("t", { max: 2 });
    expect(again.items.map((i) => [i.id, i.attempts]).sort()).toEqual(b.items.map((i) => [i.id, 1]).sort());
    const err = await t.client.hget(t.keys.type("t").fails, b.items[0]?.id as string);
    expect(JSON.parse(err as string).error).toBe("lease expired");
    await t.close();
  });

  it("fences the old owner after a reclaim: its ack, release and extend change nothing and say so", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", [{ payload: 1 }]);
    const old = await t.queue.acquire("t", { max: 1, leaseMs: 50 });
    const id = old.items[0]?.id as string;
    await waitFor("reclaim", async () => (await t.queue.reclaim("t")).chunks > 0);
    const fresh = await t.queue.acquire("t", { max: 1, leaseMs: 60_000 });
    expect(fresh.items[0]?.id).toBe(id);

    expect(await t.queue.ack("t", old.id, [id])).toEqual({ acked: 0, notHeld: [id] });
    expect(await t.queue.release("t", old.id, [id], { retry: false })).toEqual({ retried: 0, dead: 0, notHeld: [id] });
    expect(await t.queue.extend("t", old.id, [id], 60_000)).toEqual({ held: 0, leaseDeadline: 0, notHeld: [id] });
    const s = await t.queue.settle("t", old.id, { ack: [id] });
    expect(s).toMatchObject({ acked: 0, notHeld: [id] });

    expect(await t.queue.counts("t")).toMatchObject({ leased: 1, dead: 0, acked: 0 });
    expect(await t.queue.ack("t", fresh.id, [id])).toEqual({ acked: 1, notHeld: [] });
    await t.close();
  });

  it("extend keeps a lease alive past its first deadline; without it the chunk is reclaimed", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", [{ payload: "kept" }, { payload: "lost" }]);
    const kept = await t.queue.acquire("t", { max: 1, leaseMs: 300 });
    const lost = await t.queue.acquire("t", { max: 1, leaseMs: 300 });
    const keptId = kept.items[0]?.id as string;
    const firstDeadline = kept.leaseDeadline;
    // renew `kept` until `lost` has been reclaimed
    await waitFor("the unrenewed lease to be reclaimed", async () => {
      const e = await t.queue.extend("t", kept.id, [keptId], 300);
      expect(e.held).toBe(1);
      return (await t.queue.reclaim("t")).chunks > 0;
    });
    const [sec, usec] = await t.client.time();
    expect(Number(sec) * 1000 + Number(usec) / 1000).toBeGreaterThanOrEqual(firstDeadline);
    expect(await t.queue.ack("t", kept.id, [keptId])).toEqual({ acked: 1, notHeld: [] });
    expect(await t.queue.ack("t", lost.id, [lost.items[0]?.id as string])).toMatchObject({ acked: 0 });
    await t.close();
  });

  it("reclaims the named chunks at once (a dead host's), expired or not", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", [{ payload: 1 }, { payload: 2 }]);
    const a = await t.queue.acquire("t", { max: 1, leaseMs: 60_000 });
    const b = await t.queue.acquire("t", { max: 1, leaseMs: 60_000 });
    expect(await t.queue.reclaim("t", { owners: [a.id], reason: "host lost" })).toEqual({
      chunks: 1,
      retried: 1,
      dead: 0,
    });
    expect(await t.queue.counts("t")).toMatchObject({ pending: 1, leased: 1, reclaimed: 1 });
    expect(await t.queue.ack("t", b.id, [b.items[0]?.id as string])).toMatchObject({ acked: 1 });
    await t.close();
  });

  it("a reclaimed item past maxAttempts is dead", async () => {
    const t = testQueue({ defaultSettings: { ...policy, maxAttempts: 1 } });
    await t.queue.enqueue("t", [{ payload: 1 }]);
    await t.queue.acquire("t", { max: 1, leaseMs: 60_000 }).then((b) => t.queue.reclaim("t", { owners: [b.id] }));
    expect(await t.queue.counts("t")).toMatchObject({ dead: 1, pending: 0, leased: 0 });
    await t.close();
  });
});
