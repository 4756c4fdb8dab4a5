import { describe, expect, it } from "vitest";
import { testQueue } from "../../../test/harness/queue.js";
import { RedisWorkerHistory, RedisWorkerList, type WorkerHistoryItem, type WorkerListItem } from "../src/index.js";

function listItem(id: string, jobType: string, hostId = "h1"): WorkerListItem {
  const now = new Date().toISOString();
  return {
    id,
    jobType,
    hostId,
    hostname: "box",
    pid: 123,
    launcher: "inline",
    reservationId: "r0",
    firstChunkId: "c0",
    currentChunkId: "c1",
    currentChunkSize: 10,
    createdAt: now,
    updatedAt: now,
    chunks: 0,
    itemsDone: 0,
    itemsFailed: 0,
    itemsRetried: 0,
  };
}

function historyItem(id: string, jobType: string): WorkerHistoryItem {
  const { updatedAt: _u, currentChunkId: _c, ...rest } = listItem(id, jobType);
  return { ...rest, finishedAt: new Date().toISOString(), durationMs: 5, exitReason: "drained", peakMemoryBytes: 1024 };
}

describe("worker list", () => {
  it("puts, updates, filters and removes entries; removal happens once", async () => {
    const t = testQueue();
    const list = new RedisWorkerList(t.client, t.keys);
    await list.put(listItem("w1", "a"));
    await list.put(listItem("w2", "b", "h2"));
    await list.put({ ...listItem("w1", "a"), chunks: 3, currentChunkSize: 7 });
    expect(await list.get("w1")).toMatchObject({ chunks: 3, currentChunkSize: 7 });
    expect((await list.list()).map((w) => w.id).sort()).toEqual(["w1", "w2"]);
    expect((await list.list({ jobType: "b" })).map((w) => w.id)).toEqual(["w2"]);
    expect((await list.list({ hostId: "h1" })).map((w) => w.id)).toEqual(["w1"]);
    expect(await list.remove("w1")).toBe(true);
    expect(await list.remove("w1")).toBe(false);
    expect(await list.get("w1")).toBeNull();
    await t.close();
  });
});

describe("worker history", () => {
  it("lists newest first, filters by job type and keeps at most `cap` entries", async () => {
    const t = testQueue();
    const h = new RedisWorkerHistory(t.client, t.keys, { cap: 3 });
    for (let i = 1; i <= 5; i++) await h.add(historyItem(`w${i}`, i % 2 ? "odd" : "even"));
    expect((await h.list()).map((x) => x.id)).toEqual(["w5", "w4", "w3"]);
    expect((await h.list({ jobType: "odd" })).map((x) => x.id)).toEqual(["w5", "w3", "w1"]);
    expect((await h.list({ jobType: "even", limit: 1 })).map((x) => x.id)).toEqual(["w4"]);
    expect((await h.list({ limit: 2, offset: 1 })).map((x) => x.id)).toEqual(["w4", "w3"]);
    expect((await h.list())[0]).toMatchObject({ exitReason: "drained", peakMemoryBytes: 1024, durationMs: 5 });
    await t.close();
  });
});
