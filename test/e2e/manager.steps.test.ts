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
    // plan and publish ran; nothing was prepared, so nothing is leased
    expect(JSON.parse((await c.client.hget(c.keys.decisions, "inline")) ?? "{}").start).toBe(1);
    expect(await c.client.get(c.keys.load)).not.toBeNull();
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 1, leased: 0 });
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
  it("sends a chunk whose dispatch failed to another host; no item is lost", async () => {
    const prefix = freshPrefix();
    const client = connectRedis(redisUrl());
    const queue = new BatchQueue({ redis: client, prefix });
    await queue.enqueue(
      "t",
      Array.from({ length: 10 }, (_, i) => ({ payload: { i } })),
    );
    const sent: { hostId: string; chunkId: string }[] = [];
    const dispatcher = {
      async dispatch(hostId: string, m: { chunkId: string }) {
        if (hostId === "a") throw new Error("inbox of a unreachable");
        sent.push({ hostId, chunkId: m.chunkId });
      },
    } as unknown as Dispatcher;
    const host = (id: string) => ({
      id,
      slots: 4,
      running: 0,
      jobTypes: null,
      draining: false,
      load: { loadAvg: 0, cpu: 0, freeMemBytes: 0, totalMemBytes: 0 },
    });
    const decision = {
      jobType: "t",
      level: "low" as const,
      target: 2,
      running: 0,
      pending: 10,
      start: 2,
      stopTokens: 0,
      reason: "",
    };
    const out = await startWorkers(
      [decision],
      new Map([["t", { chunkSize: 5, leaseMs: 60_000 } as never]]),
      [host("a"), host("b")],
      createAllocator("round-robin"),
      dispatcher,
      queue,
      createLogger("t", { level: "silent" }),
    );
    expect(out.started.map((s) => s.hostId)).toEqual(["b", "b"]);
    expect(sent.map((s) => s.hostId)).toEqual(["b", "b"]);
    expect(await queue.counts("t")).toMatchObject({ leased: 10, pending: 0, chunks: 2 });
    await closeClient(client);
  });
});
