import { RedisWorkerHistory, RedisWorkerList } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { Inbox } from "../../packages/worker/src/inbox.js";
import type { WorkerPool } from "../../packages/worker/src/pool.js";
import { controlFor, e2eConfig, silent, testWorker } from "../harness/daemons.js";
import { waitFor } from "../harness/index.js";

const items = (n: number, payload: object = {}) =>
  Array.from({ length: n }, (_, i) => ({ payload: { ...payload, i } }));

describe("worker daemon", () => {
  it("heartbeats its slots, served types and load, and deregisters on stop", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config, { slots: 3, jobTypes: ["inline"] });
    const c = controlFor(config);
    const { HostRegistry } = await import("@batchjob/core");
    const reg = new HostRegistry(c.client, c.keys);
    const host = (await reg.list(5000)).alive.find((h) => h.id === w.hostId);
    expect(host).toMatchObject({ slots: 3, jobTypes: ["inline"], pid: process.pid, draining: false });
    expect(host?.load.totalMemBytes).toBeGreaterThan(0);
    expect(host?.load.loadAvg).toBeGreaterThanOrEqual(0);
    await w.stop();
    expect((await reg.list(5000)).alive.map((h) => h.id)).not.toContain(w.hostId);
    await c.close();
  });

  it("runs a dispatched chunk, acquires the next chunks itself until the queue is empty, and records it", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(95, { fail: undefined }));
    await c.queue.enqueue("inline", [{ id: "bad-1", payload: { fail: "no such user", retry: false } }]);
    await c.dispatch(w.hostId, "inline");
    const history = new RedisWorkerHistory(c.client, c.keys);
    const [h] = await waitFor("the worker's history entry", async () => {
      const l = await history.list();
      return l.length > 0 ? l : null;
    });
    expect(h).toMatchObject({
      jobType: "inline",
      hostId: w.hostId,
      exitReason: "drained",
      chunks: 10,
      itemsDone: 95,
      itemsFailed: 1,
      itemsRetried: 0,
      launcher: "inline",
    });
    expect(h?.peakMemoryBytes).toBeGreaterThan(10_000_000);
    expect(await new RedisWorkerList(c.client, c.keys).list()).toEqual([]);
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 0, leased: 0, acked: 95, dead: 1 });
    expect((await c.queue.listDead("inline"))[0]).toMatchObject({ id: "bad-1", error: "no such user" });
    await w.stop();
    await c.close();
  });

  it("lists a running worker with its current chunk", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(3, { ms: 300 }));
    const chunk = await c.dispatch(w.hostId, "inline");
    const list = new RedisWorkerList(c.client, c.keys);
    const [entry] = await waitFor("a worker list entry", async () => {
      const l = await list.list();
      return l.length > 0 ? l : null;
    });
    expect(entry).toMatchObject({
      jobType: "inline",
      hostId: w.hostId,
      firstChunkId: chunk.id,
      currentChunkId: chunk.id,
      currentChunkSize: 3,
    });
    await waitFor("the worker to finish", async () => (await list.list()).length === 0);
    await w.stop();
    await c.close();
  });

  it("stops after its current chunk when it takes a stop token (scaled down), leaving the rest pending", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(50, { ms: 10 }));
    await c.queue.setStopTokens("inline", 1);
    await c.dispatch(w.hostId, "inline");
    const history = new RedisWorkerHistory(c.client, c.keys);
    const [h] = await waitFor("history", async () => {
      const l = await history.list();
      return l.length > 0 ? l : null;
    });
    expect(h).toMatchObject({ exitReason: "scaled-down", chunks: 1, itemsDone: 10 });
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 40, leased: 0 });
    expect(await c.queue.stopTokens("inline")).toBe(0);
    await w.stop();
    await c.close();
  });

  it("ends with reason limit after maxChunks", async () => {
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as { limits?: object }[];
      if (inline) inline.limits = { maxChunks: 2 };
    });
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(50));
    await c.dispatch(w.hostId, "inline");
    const history = new RedisWorkerHistory(c.client, c.keys);
    const [h] = await waitFor("history", async () => {
      const l = await history.list();
      return l.length > 0 ? l : null;
    });
    expect(h).toMatchObject({ exitReason: "limit", chunks: 2, itemsDone: 20 });
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 30, leased: 0 });
    await w.stop();
    await c.close();
  });

  it("retries an item the job failed (backoff, error kept) and does it on a later attempt", async () => {
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as { backoff: object }[];
      if (inline) inline.backoff = { type: "fixed", delayMs: 60_000 };
    });
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("inline", [{ id: "flaky", payload: { fail: "upstream 503" } }, { payload: {} }]);
    await c.dispatch(w.hostId, "inline");
    const history = new RedisWorkerHistory(c.client, c.keys);
    const [h] = await waitFor("the first worker", async () => {
      const l = await history.list();
      return l.length > 0 ? l : null;
    });
    expect(h).toMatchObject({ itemsDone: 1, itemsRetried: 1, itemsFailed: 0 });
    const fails = JSON.parse((await c.client.hget(c.keys.type("inline").fails, "flaky")) ?? "{}");
    expect(fails).toMatchObject({ attempts: 1, error: "upstream 503" });
    expect(await c.queue.counts("inline")).toMatchObject({ delayed: 1, pending: 0 });
    // its next attempt, once due (made due now rather than waiting out the minute)
    await c.client.zadd(c.keys.type("inline").delayed, 0, "flaky");
    const again = await c.queue.acquire("inline", { max: 1 });
    expect(again.items[0]).toMatchObject({ id: "flaky", attempts: 1 });
    await c.queue.ack("inline", again.id, ["flaky"]);
    expect(await c.queue.counts("inline")).toMatchObject({ acked: 2, total: 0, retried: 1 });
    await w.stop();
    await c.close();
  });

  it("ends with reason timeout when a chunk runs past timeoutMs; its items come back with the error", async () => {
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as { launcher: { timeoutMs?: number } }[];
      if (inline) inline.launcher.timeoutMs = 300;
    });
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("inline", [{ id: "slow", payload: { ms: 5000 } }]);
    await c.dispatch(w.hostId, "inline");
    const history = new RedisWorkerHistory(c.client, c.keys);
    const [h] = await waitFor("history", async () => {
      const l = await history.list();
      return l.length > 0 ? l : null;
    });
    expect(h).toMatchObject({ exitReason: "timeout", error: "timed out after 300 ms", itemsRetried: 1 });
    const fails = JSON.parse((await c.client.hget(c.keys.type("inline").fails, "slow")) ?? "{}");
    expect(fails).toMatchObject({ attempts: 1, error: "timed out after 300 ms" });
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 1, leased: 0 });
    await w.stop();
    await c.close();
  });

  it("kill -9 of a forked child mid-chunk: the items come back, a later attempt does them, the history says crashed", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    const { mkdtempSync, readFileSync, existsSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const log = join(mkdtempSync(join(tmpdir(), "bj-fork-")), "record");
    process.env.BEHAVE_LOG = log;
    try {
      await c.queue.enqueue("forked", [{ payload: { record: true } }, { payload: { ms: 10_000 } }]);
      await c.dispatch(w.hostId, "forked");
      // the child records the first item with its pid, then sleeps on the second
      const childPid = await waitFor("the fork child to start work", () =>
        existsSync(log) ? Number(readFileSync(log, "utf8").trim().split(" ")[1]) : 0,
      );
      expect(childPid).not.toBe(process.pid);
      process.kill(childPid, "SIGKILL");
      const history = new RedisWorkerHistory(c.client, c.keys);
      const [h] = await waitFor("the crashed worker's history", async () => {
        const l = await history.list();
        return l.length > 0 ? l : null;
      });
      expect(h).toMatchObject({ exitReason: "crashed", launcher: "fork", itemsDone: 0, itemsRetried: 2 });
      expect(h?.error).toMatch(/SIGKILL/);
      expect(h?.peakMemoryBytes).toBeGreaterThan(1_000_000);
      expect(await c.queue.counts("forked")).toMatchObject({ pending: 2, leased: 0 });
      // a later attempt, on a fresh child
      const again = await c.queue.acquire("forked", { max: 10 });
      expect(again.items.map((i) => i.attempts)).toEqual([1, 1]);
      await c.queue.returnChunk("forked", again.id);
      await c.client.lset(c.keys.type("forked").pending, 1, `${again.items[1]?.id}\t{}`);
      await c.dispatch(w.hostId, "forked");
      await waitFor("the retry to finish", async () => (await c.queue.counts("forked")).acked === 2, 15_000);
    } finally {
      delete process.env.BEHAVE_LOG;
    }
    await w.stop();
    await c.close();
  });

  it("hands a dispatch back untouched when no slot is free or the type is not served", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config, { slots: 1, jobTypes: ["inline"] });
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(20, { ms: 400 }));
    await c.queue.enqueue("forked", items(5));
    await c.dispatch(w.hostId, "inline", 1); // takes the one slot for a while
    await waitFor("the first worker", () => w.pool.size() === 1);
    await c.dispatch(w.hostId, "inline", 2);
    await c.dispatch(w.hostId, "forked", 5);
    await waitFor(
      "both refusals",
      async () => (await c.queue.counts("inline")).returned === 2 && (await c.queue.counts("forked")).returned === 5,
    );
    const forked = await c.queue.acquire("forked", { max: 10 });
    expect(forked.items.every((i) => i.attempts === 0)).toBe(true);
    expect(forked.size).toBe(5);
    await w.stop({ graceMs: 0 });
    await c.close();
  });

  it("keeps a chunk that runs longer than leaseMs alive by extending its lease", async () => {
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as { leaseMs: number }[];
      if (inline) inline.leaseMs = 1000;
    });
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("inline", [{ payload: { ms: 3500 } }]);
    await c.dispatch(w.hostId, "inline");
    const history = new RedisWorkerHistory(c.client, c.keys);
    let reclaimed = 0;
    await waitFor(
      "the slow chunk to finish",
      async () => {
        reclaimed += (await c.queue.reclaim("inline")).chunks;
        return (await history.list()).length > 0;
      },
      10_000,
      50,
    );
    expect(reclaimed).toBe(0);
    expect((await history.list())[0]).toMatchObject({ exitReason: "drained", itemsDone: 1, itemsRetried: 0 });
    await w.stop();
    await c.close();
  });

  it("on stop, lets the running chunk finish within the grace period and ends with reason shutdown", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(30, { ms: 150 }));
    await c.dispatch(w.hostId, "inline");
    await waitFor("the worker to start", () => w.pool.size() === 1);
    await w.stop({ graceMs: 10_000 });
    const [h] = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(h).toMatchObject({ exitReason: "shutdown", chunks: 1, itemsDone: 10 });
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 20, leased: 0, acked: 10 });
    await c.close();
  });

  it("past the grace period, aborts the chunk and returns its items without an attempt", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(5, { ms: 2000 }));
    await c.dispatch(w.hostId, "inline");
    await waitFor("the worker to start", () => w.pool.size() === 1);
    await w.stop({ graceMs: 100 });
    const [h] = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(h).toMatchObject({ exitReason: "shutdown", itemsDone: 0 });
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 5, leased: 0, retried: 0 });
    const back = await c.queue.acquire("inline", { max: 10 });
    expect(back.items.map((i) => i.attempts)).toEqual([0, 0, 0, 0, 0]);
    await c.close();
  });

  it("while draining for shutdown, hands back a dispatch that arrives instead of starting it", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config, { slots: 2 });
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(3, { ms: 3000 }));
    await c.dispatch(w.hostId, "inline", 1);
    await waitFor("the first worker", () => w.pool.size() === 1);
    const stopping = w.stop({ graceMs: 10_000 });
    await waitFor("the heartbeat to say draining", async () =>
      (await c.client.hget(c.keys.hostInfo, w.hostId))?.includes('"draining":true'),
    );
    const late = await c.dispatch(w.hostId, "inline", 2);
    await waitFor("the late dispatch to be handed back", async () => (await c.queue.counts("inline")).returned === 2);
    expect(await c.queue.readChunk("inline", late.id)).toBeNull();
    await stopping;
    expect(await c.queue.counts("inline")).toMatchObject({ acked: 1, pending: 2, leased: 0 });
    await c.close();
  });

  it("on close, returns the chunks of dispatches still waiting in its inbox", async () => {
    const config = await e2eConfig();
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(6));
    await c.dispatch("h-gone", "inline", 3);
    await c.dispatch("h-gone", "inline", 3);
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 0, leased: 6 });
    // an inbox that never opened (its daemon stopped before taking them)
    const inbox = new Inbox(c.client, c.keys, "h-gone", {} as WorkerPool, c.queue, silent());
    await inbox.close();
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 6, leased: 0, returned: 6 });
    expect(await c.dispatcher.undelivered("h-gone")).toEqual([]);
    await c.close();
  });
});
