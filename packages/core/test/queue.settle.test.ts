import { describe, expect, it } from "vitest";
import { testQueue } from "../../../test/harness/queue.js";
import { MAX_SETTLES_PER_CALL } from "../src/index.js";
import { typeKeysOf } from "../src/keys.js";
import { runScript } from "../src/scripts/commands.js";
import { keysFor } from "../src/scripts/source.js";

const policy = { maxAttempts: 2, backoff: { type: "fixed" as const, delayMs: 0, maxDelayMs: 0 } };

/** `n` items with ids i0, i1, ... (their payload the index). */
const numbered = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `i${i}`, payload: i }));

describe("BatchQueue.settle", () => {
  it("acks, fails (each item with its own error and retry flag) and acquires the next chunk in one call", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", numbered(6));
    const b = await t.queue.acquire("t", { max: 3 });
    expect(b.items.map((i) => i.id)).toEqual(["i0", "i1", "i2"]);
    const r = await t.queue.settle(
      "t",
      b.id,
      {
        ack: ["i0"],
        fail: [
          { id: "i1", error: "temporary" },
          { id: "i2", error: "poison", retry: false },
        ],
      },
      { max: 10 },
    );
    expect(r).toMatchObject({ acked: 1, retried: 1, dead: 1, notHeld: [] });
    expect(r.next?.items.map((i) => [i.id, i.attempts])).toEqual([
      ["i3", 0],
      ["i4", 0],
      ["i5", 0],
      ["i1", 1],
    ]);
    expect(r.next?.id).not.toBe(b.id);
    const k = t.keys.type("t");
    expect(await t.client.zscore(k.leases, b.id)).toBeNull();
    expect((await t.queue.listDead("t")).map((d) => [d.id, d.error])).toEqual([["i2", "poison"]]);
    await t.close();
  });

  it("returns no next chunk when the queue is empty, and acquires nothing without `next`", async () => {
    const t = testQueue({ defaultSettings: policy });
    await t.queue.enqueue("t", [{ payload: 1 }, { payload: 2 }]);
    const b = await t.queue.acquire("t", { max: 1 });
    const r = await t.queue.settle("t", b.id, { ack: b.items.map((i) => i.id) });
    expect(r.next).toBeNull();
    expect((await t.queue.counts("t")).pending).toBe(1);
    const b2 = await t.queue.acquire("t", { max: 1 });
    const r2 = await t.queue.settle("t", b2.id, { ack: b2.items.map((i) => i.id) }, { max: 5 });
    expect(r2.next).toBeNull();
    expect(await t.queue.counts("t")).toMatchObject({ total: 0, chunks: 0 });
    await t.close();
  });
});

describe("BatchQueue.settle, the whole chunk acked", () => {
  it("acks what the chunk holds without matching ids, forgets caller ids and failure records, and fences a chunk taken back", async () => {
    const t = testQueue({ defaultSettings: policy });
    try {
      await t.queue.enqueue("t", [{ id: "a", payload: 1 }, { id: "b", payload: 2 }, { payload: 3 }]);
      const first = await t.queue.acquire("t", { max: 3 });
      // b fails once: it has a failure record when its next chunk is acked whole
      await t.queue.settle("t", first.id, { ack: ["a", "#1"], fail: [{ id: "b", error: "once" }] });
      const k = t.keys.type("t");
      expect(await t.client.hexists(k.fails, "b")).toBe(1);
      const again = await t.queue.acquire("t", { max: 3 });
      const r = await t.queue.settle("t", again.id, { ack: again.items.map((i) => i.id), whole: true }, { max: 1 });
      expect(r).toMatchObject({ acked: 1, notHeld: [], next: null });
      expect(await t.client.hexists(k.fails, "b")).toBe(0);
      expect(await t.client.scard(k.ids)).toBe(0);
      expect(await t.queue.counts("t")).toMatchObject({ total: 0, chunks: 0, acked: 3 });

      // a chunk reclaimed before its settle: nothing acked, every id reported as not held
      await t.queue.enqueue("t", [{ payload: 4 }, { payload: 5 }]);
      const lost = await t.queue.acquire("t", { max: 2 });
      await t.queue.reclaim("t", { chunkIds: [lost.id] });
      const late = await t.queue.settle("t", lost.id, { ack: lost.items.map((i) => i.id), whole: true });
      expect(late).toMatchObject({ acked: 0, notHeld: lost.items.map((i) => i.id) });
      expect(await t.queue.counts("t")).toMatchObject({ pending: 2, leased: 0 });
    } finally {
      await t.close();
    }
  });
});

describe("BatchQueue.settleMany (#12: a worker's settles in one call)", () => {
  it("runs each settle in order, as settle would: each acquires its next chunk after the settles before it", async () => {
    const t = testQueue({ defaultSettings: policy });
    try {
      await t.queue.enqueue("t", numbered(8));
      const [a, b, c] = [
        await t.queue.acquire("t", { max: 1 }),
        await t.queue.acquire("t", { max: 1 }),
        await t.queue.acquire("t", { max: 1 }),
      ];
      if (!a || !b || !c) throw new Error("no chunk");
      const r = await t.queue.settleMany("t", [
        { chunkId: a.id, outcome: { ack: ["i0"], whole: true }, next: { max: 1, workerId: "w" } },
        { chunkId: b.id, outcome: { fail: [{ id: "i1", error: "temporary" }] }, next: { max: 2, workerId: "w" } },
        { chunkId: c.id, outcome: { ack: ["i2"] } },
      ]);
      expect(r.map((x) => [x.acked, x.retried, x.stopped, x.next?.items.map((i) => i.id) ?? null])).toEqual([
        [1, 0, false, ["i3"]],
        [0, 1, false, ["i4", "i5"]],
        [1, 0, false, null],
      ]);
      const k = t.keys.type("t");
      // the three settled chunks hold nothing any more; the two next ones are leased
      for (const x of [a, b, c]) expect(await t.client.zscore(k.leases, x.id)).toBeNull();
      expect(await t.queue.counts("t")).toMatchObject({ acked: 2, chunks: 2, leased: 3, pending: 3 });
    } finally {
      await t.close();
    }
  });

  it("once one settle takes a stop token, the later ones settle only: no second token, no chunk", async () => {
    const t = testQueue({ defaultSettings: policy });
    try {
      await t.queue.enqueue("t", numbered(6));
      const a = await t.queue.acquire("t", { max: 1 });
      const b = await t.queue.acquire("t", { max: 1 });
      const k = t.keys.type("t");
      await t.client.set(k.stop, 2);
      const r = await t.queue.settleMany("t", [
        { chunkId: a.id, outcome: { ack: ["i0"], whole: true }, next: { max: 1, workerId: "w" } },
        { chunkId: b.id, outcome: { ack: ["i1"], whole: true }, next: { max: 1, workerId: "w" } },
      ]);
      expect(r.map((x) => [x.acked, x.stopped, x.next])).toEqual([
        [1, true, null],
        [1, false, null],
      ]);
      expect(await t.client.get(k.stop)).toBe("1");
      expect(await t.client.smembers(k.stopping)).toEqual(["w"]);
      expect(await t.queue.counts("t")).toMatchObject({ acked: 2, chunks: 0, pending: 4 });
      // a later call of the same worker (another settle in flight, or a retried call) is stopped too: no second token
      const again = await t.queue.settleMany("t", [
        { chunkId: "c-late", outcome: {}, next: { max: 1, workerId: "w" } },
      ]);
      expect(again.map((x) => [x.stopped, x.next])).toEqual([[true, null]]);
      expect(await t.client.get(k.stop)).toBe("1");
      expect(await t.queue.counts("t")).toMatchObject({ chunks: 0, pending: 4 });
    } finally {
      await t.close();
    }
  });

  it("the script refuses arguments that do not add up to what its counts say, naming the settle", async () => {
    const t = testQueue({ defaultSettings: policy });
    try {
      const k = t.keys.type("t");
      const keys = keysFor("settle", typeKeysOf(k));
      const head = [k.chunk(""), 3, "fixed", 0, 0, 3, k.group(""), "", 0];
      // owner, nextOwner, nextMax, leaseMs, worker, depth, reason, runMs, then the five counts
      const one = ["c1", "c1", 0, 0, "w", 1, "r", -1, 1, 0, 0, 0, 0];
      await expect(runScript(t.client, "settle", keys, [1, ...head, ...one, "i1"])).resolves.toBeDefined();
      await expect(runScript(t.client, "settle", keys, [1, ...head, ...one])).rejects.toThrow(
        /settle got 23 arguments, its counts say 24/,
      );
      await expect(runScript(t.client, "settle", keys, [2, ...head, ...one, "i1"])).rejects.toThrow(
        /settle 2 expects nAck ids/,
      );
    } finally {
      await t.close();
    }
  });

  it("refuses more settles than one call carries, and sends nothing for none", async () => {
    const t = testQueue({ defaultSettings: policy });
    try {
      expect(await t.queue.settleMany("t", [])).toEqual([]);
      const many = Array.from({ length: MAX_SETTLES_PER_CALL + 1 }, (_, i) => ({ chunkId: `c${i}`, outcome: {} }));
      await expect(t.queue.settleMany("t", many)).rejects.toThrow(/settle takes 1 to 64 settles, got 65/);
    } finally {
      await t.close();
    }
  });
});
