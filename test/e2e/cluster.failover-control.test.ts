/**
 * On a 3-master + 3-replica cluster (node timeout 2 s): `kill -9` the master
 * of the control plane's slot (workers, heartbeats, leader lease, dispatch
 * inboxes) while work runs. The daemons keep going without a restart: work
 * in flight goes on, an enqueue during the outage succeeds, the replica takes
 * over, new work is dispatched again; lost 0, duplicates within what was in
 * flight, no live host declared dead (this last needs the manager's
 * host-death grace: a host is not dead for a gap in beats the manager could
 * not see either).
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

describe("the control plane's master dies", () => {
  // It hung until its timeout in 3 of about 12 full-suite runs, never alone (nor here). Most likely the cause
  // found in cluster.slot-lost: a cluster connect() made before the replica took over never settled (ioredis's
  // ready check met the dead master or cluster_state:fail) and a worker's inbox waited on it for ever;
  // connectRedis turns that check off (core's redis.cluster-connect.test.ts covers that window).
  it("fails over to its replica while the daemons keep going: lost 0, no host declared dead", {
    timeout: 90_000,
  }, async () => {
    const prefix = clusterPrefix();
    const { names } = await placeTypes(cluster, prefix, 2);
    const [a, b] = names as [string, string];
    const s = await startStack(cluster, { prefix, types: [a, b], hosts: 2, slots: 4, parallel: 3, chunkSize: 20 });
    try {
      const first = await s.enqueue(a, 0, 3000);
      const seen = s.done.get(a) as Map<string, number>;
      await waitFor("the work to be under way", () => seen.size >= 300, 30_000);
      const slot = hashSlot(s.queue.keys.control);
      const master = await cluster.masterOf(slot);
      await replicated(master);
      const leader = s.manager.managerId;
      await master.kill("SIGKILL");
      const atKill = seen.size;
      // the items' slots are up: an enqueue during the outage succeeds (the type's registration comes later)
      const during = await s.enqueue(b, 0, 500);
      await cluster.waitForFailover(slot, master.port);
      const atFailover = seen.size;
      // dispatching again: new work reaches the workers through the inboxes on the promoted replica
      const after = await s.enqueue(a, 3000, 1000);
      // and the next enqueue of the type whose registration failed registers it
      const later = await s.enqueue(b, 500, 10);
      await waitFor(
        "every item to be done",
        () =>
          [...first, ...after].every((id) => seen.has(id)) &&
          [...during, ...later].every((id) => s.done.get(b)?.has(id)),
        90_000,
        100,
      );
      const ta = s.tally(a, [...first, ...after]);
      const tb = s.tally(b, [...during, ...later]);
      if (process.env.TEST_VERBOSE) console.log({ atKill, atFailover, ta: { ...ta, lost: ta.lost.length }, tb });
      expect(atKill).toBeLessThan(first.length - 500);
      expect(ta.lost).toEqual([]);
      expect(tb.lost).toEqual([]);
      expect(ta.dupExtra + tb.dupExtra).toBeLessThanOrEqual(3 * 20 * 2);
      // the same daemons: the manager still leads, no worker daemon stopped, none was taken for dead
      expect(s.manager.isLeader()).toBe(true);
      expect(s.manager.managerId).toBe(leader);
      for (const w of s.workers) expect(w.pool.isDraining).toBe(false);
      expect(s.ticks.flatMap((r) => r.deadHosts)).toEqual([]);
      const history = await s.queue.client.lrange(s.queue.keys.history, 0, -1);
      expect(history.filter((h) => h.includes('"exitReason":"lost"'))).toEqual([]);
      await waitFor("the type enqueued to in the outage to be registered by its next enqueue", async () =>
        (await s.queue.jobTypes()).includes(b),
      );
    } finally {
      await s.stop();
    }
  });
});
