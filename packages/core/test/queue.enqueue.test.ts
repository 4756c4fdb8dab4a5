import { describe, expect, it } from "vitest";
import { testQueue } from "../../../test/harness/queue.js";
import {
  BatchQueue,
  InvalidArgumentError,
  InvalidItemIdError,
  InvalidJobTypeError,
  InvalidPayloadError,
  PayloadTooLargeError,
} from "../src/index.js";

describe("BatchQueue.enqueue", () => {
  it("adds items in order with generated ids and counts them", async () => {
    const t = testQueue();
    const r = await t.queue.enqueue("email", [{ payload: { n: 1 } }, { payload: "two" }, { payload: [3] }]);
    expect(r.added).toBe(3);
    expect(r.ids).toHaveLength(3);
    expect(new Set(r.ids).size).toBe(3);
    for (const id of r.ids) expect(id.startsWith("#")).toBe(true);
    const c = await t.queue.counts("email");
    expect(c).toMatchObject({ pending: 3, total: 3, enqueued: 3, leased: 0 });
    const b = await t.queue.acquire("email", { max: 10 });
    expect(b.items.map((i) => i.payload)).toEqual([{ n: 1 }, "two", [3]]);
    expect(b.items.map((i) => i.id)).toEqual(r.ids);
    await t.close();
  });

  it("two producers get unique generated ids, each from its own block of the shared counter", async () => {
    const a = testQueue();
    const b = new BatchQueue({ redis: a.client, prefix: a.prefix });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(...(await a.queue.enqueue("t", [{ payload: i }, { payload: i }])).ids);
      ids.push(...(await b.enqueue("t", [{ payload: i }])).ids);
    }
    expect(new Set(ids).size).toBe(15);
    expect((await a.queue.counts("t")).pending).toBe(15);
    // the counter moved once per block, not once per call
    expect(Number(await a.client.get(a.keys.type("t").seq))).toBe(20_000);
    await a.close();
  });

  it("dedupes caller ids while the item is queued, and takes the id again once acked", async () => {
    const t = testQueue();
    const first = await t.queue.enqueue("t", [
      { id: "order-1", payload: 1 },
      { id: "order-2", payload: 2 },
    ]);
    expect(first).toMatchObject({ added: 2, deduped: [] });
    const again = await t.queue.enqueue("t", [
      { id: "order-1", payload: 99 },
      { id: "order-3", payload: 3 },
      { id: "order-3", payload: 4 },
    ]);
    expect(again.added).toBe(1);
    expect(again.deduped).toEqual(["order-1", "order-3"]);
    expect((await t.queue.counts("t")).pending).toBe(3);
    const b = await t.queue.acquire("t", { max: 10 });
    expect(b.items.find((i) => i.id === "order-1")?.payload).toBe(1);
    await t.queue.ack("t", b.id, ["order-1"]);
    expect((await t.queue.enqueue("t", [{ id: "order-1", payload: 5 }])).added).toBe(1);
    await t.close();
  });

  it("mixes caller and generated ids in one call", async () => {
    const t = testQueue();
    const r = await t.queue.enqueue("t", [{ payload: 1 }, { id: "42", payload: 2 }, { payload: 3 }]);
    expect(r.ids[1]).toBe("42");
    expect(r.ids[0]).not.toBe(r.ids[2]);
    expect(r.added).toBe(3);
    await t.close();
  });

  it("splits a large enqueue into several script calls that still land together", async () => {
    const t = testQueue({ enqueueBatch: 100 });
    const items = Array.from({ length: 1050 }, (_, i) => ({ payload: { i } }));
    const r = await t.queue.enqueue("big", items);
    expect(r.added).toBe(1050);
    expect(new Set(r.ids).size).toBe(1050);
    const b = await t.queue.acquire("big", { max: 2000 });
    expect(b.items.map((i) => (i.payload as { i: number }).i)).toEqual(items.map((x) => x.payload.i));
    expect(b.items.map((i) => i.id)).toEqual(r.ids);
    await t.close();
  });

  it("dedupes caller ids across the script calls of one large enqueue", async () => {
    const t = testQueue({ enqueueBatch: 10 });
    const items = Array.from({ length: 35 }, (_, i) => (i % 2 ? { payload: i } : { id: `k${i % 14}`, payload: i }));
    const r = await t.queue.enqueue("t", items);
    // ids k0..k12 (even i % 14) appear once each before repeating
    const callerIds = items.filter((x) => "id" in x).map((x) => (x as { id: string }).id);
    const unique = new Set(callerIds);
    expect(r.added).toBe(items.length - (callerIds.length - unique.size));
    expect(r.deduped.length).toBe(callerIds.length - unique.size);
    expect(r.ids.filter((id) => id.startsWith("#"))).toHaveLength(17);
    expect((await t.queue.counts("t")).pending).toBe(r.added);
    await t.close();
  });

  it("enqueues nothing when one payload is not JSON", async () => {
    const t = testQueue({ enqueueBatch: 2 });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const cases: [unknown, RegExp][] = [
      [undefined, /item 3: payload is not JSON-serialisable \(undefined\)/],
      [() => 1, /item 3: payload is not JSON-serialisable \(function\)/],
      [10n, /item 3: payload is not JSON-serialisable/],
      [circular, /item 3: payload is not JSON-serialisable/],
    ];
    for (const [bad, message] of cases) {
      const items = [{ payload: 1 }, { payload: 2 }, { payload: 3 }, { payload: bad }, { payload: 5 }];
      const err = await t.queue.enqueue("t", items).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidPayloadError);
      expect((err as Error).message).toMatch(message);
    }
    expect((await t.queue.counts("t")).total).toBe(0);
    expect(await t.client.exists(t.keys.type("t").pending)).toBe(0);
    await t.close();
  });

  it("refuses a number JSON cannot hold (NaN, ±Infinity) anywhere in a payload, naming the item and the path", async () => {
    const t = testQueue({ enqueueBatch: 2 });
    const cases: [unknown, string][] = [
      [Number.NaN, "item 2: payload is NaN, which JSON cannot hold (it would be stored as null)"],
      [{ a: { b: [1, 2, Number.POSITIVE_INFINITY] } }, "item 2: payload.a.b[2] is Infinity, which JSON cannot hold"],
      [{ "x y": Number.NEGATIVE_INFINITY, ok: null }, 'item 2: payload["x y"] is -Infinity'],
      [[{ n: new Number(Number.NaN) }], "item 2: payload[0].n is NaN"],
      [{ at: { toJSON: () => Number.NaN } }, "item 2: payload.at is NaN"],
      [[1, undefined], "item 2: payload[1] is undefined (or a hole), which JSON stores as null in an array"],
      [[() => 1], "item 2: payload[0] is a function, which JSON stores as null in an array"],
      [{ big: [10n] }, "item 2: payload is not JSON-serialisable: payload.big[0] is a BigInt"],
    ];
    for (const [bad, message] of cases) {
      const items = [{ payload: 1 }, { payload: { fine: null } }, { payload: bad }, { payload: 4 }];
      const err = await t.queue.enqueue("t", items).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidPayloadError);
      expect((err as Error).message).toContain(message);
    }
    expect((await t.queue.counts("t")).total).toBe(0);
    expect(await t.client.keys(`${t.prefix}:*`)).toEqual([]);
    await t.close();
  });

  it("stores what JSON holds as it is: nulls, strings saying null, dates as their JSON, undefined properties left out", async () => {
    const t = testQueue();
    const payloads = [null, "null", { a: null, b: undefined }, { d: new Date(0) }, [null, "x"], -0];
    await t.queue.enqueue(
      "t",
      payloads.map((payload) => ({ payload })),
    );
    const b = await t.queue.acquire("t", { max: 10 });
    expect(b.items.map((i) => i.payload)).toEqual([
      null,
      "null",
      { a: null },
      { d: "1970-01-01T00:00:00.000Z" },
      [null, "x"],
      0,
    ]);
    await t.close();
  });

  it("refuses the job type names . and ..", async () => {
    const t = testQueue();
    for (const name of [".", ".."]) {
      await expect(t.queue.enqueue(name, [{ payload: 1 }])).rejects.toThrow(
        new InvalidJobTypeError(
          `invalid job type name "${name}": '.' and '..' are not job type names: they read as folders`,
        ),
      );
    }
    expect(await t.queue.jobTypes()).toEqual([]);
    await t.close();
  });

  it("refuses a payload over maxPayloadBytes, naming its size and the limit", async () => {
    const t = testQueue({ maxPayloadBytes: 100 });
    const err = await t.queue.enqueue("t", [{ payload: "ok" }, { payload: "é".repeat(60) }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as Error).message).toMatch(/item 1: payload is 122 bytes of JSON, more than maxPayloadBytes 100/);
    expect((await t.queue.counts("t")).total).toBe(0);
    await t.close();
  });

  it("refuses bad ids, bad items and bad job type names before writing", async () => {
    const t = testQueue();
    await expect(t.queue.enqueue("t", [{ id: "#5", payload: 1 }])).rejects.toThrow(InvalidItemIdError);
    await expect(t.queue.enqueue("t", [{ id: "", payload: 1 }])).rejects.toThrow(/reserved for generated ids/);
    await expect(t.queue.enqueue("t", [{ id: "x".repeat(257), payload: 1 }])).rejects.toThrow(InvalidItemIdError);
    await expect(t.queue.enqueue("t", [{ id: "a\tb", payload: 1 }])).rejects.toThrow(/without control characters/);
    await expect(t.queue.enqueue("t", [null as never])).rejects.toThrow(/item 0: expected \{id\?, payload\}/);
    await expect(t.queue.enqueue("t", "nope" as never)).rejects.toThrow(InvalidArgumentError);
    await expect(t.queue.enqueue("bad type", [{ payload: 1 }])).rejects.toThrow(InvalidJobTypeError);
    expect((await t.queue.counts("t")).total).toBe(0);
    expect(await t.queue.jobTypes()).toEqual([]);
    await t.close();
  });

  it("records the job type in the registry", async () => {
    const t = testQueue();
    await t.queue.enqueue("b", [{ payload: 1 }]);
    await t.queue.enqueue("a", [{ payload: 1 }]);
    expect(await t.queue.jobTypes()).toEqual(["a", "b"]);
    await t.close();
  });
});
