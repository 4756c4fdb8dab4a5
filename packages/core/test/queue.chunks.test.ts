import { describe, expect, it } from "vitest";
import { testQueue } from "../../../test/harness/queue.js";

describe("prepared chunks and stop tokens", () => {
  it("readChunk gives a dispatched worker what its prepared chunk holds, with attempts", async () => {
    const t = testQueue({ defaultSettings: { maxAttempts: 5, backoff: { type: "fixed", delayMs: 0, maxDelayMs: 0 } } });
    await t.queue.enqueue("t", [{ payload: "a" }, { payload: "b" }]);
    const first = await t.queue.acquire("t", { max: 1 });
    await t.queue.release("t", first.id, [first.items[0]?.id as string], { error: "x" });
    const prepared = await t.queue.acquire("t", { max: 5, owner: "chunk-1" });
    const read = await t.queue.readChunk("t", "chunk-1");
    expect(read?.items).toEqual(prepared.items);
    expect(read?.items.map((i) => [i.payload, i.attempts])).toEqual([
      ["b", 0],
      ["a", 1],
    ]);
    expect(read?.leaseDeadline).toBe(prepared.leaseDeadline);
    const asJson = await t.queue.readChunk("t", "chunk-1", { json: true });
    expect(asJson?.items.map((i) => i.payload)).toEqual(['"b"', '"a"']);
    expect(await t.queue.readChunk("t", "no-such-chunk")).toBeNull();
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
    expect(await t.queue.readChunk("t", c.id)).toBeNull();
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

  it("a worker asking for its next chunk takes a stop token instead, one worker per token", async () => {
    const t = testQueue();
    await t.queue.enqueue(
      "t",
      Array.from({ length: 10 }, (_, i) => ({ payload: i })),
    );
    const a = await t.queue.acquire("t", { max: 1 });
    const b = await t.queue.acquire("t", { max: 1 });
    await t.queue.setStopTokens("t", 1);
    const ra = await t.queue.settle("t", a.id, { ack: a.items.map((i) => i.id) }, { max: 1 });
    expect(ra).toMatchObject({ acked: 1, stopped: true, next: null });
    // the manager sees which worker is leaving: the one whose chunk took the token
    expect((await t.queue.backlog("t", Date.now())).stopping).toEqual([a.id]);
    const rb = await t.queue.settle("t", b.id, { ack: b.items.map((i) => i.id) }, { max: 1 });
    expect(rb.stopped).toBe(false);
    expect(rb.next?.size).toBe(1);
    expect(await t.queue.stopTokens("t")).toBe(0);
    // a settle that asks for no next chunk leaves tokens alone
    await t.queue.setStopTokens("t", 2);
    await t.queue.settle("t", rb.next?.id as string, { ack: rb.next?.items.map((i) => i.id) ?? [] });
    expect(await t.queue.stopTokens("t")).toBe(2);
    await t.close();
  });

  it("backlog counts due retries as ready and says which chunks still hold a lease", async () => {
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
    let b = await t.queue.backlog("t", now, [c.id, "other"]);
    expect(b).toMatchObject({ pending: 1, delayed: 1, leased: [c.id], stopping: [] });
    expect(b.earliestLeaseDeadline).toBe(c.leaseDeadline);
    b = await t.queue.backlog("t", now + 61_000);
    expect(b.pending).toBe(2); // the retry is due by then
    await t.close();
  });
});
