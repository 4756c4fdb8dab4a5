/**
 * Draining a host against live daemons (#10): once asked (the drain set),
 * the manager dispatches nothing to it, its workers finish the chunk they
 * run (the prefetched one is handed back) and the daemon exits, clearing
 * its request; the other hosts finish every item, none lost.
 */
import { DrainRequests, HostRegistry, RedisWorkerHistory, RedisWorkerList } from "@batchjob/core";
import type { TickReport } from "@batchjob/manager";
import { describe, expect, it } from "vitest";
import { controlFor, e2eConfig, testManager, testWorker } from "../harness/daemons.js";
import { gate } from "../harness/gate.js";
import { waitFor } from "../harness/index.js";

describe("drain", () => {
  it("a drained host gets no dispatch, finishes its chunk, hands the prefetched one back and exits; no item is lost", async () => {
    const cfg = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as Record<string, unknown>[];
      if (!inline) throw new Error("no inline type");
      inline.chunkSize = 5;
      inline.prefetch = 1;
      inline.parallel = { high: 1, medium: 1, low: 1 };
    });
    // reloaded later: 4 workers wanted, with host a's free slots left empty because it drains
    const wider = {
      ...cfg,
      jobTypes: cfg.jobTypes.map((t) => (t.name === "inline" ? { ...t, parallel: { high: 4, medium: 4, low: 4 } } : t)),
    };
    const c = controlFor(cfg);
    const g = gate();
    await c.queue.enqueue(
      "inline",
      Array.from({ length: 30 }, (_, n) => ({ payload: { n, gate: g.path } })),
    );
    const ticks: TickReport[] = [];
    const a = await testWorker(cfg, { slots: 3, hostId: `drain-a-${cfg.prefix}` });
    const m = await testManager(cfg, { onTick: (r) => ticks.push(r), loadConfig: async () => wider });
    const list = new RedisWorkerList(c.client, c.keys);
    const onA = async () => (await list.list()).filter((x) => x.hostId === a.hostId);
    await waitFor("host a running a chunk and holding the next", async () => {
      const [x] = await onA();
      return x?.currentChunkId && (await c.queue.counts("inline")).leased === 10;
    });
    const before = (await onA()).map((x) => x.id);
    await new DrainRequests(c.client, c.keys).request([a.hostId]);
    await waitFor("host a draining", () => a.pool.isDraining);
    // 4 workers wanted now: host a has 2 free slots, but the manager places nothing on a draining host
    expect(await m.reload()).toEqual({ applied: true, kept: [] });
    const now = ticks.length;
    const placed = await waitFor(
      "a tick that wants 4 workers and finds no host",
      () => ticks.slice(now).flatMap((t) => t.decisions.filter((d) => d.jobType === "inline" && d.target === 4))[0],
    );
    expect(placed.reason).toContain("no live host with a free slot");
    expect((await onA()).map((x) => x.id)).toEqual(before);
    // a second host takes the rest
    const b = await testWorker(cfg, { slots: 3 });
    await waitFor("host b running workers", async () => (await list.list()).some((x) => x.hostId === b.hostId));
    expect((await onA()).map((x) => x.id)).toEqual(before);
    g.open();
    await a.closed;
    const history = await new RedisWorkerHistory(c.client, c.keys).list();
    // host a ran the chunk it was on, and handed the prefetched one back
    expect(history.filter((h) => h.hostId === a.hostId).map((h) => [h.exitReason, h.chunks, h.itemsDone])).toEqual([
      ["shutdown", 1, 5],
    ]);
    expect(await new DrainRequests(c.client, c.keys).list()).toEqual([]);
    const hosts = await new HostRegistry(c.client, c.keys).list(cfg.worker.hostTtlMs);
    expect(hosts.alive.map((h) => h.id)).toEqual([b.hostId]);
    await waitFor("every item done", async () => (await c.queue.counts("inline")).acked === 30, 20_000);
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 0, leased: 0, delayed: 0, dead: 0, total: 0 });
    await m.stop();
    await b.stop();
    await c.close();
  });

  it("a request left over from an earlier daemon of the same host id does not drain a new one", async () => {
    const cfg = await e2eConfig();
    const c = controlFor(cfg);
    const drains = new DrainRequests(c.client, c.keys);
    const id = `stale-${cfg.prefix}`;
    await drains.request([id]);
    const w = await testWorker(cfg, { hostId: id });
    expect(await drains.list()).toEqual([]);
    const m = await testManager(cfg);
    await c.queue.enqueue("inline", [{ payload: {} }]);
    await waitFor("the item done", async () => (await c.queue.counts("inline")).acked === 1);
    expect(w.pool.isDraining).toBe(false);
    await m.stop();
    await w.stop();
    await c.close();
  });
});
