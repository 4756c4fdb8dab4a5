import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { HostRegistry, RedisWorkerHistory, RedisWorkerList } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { Inbox } from "../../packages/worker/src/inbox.js";
import type { WorkerPool } from "../../packages/worker/src/pool.js";
import { capturingLogger, controlFor, e2eConfig, silent, testWorker } from "../harness/daemons.js";
import { gate } from "../harness/gate.js";
import { untilRedisTimePasses, waitFor } from "../harness/index.js";
import { descendantsOf } from "../harness/process-tree.js";

const MB = 1024 * 1024;

type Control = ReturnType<typeof controlFor>;

const items = (n: number, payload: object = {}) =>
  Array.from({ length: n }, (_, i) => ({ payload: { ...payload, i } }));

/** The reservations of a type that no worker has taken yet. */
const reserved = (c: Control, jobType: string) => c.client.smembers(c.keys.type(jobType).reserved);

/** The failure record of an item (null: it never failed nor was returned). */
const failsOf = async (c: Control, jobType: string, id: string) => {
  const raw = await c.client.hget(c.keys.type(jobType).fails, id);
  return raw === null ? null : (JSON.parse(raw) as Record<string, unknown>);
};

/** Waits for a listed worker running a chunk it acquired itself; returns its list entry. */
const runningWorker = (c: Control) =>
  waitFor("a worker running its chunk", async () =>
    (await new RedisWorkerList(c.client, c.keys).list()).find((w) => w.currentChunkId !== null),
  );

/** Waits for the first history entry. */
const firstHistory = async (c: Control) => {
  const history = new RedisWorkerHistory(c.client, c.keys);
  const [h] = await waitFor("a worker's history entry", async () => {
    const l = await history.list();
    return l.length > 0 ? l : null;
  });
  if (!h) throw new Error("no history entry");
  return h;
};

describe("worker daemon", () => {
  it("heartbeats its slots, served types and load, and deregisters on stop", async () => {
    const config = await e2eConfig();
    // the load it reports comes from a file the test writes (as a drill does): a value the test knows
    const loadFile = join(mkdtempSync(join(tmpdir(), "bj-load-")), "load");
    writeFileSync(loadFile, "0.37");
    const w = await testWorker(config, { slots: 3, jobTypes: ["inline"], loadFile });
    const c = controlFor(config);
    const reg = new HostRegistry(c.client, c.keys);
    const hostNow = async () => (await reg.list(60_000)).alive.find((h) => h.id === w.hostId);
    const host = await hostNow();
    expect(host).toMatchObject({ slots: 3, jobTypes: ["inline"], pid: process.pid, draining: false });
    expect(host?.load).toMatchObject({ loadAvg: 0.37, cpu: 0.37, totalMemBytes: totalmem() });
    expect(host?.load.freeMemBytes).toBeGreaterThan(0);
    expect(host?.load.freeMemBytes).toBeLessThanOrEqual(totalmem());
    // each beat reads the load again: a new value reaches the registry
    writeFileSync(loadFile, "0.81");
    await waitFor("a heartbeat with the new load", async () => (await hostNow())?.load.loadAvg === 0.81);
    expect((await hostNow())?.load.cpu).toBe(0.81);
    await w.stop();
    expect((await reg.list(5000)).alive.map((h) => h.id)).not.toContain(w.hostId);
    await c.close();
  });

  it("runs under a dispatched reservation, acquires its chunks itself until the queue is empty, and records it", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    // the first item allocates 192 MiB and holds it for a while: the peak recorded must show it
    const allocMb = 192;
    await c.queue.enqueue("inline", [{ payload: { allocMb, ms: 500 } }, ...items(94)]);
    await c.queue.enqueue("inline", [{ id: "bad-1", payload: { fail: "no such user", retry: false } }]);
    // inline jobs run in this process: its RSS before the run is the baseline
    const rssBefore = process.memoryUsage.rss();
    const reservationId = await c.dispatch(w.hostId, "inline");
    const h = await firstHistory(c);
    expect(h).toMatchObject({
      jobType: "inline",
      hostId: w.hostId,
      reservationId,
      exitReason: "drained",
      chunks: 10,
      itemsDone: 95,
      itemsFailed: 1,
      itemsRetried: 0,
      launcher: "inline",
    });
    expect(await reserved(c, "inline")).toEqual([]);
    // above the baseline by much of what the job allocated (half of it: room for what a GC gave back meanwhile)
    expect(h.peakMemoryBytes).toBeGreaterThan(rssBefore + (allocMb / 2) * MB);
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
    // the chunk runs until the test opens the gate: everything below sees it running
    const g = gate();
    await c.queue.enqueue("inline", items(3, { gate: g.path }));
    const reservationId = await c.dispatch(w.hostId, "inline");
    const list = new RedisWorkerList(c.client, c.keys);
    const entry = await runningWorker(c);
    expect(entry).toMatchObject({
      jobType: "inline",
      hostId: w.hostId,
      reservationId,
      firstChunkId: entry.currentChunkId,
      currentChunkSize: 3,
    });
    // the chunk it lists is the one it holds the lease of; the reservation is taken
    expect(await c.client.zscore(c.keys.type("inline").leases, entry.currentChunkId as string)).not.toBeNull();
    expect(await c.queue.counts("inline")).toMatchObject({ leased: 3, chunks: 1, pending: 0 });
    expect(await reserved(c, "inline")).toEqual([]);
    g.open();
    await waitFor("the worker to finish", async () => (await list.list()).length === 0);
    expect(await c.queue.counts("inline")).toMatchObject({ acked: 3, leased: 0 });
    await w.stop();
    await c.close();
  });

  it("stops after its current chunk when it takes a stop token (scaled down), leaving the rest pending", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(50, { ms: 10 }));
    // target 0 with one worker dispatched and not listed yet: one token
    expect(await c.queue.setStopTokens("inline", 0, { listed: [], dispatched: 1 })).toEqual({ tokens: 1, leaving: 0 });
    await c.dispatch(w.hostId, "inline");
    const h = await firstHistory(c);
    expect(h).toMatchObject({ exitReason: "scaled-down", chunks: 1, itemsDone: 10 });
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 40, leased: 0 });
    expect(await c.queue.stopTokens("inline")).toBe(0);
    // it is marked leaving by its worker id, so the manager never asks a second worker to stop for it
    expect(await c.client.smembers(c.keys.type("inline").stopping)).toEqual([h.id]);
    expect((await c.queue.backlog("inline", Date.now())).stopping).toEqual([h.id]);
    expect(await c.queue.setStopTokens("inline", 0, { listed: [h.id], dispatched: 0 })).toEqual({
      tokens: 0,
      leaving: 1,
    });
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

  it("fork: a stored payload that is not JSON (written around the API) is dead at once, alone; the daemon parses none", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    const { ids } = await c.queue.enqueue("forked", items(4));
    const pending = c.keys.type("forked").pending;
    await c.client.lset(pending, 1, `${ids[1]}\t{not json`);
    await c.dispatch(w.hostId, "forked");
    const [h] = await waitFor("the first worker", async () => {
      const l = await new RedisWorkerHistory(c.client, c.keys).list();
      return l.length > 0 ? l : null;
    });
    // the child found it: one attempt, not retried, the others done
    expect(h).toMatchObject({ itemsDone: 3, itemsFailed: 1, itemsRetried: 0 });
    expect((await c.queue.listDead("forked")).map((d) => [d.id, d.error, d.attempts])).toEqual([
      [ids[1], "stored payload is not valid JSON", 1],
    ]);
    expect(await c.queue.counts("forked")).toMatchObject({ acked: 3, dead: 1, pending: 0, leased: 0, delayed: 0 });
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
    // it would take a minute: only the timeout can end it
    await c.queue.enqueue("inline", [{ id: "slow", payload: { ms: 60_000 } }]);
    await c.dispatch(w.hostId, "inline");
    const history = new RedisWorkerHistory(c.client, c.keys);
    const [h] = await waitFor("history", async () => {
      const l = await history.list();
      return l.length > 0 ? l : null;
    });
    expect(h).toMatchObject({ exitReason: "timeout", error: "timed out after 300 ms", itemsRetried: 1 });
    // charged: the job said it was running this item when the chunk timed out
    expect(await failsOf(c, "inline", "slow")).toMatchObject({
      attempts: 1,
      returns: 0,
      error: "timed out after 300 ms",
      how: "running when its chunk failed",
    });
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 1, leased: 0 });
    await w.stop();
    await c.close();
  });

  it("kill -9 of a forked child mid-chunk: the item it was on is charged alone, the other comes back uncounted, the history says crashed", async () => {
    const config = await e2eConfig();
    const { logger, messages } = capturingLogger();
    const w = await testWorker(config, { logger });
    const c = controlFor(config);
    const { readFileSync, existsSync } = await import("node:fs");
    const log = join(mkdtempSync(join(tmpdir(), "bj-fork-")), "record");
    const g = gate();
    process.env.BEHAVE_LOG = log;
    try {
      // the second item allocates 128 MiB, says so, then waits on a gate nobody opens: it is killed there
      const allocMb = 128;
      const { ids } = await c.queue.enqueue("forked", [
        { payload: { record: true } },
        { payload: { record: true, allocMb, gate: g.path } },
      ]);
      const [done, sleeping] = ids as [string, string];
      await c.dispatch(w.hostId, "forked");
      // the child records each item as it begins it (after ctx.begin): two lines, then it holds on the second
      const lines = await waitFor("the fork child to begin the second item", () => {
        const l = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
        return l.length === 2 ? l : null;
      });
      const childPid = Number(lines[1]?.split(" ")[1]);
      expect(lines.map((l) => l.split(" ")[0])).toEqual([done, sleeping]);
      // the child is this test's own: a fork of the worker running in this process
      expect(descendantsOf(process.pid)).toContain(childPid);
      // its "allocated" log reached the worker: the worker had read the child's memory by then (it does on every message)
      await waitFor("the child's allocation to be reported", () => messages.includes("allocated"));
      process.kill(childPid, "SIGKILL");
      const h = await firstHistory(c);
      expect(h).toMatchObject({ exitReason: "crashed", launcher: "fork", itemsDone: 0, itemsRetried: 1 });
      expect(h.error).toMatch(/SIGKILL/);
      // the peak of a child killed before its result: at least what it had allocated
      expect(h.peakMemoryBytes).toBeGreaterThan(allocMb * MB);
      // the item the job was on is charged; the first (no result reported before the crash) is requeued uncounted
      expect(await failsOf(c, "forked", sleeping)).toMatchObject({
        attempts: 1,
        returns: 0,
        how: "running when its chunk failed",
        error: expect.stringMatching(/SIGKILL/),
      });
      expect(await failsOf(c, "forked", done)).toBeNull();
      expect(await c.queue.counts("forked")).toMatchObject({
        pending: 2,
        leased: 0,
        retried: 1,
        returned: 1,
        split: 0,
        dead: 0,
      });
      // a later attempt, on a fresh child: the requeued item first (head of pending), the charged one after it
      const again = await c.queue.acquire("forked", { max: 10 });
      expect(again.items.map((i) => [i.id, i.attempts])).toEqual([
        [done, 0],
        [sleeping, 1],
      ]);
      await c.queue.returnChunk("forked", again.id);
      await c.client.lset(c.keys.type("forked").pending, 1, `${sleeping}\t{}`);
      await c.dispatch(w.hostId, "forked");
      await waitFor("the retry to finish", async () => (await c.queue.counts("forked")).acked === 2, 15_000);
    } finally {
      delete process.env.BEHAVE_LOG;
    }
    await w.stop();
    await c.close();
  });

  it("a chunk that crashes with no known culprit is bisected, nobody charged, until the crashing item is alone", async () => {
    const config = await e2eConfig((raw) => {
      const forked = (raw.jobTypes as { name: string; maxAttempts: number }[]).find((t) => t.name === "forked");
      if (forked) forked.maxAttempts = 1;
    });
    const w = await testWorker(config);
    const c = controlFor(config);
    const k = c.keys.type("forked");
    // the job never says which item it is on: a crash cannot be pinned on one
    const { ids } = await c.queue.enqueue("forked", [
      { payload: { noBegin: true, crash: true } },
      { payload: { noBegin: true } },
      { payload: { noBegin: true } },
      { payload: { noBegin: true } },
    ]);
    const [crasher, b, c3, d] = ids as [string, string, string, string];
    /** The split groups waiting, in order: [depth, item ids]. */
    const groups = async () =>
      Promise.all(
        (await c.client.lrange(k.groups, 0, -1)).map(async (g) => {
          const [depth, gid] = g.split(":") as [string, string];
          const entries = await c.client.lrange(k.group(gid), 0, -1);
          return [Number(depth), entries.map((e) => e.split("\t")[0])];
        }),
      );
    const history = new RedisWorkerHistory(c.client, c.keys);
    /** Dispatches one worker and waits for it to end (each crash ends its worker). */
    const runWorker = async (n: number) => {
      await c.dispatch(w.hostId, "forked");
      await waitFor(`worker ${n} to end`, async () => (await history.list()).length === n, 15_000);
    };
    // 1: the whole chunk crashes: split in halves, each a group leased whole before anything pending
    await runWorker(1);
    expect(await groups()).toEqual([
      [1, [crasher, b]],
      [1, [c3, d]],
    ]);
    expect(await c.queue.counts("forked")).toMatchObject({ split: 4, grouped: 4, pending: 4, retried: 0, dead: 0 });
    expect(await c.client.hlen(k.fails)).toBe(0);
    // 2: the first half crashes: split again, depth 2
    await runWorker(2);
    expect(await groups()).toEqual([
      [1, [c3, d]],
      [2, [crasher]],
      [2, [b]],
    ]);
    expect(await c.queue.counts("forked")).toMatchObject({ split: 6, grouped: 4, retried: 0, dead: 0 });
    // 3: the healthy half is done; the crasher, alone, is charged (maxAttempts 1: dead)
    await runWorker(3);
    expect(await c.queue.counts("forked")).toMatchObject({ acked: 2, dead: 1, grouped: 1, retried: 0 });
    const [dead] = await c.queue.listDead("forked");
    expect(dead).toMatchObject({
      id: crasher,
      attempts: 1,
      returns: 0,
      how: "isolated by bisection (depth 2)",
      error: expect.stringMatching(/SIGKILL/),
    });
    // 4: the last group
    await runWorker(4);
    expect(await c.queue.counts("forked")).toMatchObject({ acked: 3, dead: 1, total: 1, grouped: 0, retried: 0 });
    const ends = (await history.list()).reverse();
    expect(ends.map((h) => [h.exitReason, h.itemsDone, h.itemsFailed, h.itemsRetried])).toEqual([
      ["crashed", 0, 0, 0],
      ["crashed", 0, 0, 0],
      ["crashed", 2, 1, 0],
      ["drained", 1, 0, 0],
    ]);
    await w.stop();
    await c.close();
  });

  it("a dispatch leases nothing: the worker that takes it claims the reservation and acquires its own chunks", async () => {
    const config = await e2eConfig();
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(25));
    // dispatched to a host that is not running yet
    const reservationId = await c.dispatch("late-host", "inline");
    expect(await reserved(c, "inline")).toEqual([reservationId]);
    expect((await c.dispatcher.undelivered("late-host")).map((m) => m.reservationId)).toEqual([reservationId]);
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 25, leased: 0, acquired: 0, chunks: 0 });
    // the host starts: its worker takes the reservation, then acquires chunk after chunk
    const w = await testWorker(config, { hostId: "late-host" });
    const h = await firstHistory(c);
    expect(h).toMatchObject({ hostId: "late-host", reservationId, exitReason: "drained", chunks: 3, itemsDone: 25 });
    expect(h.firstChunkId).toEqual(expect.any(String));
    expect(h.firstChunkId).not.toBe(reservationId);
    expect(await reserved(c, "inline")).toEqual([]);
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 0, leased: 0, acquired: 25, acked: 25 });
    await w.stop();
    await c.close();
  });

  it("a dispatch whose reservation is no longer waiting starts nothing: no lease, no history", async () => {
    const config = await e2eConfig();
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(5));
    const reservationId = await c.dispatch("late-host", "inline");
    // dropped meanwhile (as the reaper drops the reservations of a host it took for dead)
    expect(await c.queue.claim("inline", reservationId)).toBe(true);
    const { logger, messages } = capturingLogger();
    const w = await testWorker(config, { hostId: "late-host", logger });
    await waitFor("the worker to find its reservation gone", () =>
      messages.includes("reservation no longer waiting; not started"),
    );
    await waitFor("the worker to be gone", () => w.pool.size() === 0);
    expect(await new RedisWorkerList(c.client, c.keys).list()).toEqual([]);
    expect(await new RedisWorkerHistory(c.client, c.keys).list()).toEqual([]);
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 5, leased: 0, acquired: 0 });
    await w.stop();
    await c.close();
  });

  it("a refused dispatch (no free slot, type not served) drops its reservation and leases nothing", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config, { slots: 1, jobTypes: ["inline"] });
    const c = controlFor(config);
    const g = gate();
    // one chunk's worth: the running worker has nothing more to prefetch, so all it leases is its chunk
    await c.queue.enqueue("inline", items(10, { gate: g.path }));
    await c.queue.enqueue("forked", items(5));
    await c.dispatch(w.hostId, "inline");
    // takes the one slot until the end of the test (its chunk of 10 waits on a gate never opened)
    const first = await runningWorker(c);
    // each reservation is recorded before its dispatch is sent; the refusal drops it
    await c.dispatch(w.hostId, "inline");
    await c.dispatch(w.hostId, "forked");
    await waitFor(
      "both reservations to be dropped",
      async () => (await reserved(c, "inline")).length === 0 && (await reserved(c, "forked")).length === 0,
    );
    expect(await c.dispatcher.undelivered(w.hostId)).toEqual([]);
    // no worker started for them: only the first one runs, and only its chunk is leased
    expect(w.pool.size()).toBe(1);
    expect((await new RedisWorkerList(c.client, c.keys).list()).map((x) => x.id)).toEqual([first.id]);
    expect(await c.queue.counts("inline")).toMatchObject({ acquired: 10, leased: 10, chunks: 1, pending: 0 });
    expect(await c.queue.counts("forked")).toMatchObject({ acquired: 0, leased: 0, pending: 5 });
    expect(await new RedisWorkerHistory(c.client, c.keys).list()).toEqual([]);
    await w.stop({ graceMs: 0 });
    await c.close();
  });

  it("a worker whose launcher cannot be created drops its reservation and leases nothing", async () => {
    const config = await e2eConfig((raw) => {
      (raw.jobTypes as object[]).push({ name: "broken", launcher: { kind: "inline", module: "./missing.mjs" } });
    });
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("broken", items(3));
    await c.dispatch(w.hostId, "broken");
    await waitFor("the reservation to be dropped", async () => (await reserved(c, "broken")).length === 0);
    expect(w.pool.size()).toBe(0);
    expect(await c.queue.counts("broken")).toMatchObject({ acquired: 0, leased: 0, pending: 3 });
    expect(await new RedisWorkerHistory(c.client, c.keys).list()).toEqual([]);
    await w.stop();
    await c.close();
  });

  it("keeps a chunk that runs longer than leaseMs alive by extending its lease", async () => {
    const leaseMs = 4000;
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as { leaseMs: number }[];
      if (inline) inline.leaseMs = leaseMs;
    });
    const w = await testWorker(config);
    const c = controlFor(config);
    const g = gate();
    await c.queue.enqueue("inline", [{ payload: { gate: g.path } }]);
    await c.dispatch(w.hostId, "inline");
    const { currentChunkId } = await runningWorker(c);
    const chunkId = currentChunkId as string;
    const leases = c.keys.type("inline").leases;
    const firstDeadline = Number(await c.client.zscore(leases, chunkId));
    expect(firstDeadline).toBeGreaterThan(0);
    // the chunk outlives its first lease (on the Redis clock), still running
    await untilRedisTimePasses(c.client, firstDeadline);
    // its lease was renewed past that deadline, so a reclaim now finds nothing to take
    expect(Number(await c.client.zscore(leases, chunkId))).toBeGreaterThan(firstDeadline);
    expect(await c.queue.reclaim("inline")).toEqual({ chunks: 0, returned: 0, dead: 0 });
    g.open();
    const history = new RedisWorkerHistory(c.client, c.keys);
    await waitFor("the chunk to finish", async () => (await history.list()).length > 0);
    expect((await history.list())[0]).toMatchObject({ exitReason: "drained", itemsDone: 1, itemsRetried: 0 });
    expect(await c.queue.counts("inline")).toMatchObject({ acked: 1, reclaimed: 0, returned: 0 });
    await w.stop();
    await c.close();
  });

  it("on stop, lets the running chunk finish within the grace period and ends with reason shutdown", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    const g = gate();
    await c.queue.enqueue("inline", items(30, { gate: g.path }));
    await c.dispatch(w.hostId, "inline");
    await runningWorker(c);
    // the chunk is still running when the stop begins; it may finish once the worker drains
    const stopping = w.stop({ graceMs: 60_000 });
    await waitFor("the heartbeat to say draining", async () =>
      (await c.client.hget(c.keys.hostInfo, w.hostId))?.includes('"draining":true'),
    );
    g.open();
    await stopping;
    const [h] = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(h).toMatchObject({ exitReason: "shutdown", chunks: 1, itemsDone: 10 });
    // the next chunk it had prefetched (chunk 10 ≤ 100: prefetch on) is handed back unrun, no attempt charged
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 20, leased: 0, acked: 10, returned: 10 });
    expect(await c.client.hlen(c.keys.type("inline").fails)).toBe(0);
    await c.close();
  });

  it("past the grace period, aborts the chunk and gives its items back without an attempt", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config);
    const c = controlFor(config);
    // a chunk that cannot end by itself (its gate is never opened): only the end of the grace period ends it
    const { ids } = await c.queue.enqueue("inline", items(5, { gate: gate().path }));
    await c.dispatch(w.hostId, "inline");
    await runningWorker(c);
    await w.stop({ graceMs: 100 });
    const [h] = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(h).toMatchObject({ exitReason: "shutdown", itemsDone: 0, itemsRetried: 0 });
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 5, leased: 0, retried: 0, returned: 5, split: 0 });
    // given back (returns + 1), not charged, even the item the job was on
    for (const id of ids) {
      expect(await failsOf(c, "inline", id)).toMatchObject({
        attempts: 0,
        returns: 1,
        how: "returned",
        error: expect.stringMatching(/shutting down/),
      });
    }
    const back = await c.queue.acquire("inline", { max: 10 });
    expect(back.items.map((i) => [i.id, i.attempts])).toEqual(ids.map((id) => [id, 0]));
    await c.close();
  });

  it("while draining for shutdown, drops the reservation of a dispatch that arrives instead of starting it", async () => {
    const config = await e2eConfig();
    const w = await testWorker(config, { slots: 2 });
    const c = controlFor(config);
    const g = gate();
    await c.queue.enqueue("inline", items(1, { gate: g.path }));
    await c.dispatch(w.hostId, "inline");
    await runningWorker(c);
    const stopping = w.stop({ graceMs: 60_000 });
    await waitFor("the heartbeat to say draining", async () =>
      (await c.client.hget(c.keys.hostInfo, w.hostId))?.includes('"draining":true'),
    );
    await c.queue.enqueue("inline", items(2));
    await c.dispatch(w.hostId, "inline");
    await waitFor("the late reservation to be dropped", async () => (await reserved(c, "inline")).length === 0);
    expect(w.pool.size()).toBe(1);
    expect(await c.queue.counts("inline")).toMatchObject({ acquired: 1, leased: 1, pending: 2 });
    g.open();
    await stopping;
    expect(await c.queue.counts("inline")).toMatchObject({ acked: 1, pending: 2, leased: 0, acquired: 1 });
    const history = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(history.map((h) => [h.exitReason, h.itemsDone])).toEqual([["shutdown", 1]]);
    await c.close();
  });

  it("on close, drops the reservations of dispatches still waiting in its inbox", async () => {
    const config = await e2eConfig();
    const c = controlFor(config);
    await c.queue.enqueue("inline", items(6));
    const a = await c.dispatch("h-gone", "inline");
    const b = await c.dispatch("h-gone", "inline");
    expect((await reserved(c, "inline")).sort()).toEqual([a, b].sort());
    // an inbox that never opened (its daemon stopped before taking them)
    const inbox = new Inbox(c.client, c.keys, "h-gone", {} as WorkerPool, c.queue, silent());
    await inbox.close();
    expect(await reserved(c, "inline")).toEqual([]);
    expect(await c.dispatcher.undelivered("h-gone")).toEqual([]);
    // they held nothing: the items never left pending
    expect(await c.queue.counts("inline")).toMatchObject({ pending: 6, leased: 0, acquired: 0, returned: 0 });
    await c.close();
  });
});
