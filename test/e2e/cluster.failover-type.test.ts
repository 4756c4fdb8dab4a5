/**
 * On a 3-master + 3-replica cluster (node timeout 2 s): `kill -9` the master
 * of a busy job type's slot while its workers run. The daemons keep going
 * without a restart: the replica takes over, no item is lost, no item runs
 * twice beyond what was in flight, no live host is declared dead.
 */
import { hashSlot } from "@batchjob/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/index.js";
import { type RedisCluster, startRedisCluster } from "../harness/redis-server.js";
import { clusterPrefix, placeTypes, replicated, startStack } from "./cluster-stack.js";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ replicas: 1, nodeTimeoutMs: 2000 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describe("a job type's master dies under load", () => {
  it("fails over to its replica: lost 0, duplicates within what was in flight, no host declared dead", async () => {
    const prefix = clusterPrefix();
    const { names } = await placeTypes(cluster, prefix, 2, { apart: true });
    const [busy, other] = names as [string, string];
    const s = await startStack(cluster, {
      prefix,
      types: [busy, other],
      hosts: 2,
      slots: 4,
      parallel: 3,
      chunkSize: 20,
    });
    try {
      const busyIds = await s.enqueue(busy, 0, 4000);
      const otherIds = await s.enqueue(other, 0, 1000);
      const slot = hashSlot(s.queue.keys.type(busy).pending);
      const master = await cluster.masterOf(slot);
      await replicated(master);
      const seen = s.done.get(busy) as Map<string, number>;
      await waitFor("the busy type to be under way", () => seen.size >= 500, 30_000);
      // in flight: every worker's chunk, and the next one its settle may have taken before the kill
      const inFlightBound = 3 * 20 * 2;
      await master.kill("SIGKILL");
      const atKill = seen.size;
      const promoted = await cluster.waitForFailover(slot, master.port);
      expect(promoted.port).not.toBe(master.port);
      const atFailover = seen.size;
      await waitFor(
        "every item of both types to be done",
        () => busyIds.every((id) => seen.has(id)) && otherIds.every((id) => s.done.get(other)?.has(id)),
        90_000,
        100,
      );
      const t = s.tally(busy, busyIds);
      if (process.env.TEST_VERBOSE)
        console.log({ atKill, atFailover, ...t, lost: t.lost.length, skipped: s.ticks.flatMap((r) => r.skipped) });
      // the kill came with work left to do, and work went on after the failover
      expect(atKill).toBeLessThan(busyIds.length - 1000);
      expect(t.lost).toEqual([]);
      expect(t.dupExtra).toBeLessThanOrEqual(inFlightBound);
      expect(s.tally(other, otherIds)).toEqual({ lost: [], dupIds: 0, dupExtra: 0 });
      // the same daemons did it all: none stopped, none was taken for dead
      for (const w of s.workers) expect(w.pool.isDraining).toBe(false);
      expect(s.ticks.flatMap((r) => r.deadHosts)).toEqual([]);
      const history = await s.queue.client.lrange(s.queue.keys.history, 0, -1);
      expect(history.filter((h) => h.includes('"exitReason":"lost"'))).toEqual([]);
      // the queue agrees: nothing pending, held or dead
      await waitFor("the queue to be empty", async () => (await s.queue.counts(busy)).total === 0, 30_000);
    } finally {
      await s.stop();
    }
  }, 180_000);
});
