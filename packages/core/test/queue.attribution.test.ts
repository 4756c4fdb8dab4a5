import { describe, expect, it } from "vitest";
import { testQueue } from "../../../test/harness/queue.js";

const policy = { maxAttempts: 3, maxReturns: 5, backoff: { type: "fixed" as const, delayMs: 0, maxDelayMs: 0 } };
const ids = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `i${i}`, payload: i }));

describe("settle by whose fault: charged, given back, requeued, split", () => {
  it("charges only the failed items, with how it was pinned on them", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", ids(4));
    const c = await t.queue.acquire("t", { max: 4 });
    const r = await t.queue.settle("t", c.id, {
      ack: ["i0"],
      fail: [{ id: "i1", error: "boom", how: "running when its chunk failed" }],
      giveBack: { ids: ["i2"], reason: "host h1 shutting down" },
      requeue: ["i3"],
    });
    expect(r).toMatchObject({ acked: 1, retried: 1, dead: 0, returned: 2, notHeld: [] });
    const records = await t.client.hgetall(t.keys.type("t").fails);
    expect(JSON.parse(records.i1 as string)).toMatchObject({
      attempts: 1,
      returns: 0,
      how: "running when its chunk failed",
    });
    expect(JSON.parse(records.i2 as string)).toMatchObject({ attempts: 0, returns: 1, error: "host h1 shutting down" });
    expect(records.i3).toBeUndefined();
    const next = await t.queue.acquire("t", { max: 10 });
    expect(next.items.map((i) => [i.id, i.attempts])).toEqual([
      ["i3", 0],
      ["i2", 0],
      ["i1", 1],
    ]);
    expect(await t.queue.counts("t")).toMatchObject({ leased: 3, pending: 0, acked: 1 });
    await t.close();
  });

  it("a split runs each half as its own chunk, before anything pending, and is fenced like any settle", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", ids(5));
    const c = await t.queue.acquire("t", { max: 5 });
    await t.queue.enqueue("t", [{ id: "later", payload: 0 }]);
    const all = c.items.map((i) => i.id);
    expect(await t.queue.settle("t", c.id, { split: { ids: all, depth: 1 } })).toMatchObject({ returned: 5 });
    // the old owner holds nothing now
    expect(await t.queue.settle("t", c.id, { split: { ids: all, depth: 1 } })).toMatchObject({
      returned: 0,
      notHeld: all,
    });
    expect(await t.queue.counts("t")).toMatchObject({ pending: 6, grouped: 5, leased: 0 });
    const a = await t.queue.acquire("t", { max: 100 });
    const b = await t.queue.acquire("t", { max: 100 });
    expect(a.items.map((i) => [i.id, i.attempts])).toEqual([
      ["i0", 0],
      ["i1", 0],
      ["i2", 0],
    ]);
    expect(b.items.map((i) => i.id)).toEqual(["i3", "i4"]);
    expect([a.splitDepth, b.splitDepth]).toEqual([1, 1]);
    expect((await t.queue.acquire("t", { max: 100 })).items.map((i) => i.id)).toEqual(["later"]);
    await t.close();
  });

  it("bisection isolates a poison item: healthy items never charged, extra chunk runs within 2·log2(chunk)", async () => {
    const t = testQueue({ defaultSettings: { ...policy, maxAttempts: 1 } });
    const size = 64;
    await t.queue.enqueue("t", ids(size));
    const poison = "i37";
    let chunkRuns = 0;
    // a worker loop: a chunk holding the poison item fails as a whole with no known culprit
    for (let guard = 0; guard < 500; guard++) {
      const c = await t.queue.acquire("t", { max: size });
      if (c.size === 0) break;
      chunkRuns++;
      const all = c.items.map((i) => i.id);
      if (!all.includes(poison)) await t.queue.settle("t", c.id, { ack: all });
      else if (c.size === 1)
        await t.queue.settle("t", c.id, {
          fail: [{ id: poison, error: "exit code 1", how: `isolated by bisection (depth ${c.splitDepth})` }],
        });
      else await t.queue.settle("t", c.id, { split: { ids: all, depth: (c.splitDepth ?? 0) + 1 } });
    }
    const counts = await t.queue.counts("t");
    expect(counts).toMatchObject({ acked: size - 1, dead: 1, pending: 0, leased: 0 });
    const [dead] = await t.queue.listDead("t");
    expect(dead).toMatchObject({
      id: poison,
      attempts: 1,
      error: "exit code 1",
      how: "isolated by bisection (depth 6)",
    });
    // the first run, then two runs per level of the bisection (a linear scan would take 64)
    expect(chunkRuns - 1).toBe(2 * Math.log2(size));
    await t.close();
  });

  it("extend is O(1): it reports the items held without reading the chunk", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", ids(3));
    const c = await t.queue.acquire("t", { max: 3, leaseMs: 1000 });
    expect((await t.queue.extend("t", c.id, 60_000)).held).toBe(3);
    await t.queue.ack("t", c.id, ["i0"]);
    const e = await t.queue.extend("t", c.id, 60_000);
    expect(e.held).toBe(2);
    expect(e.leaseDeadline).toBeGreaterThan(c.leaseDeadline);
    await t.queue.ack("t", c.id, ["i1", "i2"]);
    expect(await t.queue.extend("t", c.id, 60_000)).toEqual({ held: 0, leaseDeadline: 0 });
    await t.close();
  });
});
