import { describe, expect, it } from "vitest";
import { testQueue } from "../../../test/harness/queue.js";

describe("reservations, returned chunks and stop tokens", () => {
  it("reservations: waiting until a worker claims one, once", async () => {
    const t = testQueue();
    await t.queue.reserve("t", ["r1", "r2"]);
    expect((await t.queue.backlog("t", Date.now(), ["r1", "r2", "r3"])).waiting).toEqual(["r1", "r2"]);
    expect(await t.queue.claim("t", "r1")).toBe(true);
    expect(await t.queue.claim("t", "r1")).toBe(false);
    expect((await t.queue.backlog("t", Date.now(), ["r1", "r2"])).waiting).toEqual(["r2"]);
    // a reservation leases nothing
    expect(await t.queue.counts("t")).toMatchObject({ leased: 0, chunks: 0 });
    await t.close();
  });

  it("returnChunk puts the items back at the head of pending, in order, without an attempt", async () => {
    const t = testQueue();
    await t.queue.enqueue(
      "t",
      [1, 2, 3, 4].map((n) => ({ payload: n })),
    );
    const c = await t.queue.acquire("t", { max: 2 });
    expect(await t.queue.returnChunk("t", c.id)).toBe(2);
    expect(await t.client.exists(t.keys.type("t").chunk(c.id))).toBe(0);
    expect(await t.queue.counts("t")).toMatchObject({ pending: 4, leased: 0, chunks: 0, returned: 2 });
    const all = await t.queue.acquire("t", { max: 10 });
    expect(all.items.map((i) => [i.payload, i.attempts])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 0],
    ]);
    expect(await t.queue.ack("t", c.id, [c.items[0]?.id as string])).toMatchObject({ acked: 0 });
    await t.close();
  });

  it("returnChunk hands a split group back whole, still isolated, ahead of pending", async () => {
    const t = testQueue();
    await t.queue.enqueue(
      "t",
      [1, 2, 3, 4, 5].map((n) => ({ id: `i${n}`, payload: n })),
    );
    const c = await t.queue.acquire("t", { max: 4 });
    await t.queue.settle("t", c.id, { split: { ids: c.items.map((i) => i.id), depth: 2 } });
    const g = await t.queue.acquire("t", { max: 10 });
    expect([g.items.map((i) => i.id), g.splitDepth]).toEqual([["i1", "i2"], 2]);
    expect(await t.queue.returnChunk("t", g.id, g.splitDepth)).toBe(2);
    expect(await t.queue.counts("t")).toMatchObject({ leased: 0, grouped: 4, pending: 5 });
    const again = await t.queue.acquire("t", { max: 10 });
    expect([again.items.map((i) => [i.id, i.attempts]), again.splitDepth]).toEqual([
      [
        ["i1", 0],
        ["i2", 0],
      ],
      2,
    ]);
    await t.close();
  });

  it("a worker asking for its next chunk takes a stop token instead, one worker per token", async () => {
    const t = testQueue();
    await t.queue.enqueue(
      "t",
      Array.from({ length: 10 }, (_, i) => ({ payload: i })),
    );
    const a = await t.queue.acquire("t", { max: 1 });
    const b = await t.queue.acquire("t", { max: 1 });
    // two listed workers, target 1: one token
    expect(await t.queue.setStopTokens("t", 1, { listed: ["wa", "wb"], dispatched: 0 })).toEqual({
      tokens: 1,
      leaving: 0,
    });
    const ra = await t.queue.settle("t", a.id, { ack: a.items.map((i) => i.id) }, { max: 1, workerId: "wa" });
    expect(ra).toMatchObject({ acked: 1, stopped: true, next: null });
    // the manager sees which worker is leaving: the one that took the token
    expect((await t.queue.backlog("t", Date.now())).stopping).toEqual(["wa"]);
    const rb = await t.queue.settle("t", b.id, { ack: b.items.map((i) => i.id) }, { max: 1, workerId: "wb" });
    expect(rb.stopped).toBe(false);
    expect(rb.next?.size).toBe(1);
    expect(await t.queue.stopTokens("t")).toBe(0);
    // a settle that asks for no next chunk leaves tokens alone
    await t.queue.setStopTokens("t", 0, { listed: ["wb", "wc"], dispatched: 0 });
    await t.queue.settle("t", rb.next?.id as string, { ack: rb.next?.items.map((i) => i.id) ?? [] });
    expect(await t.queue.stopTokens("t")).toBe(2);
    await t.close();
  });

  it("stop tokens count a worker that took one meanwhile as leaving: never one stop too many", async () => {
    const t = testQueue();
    await t.queue.enqueue(
      "t",
      Array.from({ length: 10 }, (_, i) => ({ payload: i })),
    );
    // the manager saw three workers and wants one: two tokens
    await t.queue.setStopTokens("t", 1, { listed: ["w1", "w2", "w3"], dispatched: 0 });
    const a = await t.queue.acquire("t", { max: 1 });
    expect(
      (await t.queue.settle("t", a.id, { ack: a.items.map((i) => i.id) }, { max: 1, workerId: "w1" })).stopped,
    ).toBe(true);
    // its next tick, planned on a list read before w1 took its token, still counts three listed workers
    expect(await t.queue.setStopTokens("t", 1, { listed: ["w1", "w2", "w3"], dispatched: 0 })).toEqual({
      tokens: 1,
      leaving: 1,
    });
    // a dispatched worker not listed yet counts as running
    expect(await t.queue.setStopTokens("t", 2, { listed: ["w2"], dispatched: 1 })).toEqual({ tokens: 0, leaving: 0 });
    expect(await t.queue.stopTokens("t")).toBe(0);
    await t.close();
  });

  it("backlog counts due retries as ready and says which reservations still wait", async () => {
    const t = testQueue({
      defaultSettings: { maxAttempts: 5, backoff: { type: "fixed", delayMs: 60_000, maxDelayMs: 0 } },
    });
    await t.queue.enqueue(
      "t",
      [1, 2, 3].map((n) => ({ payload: n })),
    );
    const c = await t.queue.acquire("t", { max: 2 });
    await t.queue.release("t", c.id, [c.items[0]?.id as string]);
    const [sec] = await t.client.time();
    const now = Number(sec) * 1000;
    await t.queue.reserve("t", ["r1"]);
    let b = await t.queue.backlog("t", now, ["r1", "other"]);
    expect(b).toMatchObject({ pending: 1, delayed: 1, waiting: ["r1"], stopping: [] });
    expect(b.earliestLeaseDeadline).toBe(c.leaseDeadline);
    b = await t.queue.backlog("t", now + 61_000);
    expect(b.pending).toBe(2); // the retry is due by then
    await t.close();
  });
});
