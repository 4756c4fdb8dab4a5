/**
 * Prefetch (#12): a worker holds its next chunk while the current one runs,
 * keeps that chunk's lease, and hands it back unrun and uncharged when it
 * stops or loses a lease.
 */
import { createHash } from "node:crypto";
import { RedisWorkerHistory, RedisWorkerList } from "@batchjob/core";
import { type Command, Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { scriptSource } from "../../packages/core/src/scripts/source.js";
import { capturingLogger, controlFor, e2eConfig, testWorker } from "../harness/daemons.js";
import { gate } from "../harness/gate.js";
import { untilRedisTimePasses, waitFor } from "../harness/index.js";

type Control = ReturnType<typeof controlFor>;

/** `n` items that wait at the gate `path` (chunk 10: the first ten run, the next ten are prefetched). */
const gated = (n: number, path: string) => Array.from({ length: n }, (_, i) => ({ payload: { i, gate: path } }));

/** The running chunk (from the worker list) and the prefetched one (the other lease), once both are held. */
async function heldChunks(c: Control, jobType = "inline"): Promise<{ running: string; prefetched: string }> {
  const list = new RedisWorkerList(c.client, c.keys);
  return waitFor("a running chunk and a prefetched one", async () => {
    const running = (await list.list()).find((w) => w.currentChunkId !== null)?.currentChunkId;
    const leased = await c.client.zrangebyscore(c.keys.type(jobType).leases, "-inf", "+inf");
    if (!running || leased.length !== 2) return null;
    const prefetched = leased.find((id) => id !== running);
    return prefetched ? { running, prefetched } : null;
  });
}

/** The item ids a chunk holds, in order. */
const idsOf = async (c: Control, chunkId: string) =>
  (await c.client.lrange(c.keys.type("inline").chunk(chunkId), 0, -1)).map((e) => e.split("\t")[0]);

const pendingIds = async (c: Control) =>
  (await c.client.lrange(c.keys.type("inline").pending, 0, -1)).map((e) => e.split("\t")[0]);

const firstHistory = async (c: Control) => {
  const [h] = await waitFor("a history entry", async () => {
    const l = await new RedisWorkerHistory(c.client, c.keys).list();
    return l.length > 0 ? l : null;
  });
  if (!h) throw new Error("no history entry");
  return h;
};

describe("prefetch", () => {
  it("holds the next chunks while one runs (auto: about 10 items ahead, none past chunk 100), none with prefetch off", async () => {
    for (const [prefetch, chunkSize, leases] of [
      ["auto", 10, 2],
      ["auto", 2, 5],
      ["auto", 5, 3],
      [3, 10, 4],
      [false, 10, 1],
      ["auto", 101, 1],
      [true, 101, 2],
    ] as const) {
      const config = await e2eConfig((raw) => {
        const [inline] = raw.jobTypes as Record<string, unknown>[];
        if (inline) Object.assign(inline, { prefetch, chunkSize });
      });
      const w = await testWorker(config);
      const c = controlFor(config);
      const g = gate();
      await c.queue.enqueue("inline", gated(6 * chunkSize, g.path));
      await c.dispatch(w.hostId, "inline");
      const list = new RedisWorkerList(c.client, c.keys);
      await waitFor("a running chunk", async () => (await list.list()).some((x) => x.currentChunkId !== null));
      if (leases > 1)
        await waitFor(`${leases} chunks held`, async () => (await c.queue.counts("inline")).chunks === leases);
      // what it holds while the chunk runs: with prefetch, the next chunk too
      expect({ prefetch, chunkSize, chunks: (await c.queue.counts("inline")).chunks }).toEqual({
        prefetch,
        chunkSize,
        chunks: leases,
      });
      g.open();
      // the worker leaves once its queue is empty (the fixture's idleMs is 0)
      expect(await firstHistory(c)).toMatchObject({ exitReason: "drained", chunks: 6, itemsDone: 6 * chunkSize });
      expect(await c.queue.counts("inline")).toMatchObject({ acked: 6 * chunkSize, leased: 0, returned: 0 });
      await w.stop();
      await c.close();
    }
  });

  it("on stop with four chunks prefetched (chunk 2, auto), all go back in the order they were taken, uncharged", async () => {
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as Record<string, unknown>[];
      if (inline) inline.chunkSize = 2;
    });
    const w = await testWorker(config);
    const c = controlFor(config);
    const g = gate();
    const { ids } = await c.queue.enqueue("inline", gated(20, g.path));
    await c.dispatch(w.hostId, "inline");
    await waitFor("five chunks held", async () => (await c.queue.counts("inline")).chunks === 5);
    const draining = w.pool.drain(600_000);
    g.open();
    await draining;
    expect(await firstHistory(c)).toMatchObject({ exitReason: "shutdown", chunks: 1, itemsDone: 2 });
    expect(await pendingIds(c)).toEqual(ids.slice(2));
    expect(await c.queue.counts("inline")).toMatchObject({ acked: 2, pending: 18, leased: 0, chunks: 0, returned: 8 });
    expect(await c.client.hlen(c.keys.type("inline").fails)).toBe(0);
    await w.stop();
    await c.close();
  });

  it("on stop, the running chunk finishes and the prefetched one goes back to the head of pending, uncharged", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    const g = gate();
    const { ids } = await c.queue.enqueue("inline", gated(25, g.path));
    await c.dispatch(w.hostId, "inline");
    const { running, prefetched } = await heldChunks(c);
    expect(await idsOf(c, prefetched)).toEqual(ids.slice(10, 20));
    expect(await idsOf(c, running)).toEqual(ids.slice(0, 10));
    // asks the worker to stop (synchronously), then lets its chunk finish
    const draining = w.pool.drain(600_000);
    g.open();
    await draining;
    const h = await firstHistory(c);
    expect(h).toMatchObject({ exitReason: "shutdown", chunks: 1, itemsDone: 10 });
    // the prefetched chunk never ran: back at the head of pending in its order, no attempt and no return counted
    expect(await pendingIds(c)).toEqual(ids.slice(10));
    expect(await c.queue.counts("inline")).toMatchObject({
      acked: 10,
      pending: 15,
      leased: 0,
      chunks: 0,
      returned: 10,
    });
    expect(await c.client.hlen(c.keys.type("inline").fails)).toBe(0);
    const again = await c.queue.acquire("inline", { max: 10 });
    expect(again.items.map((i) => [i.id, i.attempts])).toEqual(ids.slice(10, 20).map((id) => [id, 0]));
    await c.queue.returnChunk("inline", again.id);
    await w.stop();
    await c.close();
  });

  it("on a forced stop, the aborted chunk is given back (a return, no attempt) and the prefetched one handed back", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    const g = gate();
    const { ids } = await c.queue.enqueue("inline", gated(25, g.path));
    await c.dispatch(w.hostId, "inline");
    await heldChunks(c);
    // no grace: the running chunk is aborted at its gate
    await w.stop({ graceMs: 0 });
    expect(await firstHistory(c)).toMatchObject({ exitReason: "shutdown", chunks: 1, itemsDone: 0 });
    expect(await c.queue.counts("inline")).toMatchObject({ acked: 0, pending: 25, leased: 0, retried: 0, dead: 0 });
    const fails = c.keys.type("inline").fails;
    // the aborted items count a return (their host went away holding them); the prefetched ones nothing at all
    for (const id of ids.slice(0, 10))
      expect(JSON.parse((await c.client.hget(fails, id)) ?? "{}")).toMatchObject({ attempts: 0, returns: 1 });
    for (const id of ids.slice(10)) expect(await c.client.hget(fails, id)).toBeNull();
    await c.close();
  });

  it("keeps the prefetched chunk's lease while it waits, and hands it back when the running chunk's lease is lost", async () => {
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as Record<string, unknown>[];
      // renewed every 500 ms: the test sees renewals and a lost lease soon
      if (inline) inline.leaseMs = 1500;
    });
    const w = await testWorker(config);
    const c = controlFor(config);
    const g = gate();
    const { ids } = await c.queue.enqueue("inline", gated(25, g.path));
    await c.dispatch(w.hostId, "inline");
    const { running, prefetched } = await heldChunks(c);
    const leases = c.keys.type("inline").leases;
    const deadline = Number(await c.client.zscore(leases, prefetched));
    // past its first deadline on the Redis clock, the waiting chunk is still leased: its lease was extended
    await untilRedisTimePasses(c.client, deadline);
    expect(Number(await c.client.zscore(leases, prefetched))).toBeGreaterThan(deadline);
    expect(await c.queue.reclaim("inline")).toEqual({ chunks: 0, returned: 0, dead: 0 });
    // the running chunk is taken back (as the reaper does for a worker it took for lost)
    expect(await c.queue.reclaim("inline", { chunkIds: [running] })).toMatchObject({ chunks: 1, returned: 10 });
    const h = await firstHistory(c);
    expect(h).toMatchObject({ exitReason: "crashed", error: "lease lost: the chunk was reclaimed", itemsDone: 0 });
    // the prefetched chunk is handed back unrun, uncharged: nothing is leased, its items have no failure record
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 25, leased: 0, chunks: 0, retried: 0 });
    const fails = c.keys.type("inline").fails;
    for (const id of ids.slice(10, 20)) expect(await c.client.hget(fails, id)).toBeNull();
    expect((await pendingIds(c)).slice(0, 10)).toEqual(ids.slice(10, 20));
    g.open();
    await w.stop();
    await c.close();
  });

  it("never runs a prefetched chunk whose lease was lost while it waited", async () => {
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as Record<string, unknown>[];
      if (inline) inline.leaseMs = 1500;
    });
    const { logger, messages } = capturingLogger();
    const w = await testWorker(config, { logger });
    const c = controlFor(config);
    const g = gate();
    const { ids } = await c.queue.enqueue("inline", gated(25, g.path));
    await c.dispatch(w.hostId, "inline");
    const { prefetched } = await heldChunks(c);
    expect(await c.queue.reclaim("inline", { chunkIds: [prefetched] })).toMatchObject({ chunks: 1, returned: 10 });
    await waitFor("the worker to see the lost lease", () =>
      messages.includes("the prefetched chunk's lease was lost; it will not run"),
    );
    g.open();
    const h = await firstHistory(c);
    // its own chunk done, the reclaimed one not run: the worker ends, as after any lost lease
    expect(h).toMatchObject({ exitReason: "crashed", chunks: 1, itemsDone: 10 });
    expect(h.error).toMatch(/prefetched chunk was reclaimed/);
    expect(await c.queue.counts("inline")).toMatchObject({ acked: 10, pending: 15, leased: 0 });
    expect(new Set(await pendingIds(c))).toEqual(new Set(ids.slice(10)));
    await w.stop();
    await c.close();
  });

  it("auto, chunk 1: while chunks run quick it holds up to 32 ahead and settles several per call; once they run slow, the base 4", async () => {
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as Record<string, unknown>[];
      if (inline) Object.assign(inline, { chunkSize: 1 });
    });
    const c = controlFor(config);
    // every settle call of this test's type as the worker sends it (in this process): how many settles it carries
    const settleSha = createHash("sha1").update(scriptSource("settle")).digest("hex");
    const pending = c.keys.type("inline").pending;
    const calls: number[] = [];
    const send = Redis.prototype.sendCommand;
    Redis.prototype.sendCommand = function (this: Redis, command: Command, stream?: Parameters<typeof send>[1]) {
      const a = command.args.map(String);
      if (command.name === "evalsha" && a[0] === settleSha && a[2] === pending) calls.push(Number(a[2 + Number(a[1])]));
      return send.call(this, command, stream);
    };
    const w = await testWorker(config);
    try {
      const g = gate();
      const quick = Array.from({ length: 300 }, (_, i) => ({ payload: { i } }));
      const slow = Array.from({ length: 60 }, (_, i) => ({ payload: { i, ms: 25 } }));
      await c.queue.enqueue("inline", [...quick, { payload: { gate: g.path } }, ...slow]);
      await c.dispatch(w.hostId, "inline");
      // at the gate, the 300 quick chunks settled: the one that waits and up to 32 held ahead (the base depth
      // would hold 4: a stall of the machine in the last quick chunks may have brought it down a little)
      await waitFor("more than 5 chunks held at the gate", async () => {
        const n = await c.queue.counts("inline");
        return n.acked === 300 && n.chunks >= 12;
      });
      const quickCalls = [...calls];
      const sum = quickCalls.reduce((a, b) => a + b, 0);
      expect(sum).toBeGreaterThanOrEqual(300);
      // each call carried several settles (one per chunk would be 300 calls or more)
      expect(quickCalls.length).toBeLessThan(sum / 2);
      g.open();
      // the gated chunk ran slow: from then on it holds no more than 4 ahead, while plenty still waits
      const held = await waitFor("at most 5 chunks held with items still pending", async () => {
        const n = await c.queue.counts("inline");
        return n.chunks <= 5 && n.pending >= 20 ? n : null;
      });
      expect(held.chunks).toBeLessThanOrEqual(5);
      expect(await firstHistory(c)).toMatchObject({ exitReason: "drained", chunks: 361, itemsDone: 361 });
      expect(await c.queue.counts("inline")).toMatchObject({ acked: 361, leased: 0, returned: 0 });
    } finally {
      Redis.prototype.sendCommand = send;
      await w.stop();
      await c.close();
    }
  });
});
