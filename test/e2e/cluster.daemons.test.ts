import {
  BatchQueue,
  connectRedis,
  createLogger,
  makeKeys,
  newChunkId,
  parseConfig,
  RedisWorkerHistory,
} from "@batchjob/core";
import { Dispatcher } from "@batchjob/manager";
import { startWorker } from "@batchjob/worker";
import type { Cluster } from "ioredis";
import { describe, expect, it } from "vitest";
import { useRedisCluster, waitFor } from "../harness/index.js";

const cluster = useRedisCluster();

describe("daemons on the cluster", () => {
  it("a worker daemon takes a dispatch through its BullMQ inbox and drains a queue", async () => {
    const config = parseConfig({
      prefix: "clw",
      jobTypes: [{ name: "ct", chunkSize: 20, launcher: { kind: "inline", job: async () => {} } }],
      worker: { heartbeatMs: 200, hostTtlMs: 2000 },
    });
    const w = await startWorker({ config, redisUrl: cluster().url, logger: createLogger("t", { level: "silent" }) });
    const client = connectRedis(cluster().url, { daemon: true }) as Cluster;
    const q = new BatchQueue({ redis: client, prefix: "clw" });
    await q.enqueue(
      "ct",
      Array.from({ length: 100 }, (_, i) => ({ payload: { i } })),
    );
    // as the starter does: reserve, then dispatch; the worker acquires its chunks itself
    const reservationId = newChunkId();
    await q.reserve("ct", [reservationId]);
    const d = new Dispatcher(client, makeKeys("clw"), "test");
    await d.dispatch(w.hostId, { jobType: "ct", reservationId });
    await waitFor("the queue to drain", async () => (await q.counts("ct")).acked === 100);
    expect(await q.counts("ct")).toMatchObject({ acked: 100, total: 0, acquired: 100 });
    // the history entry is written once the worker found the queue empty, after its last ack
    const history = new RedisWorkerHistory(client, makeKeys("clw"));
    const h = await waitFor("the worker's history entry", async () => (await history.list())[0]);
    expect(h).toMatchObject({ exitReason: "drained", reservationId, chunks: 5, itemsDone: 100 });
    expect(await client.scard(makeKeys("clw").type("ct").reserved)).toBe(0);
    await w.stop();
    await d.close();
    for (const node of client.nodes("master")) await node.flushall();
    await client.quit();
  });
});
