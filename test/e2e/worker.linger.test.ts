/**
 * Lingering workers (#12): a drained worker waits on its type's wake list for
 * `idleMs` before it leaves, and an item enqueued meanwhile starts at once,
 * with no manager tick; a stop ends the wait; the first worker of an idle
 * type starts on the first tick, cooldown or not.
 */
import { RedisWorkerHistory, RedisWorkerList } from "@batchjob/core";
import type { TickReport } from "@batchjob/manager";
import { describe, expect, it } from "vitest";
import { controlFor, e2eConfig, testManager, testWorker } from "../harness/daemons.js";
import { gate } from "../harness/gate.js";
import { redisNowMs, waitFor } from "../harness/index.js";

type Control = ReturnType<typeof controlFor>;

/** The e2e config with the inline type lingering ten minutes: only a wake or a stop can end a wait in a test. */
const lingering = (change: (inline: Record<string, unknown>) => void = () => {}) =>
  e2eConfig((raw) => {
    const [inline] = raw.jobTypes as Record<string, unknown>[];
    if (!inline) throw new Error("no inline type");
    inline.idleMs = 600_000;
    change(inline);
  });

/** How many of host `hostId`'s connections are blocked in BLPOP right now (its lingering workers). */
async function blocked(c: Control, hostId: string): Promise<number> {
  const list = String(await c.client.call("CLIENT", "LIST"));
  return list.split("\n").filter((l) => l.includes(` name=batchjob-worker:${hostId} `) && / cmd=blpop\b/.test(l))
    .length;
}

const untilBlocked = (c: Control, hostId: string, n = 1) =>
  waitFor(`${n} worker(s) of ${hostId} blocked on the wake list`, async () => (await blocked(c, hostId)) === n);

describe("lingering workers", () => {
  it("the first tick starts the first worker of an idle type despite its cooldown; an item enqueued while it lingers starts without a tick", async () => {
    const config = await lingering((inline) => {
      inline.cooldownSeconds = 3600;
    });
    // no tick but the ones the test asks for
    config.manager.tickMs = 3_600_000;
    const c = controlFor(config);
    // a worker of the type started a moment ago (and has gone): an hour of cooldown left
    await c.client.hset(c.keys.lastStart, "inline", String(await redisNowMs(c.client)));
    const w = await testWorker(config);
    await c.queue.enqueue("inline", [{ payload: { n: 1 } }]);
    // the manager's first tick runs as it starts
    const ticks: TickReport[] = [];
    const m = await testManager(config, { onTick: (r) => ticks.push(r) });
    expect(ticks).toHaveLength(1);
    expect(ticks[0]?.decisions.find((d) => d.jobType === "inline")).toMatchObject({
      start: 1,
      reason: expect.stringContaining("first worker: no cooldown"),
    });
    await waitFor("the first item done", async () => (await c.queue.counts("inline")).acked === 1);
    // drained, the worker stays, blocked on the wake list (no polling), listed and counted as running
    await untilBlocked(c, w.hostId);
    const list = new RedisWorkerList(c.client, c.keys);
    const [worker] = await list.list();
    expect(worker?.currentChunkId).toBeNull();
    // an item enqueued now starts at once: no tick runs (the next is an hour away), no worker is started
    await c.queue.enqueue("inline", [{ payload: { n: 2 } }, { payload: { n: 3 } }]);
    await waitFor("the new items done", async () => (await c.queue.counts("inline")).acked === 3);
    expect(ticks).toHaveLength(1);
    expect((await list.list()).map((x) => x.id)).toEqual([worker?.id]);
    expect(await new RedisWorkerHistory(c.client, c.keys).list()).toEqual([]);
    // and it lingers again
    await untilBlocked(c, w.hostId);
    await m.stop();
    await w.stop();
    const [h] = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(h).toMatchObject({ id: worker?.id, exitReason: "shutdown", chunks: 2, itemsDone: 3 });
    await c.close();
  });

  it("a stop during the linger ends the worker at once, with its history entry", async () => {
    const config = await lingering();
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("inline", [{ payload: {} }]);
    await c.dispatch(w.hostId, "inline");
    await waitFor("the item done", async () => (await c.queue.counts("inline")).acked === 1);
    await untilBlocked(c, w.hostId);
    // the linger has ten minutes left and the grace period is as long: only the stop's interrupt ends it in time
    await w.stop({ graceMs: 600_000 });
    const [h] = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(h).toMatchObject({ exitReason: "shutdown", chunks: 1, itemsDone: 1 });
    expect(await new RedisWorkerList(c.client, c.keys).list()).toEqual([]);
    expect(await blocked(c, w.hostId)).toBe(0);
    await c.close();
  });

  it("leaves, drained, once idleMs passes with nothing enqueued", async () => {
    const config = await lingering((inline) => {
      inline.idleMs = 300;
    });
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue("inline", [{ payload: {} }]);
    await c.dispatch(w.hostId, "inline");
    const history = new RedisWorkerHistory(c.client, c.keys);
    const [h] = await waitFor("the worker to leave", async () => {
      const l = await history.list();
      return l.length > 0 ? l : null;
    });
    expect(h).toMatchObject({ exitReason: "drained", chunks: 1, itemsDone: 1 });
    // it did linger: the wait took the signal its own item's enqueue had left
    expect(await c.client.llen(c.keys.type("inline").wake)).toBe(0);
    await w.stop();
    await c.close();
  });

  it("lingers no longer than maxRunSeconds: then it leaves with reason limit", async () => {
    const config = await lingering((inline) => {
      inline.limits = { maxRunSeconds: 1 };
    });
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.dispatch(w.hostId, "inline");
    // ten minutes of idleMs: only the run limit can end it within the test's wait
    const [h] = await waitFor("the worker to leave", async () => {
      const l = await new RedisWorkerHistory(c.client, c.keys).list();
      return l.length > 0 ? l : null;
    });
    expect(h).toMatchObject({ exitReason: "limit", chunks: 0 });
    await w.stop();
    await c.close();
  });

  it("a dispatch to a host whose every slot lingers takes the slot of a lingering worker, which leaves drained", async () => {
    const config = await lingering();
    const w = await testWorker(config, { slots: 1 });
    const c = controlFor(config);
    await c.dispatch(w.hostId, "inline");
    await untilBlocked(c, w.hostId);
    expect(w.pool.free()).toBe(0);
    // another type's work arrives: the one slot is lingering on an empty queue, so it is given up
    await c.queue.enqueue("forked", [{ payload: {} }]);
    await c.dispatch(w.hostId, "forked");
    await waitFor("the forked item done", async () => (await c.queue.counts("forked")).acked === 1);
    const ends = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(ends.map((h) => [h.jobType, h.exitReason])).toContainEqual(["inline", "drained"]);
    expect(await c.client.smembers(c.keys.type("forked").reserved)).toEqual([]);
    await w.stop();
    await c.close();
  });

  it("the manager counts a lingering worker's slot as free: another type's start goes to that host, which gives the slot up", async () => {
    const config = await lingering();
    const w = await testWorker(config, { slots: 1 });
    const c = controlFor(config);
    await c.dispatch(w.hostId, "inline");
    await untilBlocked(c, w.hostId);
    // the heartbeat says the one slot lingers
    await waitFor("a heartbeat naming the lingering worker", async () =>
      (await c.client.hget(c.keys.hostInfo, w.hostId))?.includes('"lingering":1'),
    );
    await c.queue.enqueue("forked", [{ payload: {} }]);
    const m = await testManager(config);
    await waitFor("the forked item done", async () => (await c.queue.counts("forked")).acked === 1);
    const ends = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(ends.map((h) => [h.jobType, h.exitReason])).toContainEqual(["inline", "drained"]);
    await m.stop();
    await w.stop();
    await c.close();
  });

  it("a burst wakes one lingering worker, which passes the wake on to the next", async () => {
    const config = await lingering();
    const w = await testWorker(config, { slots: 2 });
    const c = controlFor(config);
    // two workers on an empty queue: both linger from the start
    await c.dispatch(w.hostId, "inline");
    await c.dispatch(w.hostId, "inline");
    await untilBlocked(c, w.hostId, 2);
    // one enqueue, one signal; three chunks' worth of items held at a gate
    const g = gate();
    await c.queue.enqueue(
      "inline",
      Array.from({ length: 30 }, (_, i) => ({ payload: { i, gate: g.path } })),
    );
    // the first holds two chunks at most (its chunk and a prefetched one): the second can only run if woken
    const list = new RedisWorkerList(c.client, c.keys);
    await waitFor("both workers running a chunk", async () => {
      const l = await list.list();
      return l.length === 2 && l.every((x) => x.currentChunkId !== null);
    });
    g.open();
    await waitFor("all items done", async () => (await c.queue.counts("inline")).acked === 30);
    await untilBlocked(c, w.hostId, 2);
    await w.stop();
    const ends = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(ends.map((h) => h.exitReason)).toEqual(["shutdown", "shutdown"]);
    expect(ends.reduce((n, h) => n + h.itemsDone, 0)).toBe(30);
    await c.close();
  });
});
