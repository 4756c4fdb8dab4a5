import { BatchQueue, connectRedis, createLogger, type EnqueueItem, parseConfig } from "@batchjob/core";
import { type Allocator, createAllocator, type RefillContext } from "@batchjob/manager";
import { describe, expect, it } from "vitest";
import type { Dispatcher } from "../../packages/manager/src/dispatcher.js";
import { startWorkers } from "../../packages/manager/src/starter.js";
import { controlFor, fakeHost, rawE2eConfig, testManager } from "../harness/daemons.js";
import { closeClient, freshPrefix, redisUrl, waitFor } from "../harness/index.js";

async function configWith(change: (raw: Record<string, unknown>) => void) {
  const raw = await rawE2eConfig();
  change(raw);
  return parseConfig(raw);
}

describe("manager steps", () => {
  it("refills a type below its low watermark, never twice at once, and survives a failing enqueuer", async () => {
    const calls: number[] = [];
    let release: () => void = () => {};
    let fail = false;
    const gate = () =>
      new Promise<void>((r) => {
        release = r;
      });
    let gated = gate();
    const refill = async (ctx: RefillContext): Promise<EnqueueItem[]> => {
      calls.push(ctx.pending);
      if (fail) throw new Error("the source database is down");
      await gated;
      return Array.from({ length: 150 }, (_, i) => ({ payload: { i } }));
    };
    const config = await configWith((raw) => {
      raw.jobTypes = [
        {
          name: "fed",
          minQueueEntries: 1_000_000, // nothing starts: the test watches the queue only
          launcher: { kind: "inline", job: async () => {} },
          enqueuer: { refill, lowWatermark: 100 },
        },
      ];
    });
    const c = controlFor(config);
    const m = await testManager(config);
    await m.tickNow();
    expect(calls).toEqual([0]);
    for (let i = 0; i < 3; i++) await m.tickNow();
    expect(calls).toEqual([0]); // the first refill is still running
    release();
    await waitFor("the refill to land", async () => (await c.queue.counts("fed")).pending === 150);
    await m.tickNow();
    expect(calls).toEqual([0]); // 150 ≥ 100: no refill
    // a failing enqueuer is logged, and the next tick tries again
    fail = true;
    gated = gate();
    await c.queue.purgeDead("fed");
    const drained = await c.queue.acquire("fed", { max: 1000 });
    await c.queue.ack(
      "fed",
      drained.id,
      drained.items.map((i) => i.id),
    );
    const r1 = await m.tickNow();
    expect(r1?.failed).toEqual([]);
    await waitFor("the failed refill to finish", () => calls.length === 2);
    await waitFor("a retry on a later tick", async () => {
      await m.tickNow();
      return calls.length >= 3;
    });
    expect(JSON.parse((await c.client.hget(c.keys.decisions, "fed")) ?? "{}").reason).toMatch(
      /queue empty|below minQueueEntries/,
    );
    await m.stop();
    await c.close();
  });

  it("guards each step: a failing step is reported and the others still run", async () => {
    const config = await configWith(() => {});
    const broken: Allocator = {
      name: "broken",
      pick: () => {
        throw new Error("allocator exploded");
      },
      commit() {},
      uncommit() {},
      reset() {},
    };
    const c = controlFor(config);
    const { HostRegistry } = await import("@batchjob/core");
    await new HostRegistry(c.client, c.keys).beat(fakeHost("h"));

    await c.queue.enqueue("inline", [{ payload: {} }]);
    const m = await testManager(config, { allocator: broken });
    const r = await m.tickNow();
    expect(r?.failed).toEqual([{ step: "start", error: "allocator exploded" }]);
    // plan and publish ran; nothing was reserved, so nothing waits for a worker (and nothing is leased)
    expect(JSON.parse((await c.client.hget(c.keys.decisions, "inline")) ?? "{}").start).toBe(1);
    expect(await c.client.get(c.keys.load)).not.toBeNull();
    expect(await c.client.scard(c.keys.type("inline").reserved)).toBe(0);
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 1, leased: 0 });
    await m.stop();
    await c.close();
  });

  it("skips malformed worker-list and host entries, counts them, and still plans and starts", async () => {
    const config = await configWith(() => {});
    const c = controlFor(config);
    const { HostRegistry } = await import("@batchjob/core");
    const reg = new HostRegistry(c.client, c.keys);
    await reg.beat(fakeHost("good"));
    await reg.beat(fakeHost("bad"));
    await c.client.hset(c.keys.hostInfo, "bad", JSON.stringify({ id: "bad" }));
    await c.client.hset(c.keys.workers, "junk", "not json");
    await c.queue.enqueue("inline", [{ payload: {} }]);
    const m = await testManager(config);
    const r = await m.tickNow();
    expect(r?.failed).toEqual([]);
    expect(r?.quarantined).toBe(2);
    // the bad host is neither used nor reaped; the start went to the good one
    expect((await c.dispatcher.undelivered("good")).map((d) => d.jobType)).toEqual(["inline"]);
    expect(await c.dispatcher.undelivered("bad")).toEqual([]);
    expect(r?.deadHosts).toEqual([]);
    expect(await c.client.zscore(c.keys.hostBeats, "bad")).not.toBeNull();
    await m.stop();
    await c.close();
  });

  it("only the leader acts; it publishes the effective config", async () => {
    const config = await configWith(() => {});
    const c = controlFor(config);
    const a = await testManager(config, { managerId: "a" });
    const b = await testManager(config, { managerId: "b" });
    const reports = await Promise.all([a.tickNow(), b.tickNow(), a.tickNow(), b.tickNow()]);
    const acted = reports.filter((r) => r !== null).length;
    expect(acted).toBe(2);
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    expect(await c.client.get(c.keys.leader)).toBe(a.isLeader() ? "a" : "b");
    const published = JSON.parse((await c.client.get(c.keys.config)) ?? "{}");
    expect(published.jobTypes.map((t: { name: string }) => t.name)).toEqual(["inline", "forked"]);
    expect(published.jobTypes[0]).toMatchObject({
      chunkSize: 10,
      maxAttempts: 5,
      parallel: { high: 1, medium: 2, low: 4 },
    });
    expect(published.manager).toMatchObject({ tickMs: 200, allocator: "least-load" });
    await a.stop();
    await b.stop();
    await c.close();
  });
});

describe("starter", () => {
  const host = (id: string) => ({
    id,
    slots: 4,
    running: 0,
    jobTypes: null,
    draining: false,
    load: { loadAvg: 0, cpu: 0, freeMemBytes: 0, totalMemBytes: 0 },
  });
  const decision = (start: number) => ({
    jobType: "t",
    level: "low" as const,
    target: start,
    running: 0,
    pending: 10,
    start,
    stopTokens: 0,
    reason: "",
  });
  /** A dispatcher whose inbox of host "a" cannot be reached; records what it sent. */
  const flakyDispatcher = (sent: { hostId: string; reservationId: string }[]) =>
    ({
      async dispatch(hostId: string, m: { jobType: string; reservationId: string }) {
        if (hostId === "a") throw new Error("inbox of a unreachable");
        sent.push({ hostId, reservationId: m.reservationId });
      },
    }) as unknown as Dispatcher;

  it("reserves each start and sends a dispatch that failed to another host; nothing is leased", async () => {
    const prefix = freshPrefix();
    const client = connectRedis(redisUrl());
    const queue = new BatchQueue({ redis: client, prefix });
    await queue.enqueue(
      "t",
      Array.from({ length: 10 }, (_, i) => ({ payload: { i } })),
    );
    const sent: { hostId: string; reservationId: string }[] = [];
    const out = await startWorkers([decision(2)], {
      hosts: [host("a"), host("b")],
      allocator: createAllocator("round-robin"),
      dispatcher: flakyDispatcher(sent),
      queue,
      log: createLogger("t", { level: "silent" }),
    });
    expect(out.started.map((s) => s.hostId)).toEqual(["b", "b"]);
    expect(sent.map((s) => s.hostId)).toEqual(["b", "b"]);
    // the reservations sent are the ones waiting for a worker: the manager counts them as starting
    const ids = out.started.map((s) => s.reservationId);
    expect(sent.map((s) => s.reservationId)).toEqual(ids);
    expect(new Set(ids).size).toBe(2);
    expect((await client.smembers(queue.keys.type("t").reserved)).sort()).toEqual([...ids].sort());
    expect(await queue.counts("t")).toMatchObject({ leased: 0, pending: 10, chunks: 0, acquired: 0 });
    await closeClient(client);
  });

  it("drops the reservation of a start no host can take", async () => {
    const prefix = freshPrefix();
    const client = connectRedis(redisUrl());
    const queue = new BatchQueue({ redis: client, prefix });
    await queue.enqueue("t", [{ payload: {} }]);
    const sent: { hostId: string; reservationId: string }[] = [];
    const out = await startWorkers([decision(1)], {
      hosts: [host("a")],
      allocator: createAllocator("round-robin"),
      dispatcher: flakyDispatcher(sent),
      queue,
      log: createLogger("t", { level: "silent" }),
    });
    expect(out.started).toEqual([]);
    expect(out.unplaced.get("t")).toBe(1);
    expect(sent).toEqual([]);
    expect(await client.scard(queue.keys.type("t").reserved)).toBe(0);
    expect(await queue.counts("t")).toMatchObject({ leased: 0, pending: 1 });
    await closeClient(client);
  });
});
