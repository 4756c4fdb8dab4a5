import { HostRegistry, RedisWorkerHistory, RedisWorkerList, type WorkerListItem } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { controlFor, e2eConfig, fakeHost, testManager, testWorker } from "../harness/daemons.js";
import { untilRedisTimePasses, waitFor } from "../harness/index.js";

function entry(over: Partial<WorkerListItem>): WorkerListItem {
  // stale far past the config's hostTtlMs (30 s)
  const old = new Date(Date.now() - 600_000).toISOString();
  return {
    id: "w",
    jobType: "inline",
    hostId: "h",
    hostname: "h",
    pid: 1,
    launcher: "inline",
    reservationId: "r0",
    firstChunkId: "c0",
    currentChunkId: null,
    currentChunkSize: 0,
    createdAt: old,
    updatedAt: old,
    chunks: 0,
    itemsDone: 0,
    itemsFailed: 0,
    itemsRetried: 0,
    ...over,
  };
}

const hostInfo = (id: string, pid: number) => fakeHost(id, { pid, slots: 0 });

/** A host that beat once and marked itself gone, with a dispatch (a reservation) still waiting in its inbox; 5 items pending. */
async function dispatchToGoneHost(c: ReturnType<typeof controlFor>) {
  const reg = new HostRegistry(c.client, c.keys);
  await reg.beat(hostInfo("ghost", 4242));
  await reg.markGone("ghost");
  await c.queue.enqueue(
    "inline",
    Array.from({ length: 5 }, (_, i) => ({ payload: { i } })),
  );
  const reservationId = await c.dispatch("ghost", "inline");
  expect(await c.client.smembers(c.keys.type("inline").reserved)).toEqual([reservationId]);
  return reservationId;
}

describe("manager reaper", () => {
  it("drops a gone host's undelivered dispatch (its reservation), removes its inbox and forgets it; nothing was leased", async () => {
    const config = await e2eConfig();
    const c = controlFor(config);
    const reservationId = await dispatchToGoneHost(c);
    const m = await testManager(config);
    await m.tickNow();
    expect(await c.dispatcher.undelivered("ghost")).toEqual([]);
    expect(await c.client.sismember(c.keys.type("inline").reserved, reservationId)).toBe(0);
    // a late host would find it gone: it would not run
    expect(await c.queue.claim("inline", reservationId)).toBe(false);
    expect(await c.queue.counts("inline")).toMatchObject({
      pending: 5,
      leased: 0,
      acquired: 0,
      returned: 0,
      retried: 0,
    });
    expect(await c.client.zscore(c.keys.hostBeats, "ghost")).toBeNull();
    expect(await c.client.hget(c.keys.hostInfo, "ghost")).toBeNull();
    await m.stop();
    await c.close();
  });

  it("a gone host's dropped start is made again on a live host under a new reservation", async () => {
    const config = await e2eConfig();
    const c = controlFor(config);
    const old = await dispatchToGoneHost(c);
    const w = await testWorker(config);
    const m = await testManager(config);
    await m.tickNow();
    expect(await c.client.sismember(c.keys.type("inline").reserved, old)).toBe(0);
    await waitFor("the live worker to finish", async () => (await c.queue.counts("inline")).acked === 5);
    const history = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ hostId: w.hostId, itemsDone: 5, exitReason: "drained" });
    expect(history[0]?.reservationId).not.toBe(old);
    expect(await c.queue.counts("inline")).toMatchObject({ retried: 0, returned: 0, acquired: 5 });
    await m.stop();
    await w.stop();
    await c.close();
  });

  it("reclaims the expired leases of every job type in one tick", async () => {
    // no timed ticks: the test runs each tick, so it knows which one reclaimed what
    const config = await e2eConfig((raw) => {
      (raw.manager as { tickMs: number }).tickMs = 3_600_000;
    });
    const c = controlFor(config);
    const chunks: [string, string][] = [];
    for (const t of ["inline", "forked"]) {
      await c.queue.enqueue(t, [{ payload: {} }, { payload: {} }]);
      chunks.push([t, (await c.queue.acquire(t, { max: 2, leaseMs: 600_000 })).id]);
    }
    const m = await testManager(config);
    // live leases are left alone (the daemon's first tick and this one)
    expect((await m.tickNow())?.reclaimedItems).toBe(0);
    expect(await c.queue.counts("inline")).toMatchObject({ leased: 2, reclaimed: 0 });
    // both holders stop renewing: their leases run out now (cut to 1 ms), and the Redis clock passes them
    let deadline = 0;
    for (const [t, id] of chunks) deadline = Math.max(deadline, (await c.queue.extend(t, id, 1)).leaseDeadline);
    await untilRedisTimePasses(c.client, deadline);
    const tick = await m.tickNow();
    expect(tick?.reclaimedItems).toBe(4);
    for (const t of ["inline", "forked"]) {
      // whose fault: the holder froze or died; the items are given back, no attempt charged
      expect(await c.queue.counts(t)).toMatchObject({ leased: 0, pending: 2, reclaimed: 2, returned: 2, retried: 0 });
      const again = await c.queue.acquire(t, { max: 2 });
      expect(again.items.map((i) => i.attempts)).toEqual([0, 0]);
      for (const i of again.items) {
        const record = JSON.parse((await c.client.hget(c.keys.type(t).fails, i.id)) ?? "{}");
        expect(record).toMatchObject({ attempts: 0, returns: 1, how: "returned", error: "lease expired" });
      }
    }
    await m.stop();
    await c.close();
  });

  it("moves workers of unknown or restarted hosts to the history as lost and hands back their chunk", async () => {
    const config = await e2eConfig();
    const c = controlFor(config);
    const reg = new HostRegistry(c.client, c.keys);
    const list = new RedisWorkerList(c.client, c.keys);
    await c.queue.enqueue(
      "inline",
      Array.from({ length: 4 }, (_, i) => ({ payload: { i } })),
    );
    const held = await c.queue.acquire("inline", { max: 2, leaseMs: 600_000 });
    // a leftover entry of a host nobody knows any more, stale for ten minutes
    await list.put(entry({ id: "orphan", hostId: "vanished", currentChunkId: held.id, currentChunkSize: 2 }));
    // an entry of a previous process under a host id that is alive again with another pid
    await reg.beat(hostInfo("reused", 2222));
    await list.put(entry({ id: "previous", hostId: "reused", pid: 1111 }));
    // a live worker of the same host: kept
    await list.put(entry({ id: "current", hostId: "reused", pid: 2222, createdAt: new Date().toISOString() }));
    const m = await testManager(config);
    await m.tickNow();
    expect((await list.list()).map((w) => w.id)).toEqual(["current"]);
    const lost = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(lost.map((h) => [h.id, h.exitReason]).sort()).toEqual([
      ["orphan", "lost"],
      ["previous", "lost"],
    ]);
    // the orphan's chunk is given back at once (not at lease expiry), uncharged, to the head of pending
    expect(await c.client.zscore(c.keys.type("inline").leases, held.id)).toBeNull();
    expect(
      await c.queue.ack(
        "inline",
        held.id,
        held.items.map((i) => i.id),
      ),
    ).toMatchObject({ acked: 0 });
    expect(await c.queue.counts("inline")).toMatchObject({
      leased: 0,
      pending: 4,
      reclaimed: 2,
      returned: 2,
      retried: 0,
    });
    const again = await c.queue.acquire("inline", { max: 4 });
    expect(again.items.slice(0, 2).map((i) => [i.id, i.attempts])).toEqual(held.items.map((i) => [i.id, 0]));
    for (const i of held.items) {
      const record = JSON.parse((await c.client.hget(c.keys.type("inline").fails, i.id)) ?? "{}");
      expect(record).toMatchObject({ attempts: 0, returns: 1, how: "returned", error: "host vanished lost" });
    }
    await m.stop();
    await c.close();
  });
});
