import { BatchQueue, parseConfig, RedisWorkerHistory, shardOfKey } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { controlFor, rawE2eConfig, testManager, testWorker } from "../harness/daemons.js";
import { waitFor } from "../harness/index.js";

describe("a job type spread over shards, through the daemons (#12)", () => {
  it("a producer without the config spreads items over the published shards; workers drain them all, once", async () => {
    const raw = await rawE2eConfig();
    raw.jobTypes = [
      {
        name: "sharded",
        shards: 3,
        chunkSize: 10,
        parallel: { high: 2, medium: 2, low: 2 },
        cooldownSeconds: 0,
        idleMs: 0,
        backoff: { type: "fixed", delayMs: 0 },
        launcher: { kind: "inline", module: "./behave.mjs" },
      },
    ];
    const config = parseConfig(raw);
    const c = controlFor(config);
    const m = await testManager(config);
    // the leader publishes the config: a producer in another service reads the type's shards from it
    await waitFor("the config to be published", async () => (await c.client.get(c.keys.config)) !== null);
    const producer = new BatchQueue({ redis: c.client, prefix: config.prefix });
    const r = await producer.enqueue(
      "sharded",
      Array.from({ length: 300 }, (_, i) => ({ payload: { i } })),
    );
    expect(new Set(r.ids).size).toBe(300);
    const perShard = async (field: string) =>
      Promise.all(
        c.queue.queuesOf("sharded").map(async (q) => Number(await c.client.hget(c.keys.type(q).stats, field))),
      );
    expect(await perShard("enqueued")).toEqual([100, 100, 100]);

    const w1 = await testWorker(config, { hostId: "shard-host-1" });
    const w2 = await testWorker(config, { hostId: "shard-host-2" });
    await waitFor("every item acked", async () => (await c.queue.counts("sharded")).acked === 300, 60_000);
    expect(await c.queue.counts("sharded")).toMatchObject({ acked: 300, total: 0, dead: 0, retried: 0 });
    // each shard's items were taken and acked in that shard
    expect(await perShard("acked")).toEqual([100, 100, 100]);
    // every item once: the workers' history adds up to the items
    const history = new RedisWorkerHistory(c.client, c.keys);
    const done = await waitFor("the workers' history", async () => {
      const h = await history.list({ jobType: "sharded" });
      const sum = h.reduce((s, e) => s + e.itemsDone, 0);
      return sum === 300 ? h : undefined;
    });
    expect(done.every((e) => e.exitReason === "drained")).toBe(true);

    // items on shard 2 alone (one key): the manager sees them there and starts a worker
    const key = Array.from({ length: 50 }, (_, i) => `k${i}`).find((k) => shardOfKey(k, 3) === 2) as string;
    await producer.enqueue(
      "sharded",
      Array.from({ length: 30 }, (_, i) => ({ payload: { i }, key })),
    );
    expect(await perShard("enqueued")).toEqual([100, 100, 130]);
    await waitFor("the keyed items acked", async () => (await c.queue.counts("sharded")).acked === 330, 60_000);
    await Promise.all([w1.stop(), w2.stop(), m.stop()]);
    await producer.close();
    await c.close();
  });
});
