import { HostRegistry, RedisWorkerHistory, RedisWorkerList, type WorkerListItem } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { controlFor, e2eConfig, fakeHost, testManager, testWorker } from "../harness/daemons.js";
import { waitFor } from "../harness/index.js";

function entry(over: Partial<WorkerListItem>): WorkerListItem {
  const old = new Date(Date.now() - 60_000).toISOString();
  return {
    id: "w",
    jobType: "inline",
    hostId: "h",
    hostname: "h",
    pid: 1,
    launcher: "inline",
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

/** A host that beat once and marked itself gone, with a dispatch of 5 items still waiting in its inbox. */
async function dispatchToGoneHost(c: ReturnType<typeof controlFor>) {
  const reg = new HostRegistry(c.client, c.keys);
  await reg.beat(hostInfo("ghost", 4242));
  await reg.markGone("ghost");
  await c.queue.enqueue(
    "inline",
    Array.from({ length: 5 }, (_, i) => ({ payload: { i } })),
  );
  return c.dispatch("ghost", "inline", 5);
}

describe("manager reaper", () => {
  it("hands a gone host's undelivered dispatches back to pending when no live host can take them, and forgets it", async () => {
    const config = await e2eConfig();
    const c = controlFor(config);
    const chunk = await dispatchToGoneHost(c);
    const m = await testManager(config);
    await m.tickNow();
    expect(await c.dispatcher.undelivered("ghost")).toEqual([]);
    expect(await c.queue.readChunk("inline", chunk.id)).toBeNull();
    expect(await c.queue.counts("inline")).toMatchObject({ returned: 5, retried: 0 });
    expect(await c.client.zscore(c.keys.hostBeats, "ghost")).toBeNull();
    await m.stop();
    await c.close();
  });

  it("re-allocates a gone host's undelivered dispatch to a live host under a new chunk id", async () => {
    const config = await e2eConfig();
    const c = controlFor(config);
    const old = await dispatchToGoneHost(c);
    const w = await testWorker(config);
    const m = await testManager(config);
    await m.tickNow();
    // the late host would find nothing under the old id; the live one ran the items
    expect(await c.queue.readChunk("inline", old.id)).toBeNull();
    await waitFor("the live worker to finish", async () => (await c.queue.counts("inline")).acked === 5);
    const [h] = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(h).toMatchObject({ hostId: w.hostId, itemsDone: 5 });
    expect(h?.firstChunkId).not.toBe(old.id);
    expect((await c.queue.counts("inline")).retried).toBe(0);
    await m.stop();
    await w.stop();
    await c.close();
  });

  it("reclaims the expired leases of every job type in one tick", async () => {
    const config = await e2eConfig();
    const c = controlFor(config);
    for (const t of ["inline", "forked"]) {
      await c.queue.enqueue(t, [{ payload: {} }, { payload: {} }]);
      await c.queue.acquire(t, { max: 2, leaseMs: 100 });
    }
    const m = await testManager(config);
    let reclaimed = 0;
    await waitFor("the manager's ticks to reclaim both types", async () => {
      reclaimed += (await m.tickNow())?.reclaimedItems ?? 0;
      return reclaimed >= 4;
    });
    expect(reclaimed).toBe(4);
    for (const t of ["inline", "forked"]) expect(await c.queue.counts(t)).toMatchObject({ leased: 0, reclaimed: 2 });
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
    // a leftover entry of a host nobody knows any more, stale for a minute
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
    expect(await c.queue.readChunk("inline", held.id)).toBeNull();
    expect(await c.queue.counts("inline")).toMatchObject({ leased: 0, reclaimed: 2 });
    await m.stop();
    await c.close();
  });
});
