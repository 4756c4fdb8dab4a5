/**
 * Pause and resume a job type against live daemons (#10): a paused type
 * starts no worker while its items wait, its running workers stop after
 * their chunk (the prefetched chunk handed back, not run; a lingering
 * worker leaves), enqueue still works; resumed, every item ends done.
 */
import { HostRegistry, PausedTypes, RedisWorkerHistory, RedisWorkerList } from "@batchjob/core";
import type { TickReport } from "@batchjob/manager";
import { describe, expect, it } from "vitest";
import { capturingLogger, controlFor, e2eConfig, fakeHost, testManager, testWorker } from "../harness/daemons.js";
import { gate } from "../harness/gate.js";
import { waitFor } from "../harness/index.js";

/** The inline type with chunks of 5, a prefetched chunk per worker, and 2 workers at every load. */
const config = (change: (inline: Record<string, unknown>) => void = () => {}) =>
  e2eConfig((raw) => {
    const [inline] = raw.jobTypes as Record<string, unknown>[];
    if (!inline) throw new Error("no inline type");
    inline.chunkSize = 5;
    inline.prefetch = 1;
    inline.parallel = { high: 2, medium: 2, low: 2 };
    change(inline);
  });

describe("pause and resume", () => {
  it("a paused type starts nothing, its workers stop after their chunk (prefetched chunk handed back), enqueue works; resume finishes every item", async () => {
    const cfg = await config();
    const c = controlFor(cfg);
    const g = gate();
    await c.queue.enqueue(
      "inline",
      Array.from({ length: 40 }, (_, n) => ({ payload: { n, gate: g.path } })),
    );
    const ticks: TickReport[] = [];
    const { logger, messages } = capturingLogger();
    const w = await testWorker(cfg, { slots: 2, logger });
    const m = await testManager(cfg, { onTick: (r) => ticks.push(r) });
    const list = new RedisWorkerList(c.client, c.keys);
    // two workers each run a gated chunk, and hold the next one (prefetch): 20 items leased, 20 waiting
    await waitFor("2 workers on a chunk, each holding the next", async () => {
      const running = (await list.list()).filter((x) => x.currentChunkId !== null);
      return running.length === 2 && (await c.queue.counts("inline")).leased === 20;
    });
    expect(await new PausedTypes(c.client, c.keys).pause("inline")).toBe(true);
    const seen = ticks.length;
    await waitFor("a paused decision", () =>
      ticks.slice(seen).some((t) => t.decisions.some((d) => d.jobType === "inline" && d.reason.startsWith("paused"))),
    );
    // the worker daemon saw it too (with its next heartbeat): both its workers stop after their chunk
    await waitFor("the worker daemon stopping its workers", () =>
      messages.includes("type paused: its workers stop after their chunk"),
    );
    // enqueue still works while paused
    await c.queue.enqueue("inline", [{ payload: { late: true } }]);
    g.open();
    const history = new RedisWorkerHistory(c.client, c.keys);
    await waitFor("both workers gone", async () => (await history.list()).length === 2);
    const done = await history.list();
    // each ran the chunk it was on, and handed the prefetched one back instead of running it
    expect(done.map((h) => [h.exitReason, h.chunks, h.itemsDone])).toEqual([
      ["scaled-down", 1, 5],
      ["scaled-down", 1, 5],
    ]);
    const paused = await c.queue.counts("inline");
    expect(paused).toMatchObject({ acked: 10, leased: 0, pending: 31, dead: 0 });
    // the manager starts no worker while paused: a few more ticks, nothing listed, nothing started
    const now = ticks.length;
    await waitFor("3 more ticks", () => ticks.length >= now + 3);
    expect(ticks.slice(now).every((t) => t.started === 0)).toBe(true);
    expect(await list.list()).toEqual([]);
    expect(w.pool.size()).toBe(0);
    // resumed: every item ends done, none lost
    expect(await new PausedTypes(c.client, c.keys).resume("inline")).toBe(true);
    await waitFor("every item done", async () => (await c.queue.counts("inline")).acked === 41, 20_000);
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 0, leased: 0, delayed: 0, dead: 0, total: 0 });
    await m.stop();
    await w.stop();
    await c.close();
  });

  it("a worker lingering on the paused type's empty queue leaves at once", async () => {
    const cfg = await config((inline) => {
      inline.idleMs = 600_000;
    });
    const c = controlFor(cfg);
    const w = await testWorker(cfg);
    const m = await testManager(cfg);
    await c.queue.enqueue("inline", [{ payload: {} }]);
    const list = new RedisWorkerList(c.client, c.keys);
    await waitFor("the item done, its worker lingering", async () => {
      const [x] = await list.list();
      return (await c.queue.counts("inline")).acked === 1 && x !== undefined && x.currentChunkId === null;
    });
    await new PausedTypes(c.client, c.keys).pause("inline");
    const history = new RedisWorkerHistory(c.client, c.keys);
    const [h] = await waitFor("the lingering worker gone", async () => {
      const done = await history.list();
      return done.length > 0 && done;
    });
    expect(h).toMatchObject({ exitReason: "scaled-down", itemsDone: 1 });
    expect(await list.list()).toEqual([]);
    await m.stop();
    await w.stop();
    await c.close();
  });

  it("the manager alone, for a worker that misses the pause: a stop token for each running worker, and a wake for lingering ones", async () => {
    const cfg = await config();
    // no tick but the ones the test runs
    cfg.manager.tickMs = 3_600_000;
    const c = controlFor(cfg);
    // a host of an earlier release (it does not read the paused set), running one worker of the type, lingering
    const now = new Date().toISOString();
    await new HostRegistry(c.client, c.keys).beat(fakeHost("old", { running: { inline: 1 }, workers: ["w1"] }));
    await new RedisWorkerList(c.client, c.keys).put({
      id: "w1",
      jobType: "inline",
      hostId: "old",
      hostname: "old",
      pid: 1,
      launcher: "inline",
      reservationId: "r1",
      firstChunkId: "c1",
      currentChunkId: null,
      currentChunkSize: 0,
      createdAt: now,
      updatedAt: now,
      chunks: 1,
      itemsDone: 5,
      itemsFailed: 0,
      itemsRetried: 0,
    });
    await c.queue.enqueue("inline", [{ payload: {} }]);
    // the enqueue's own wake signal is gone: a signal after the tick is the manager's
    await c.client.del(c.keys.type("inline").wake);
    await new PausedTypes(c.client, c.keys).pause("inline");
    const m = await testManager(cfg);
    const inline = (await m.tickNow())?.decisions.find((d) => d.jobType === "inline");
    expect(inline).toMatchObject({
      target: 0,
      start: 0,
      stopTokens: 1,
      reason: "paused: 1 pending, running 1, stopping 1 after their chunk",
    });
    const k = c.keys.type("inline");
    expect(await c.client.get(k.stop)).toBe("1");
    // the lingering worker is woken to take its token (it passes the wake on to the next one)
    expect(await c.client.llen(k.wake)).toBe(1);
    await m.stop();
    await c.close();
  });
});
