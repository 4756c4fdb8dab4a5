/**
 * A cluster connection's connect() settles while a master is down and has
 * no replica to take over: with a slot range lost (partial coverage), and
 * with the whole cluster down (cluster_state:fail, as in the window before a
 * failover). ioredis's CLUSTER INFO ready check went to a random master and,
 * failing, reconnected without settling the promise connect() had returned;
 * BullMQ's blocking connection awaits that promise, so a worker's inbox
 * never closed (cluster.slot-lost hung in its stop).
 */
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeClient, connect, type RedisCluster, startRedisCluster, waitFor } from "../../../test/harness/index.js";
import { connectRedis } from "../src/index.js";

/** Whether `p` settled (either way) within `ms`. */
async function settles(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const over = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      over,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function reaches(c: Cluster, status: "ready" | "end"): Promise<void> {
  if (c.status === status) return Promise.resolve();
  return new Promise((resolve) => c.once(status, () => resolve()));
}

/**
 * Waits for the connection to be ready, closes it and connects again,
 * `times` times; returns what got stuck (none: []). The ready check picked
 * the dead master about one time in three, so 20 attempts all but always met it.
 */
async function reconnects(url: string, daemon: boolean, times = 20): Promise<string[]> {
  const c = connectRedis(url, { daemon }) as Cluster;
  c.on("error", () => {});
  const stuck: string[] = [];
  try {
    for (let i = 0; i < times && stuck.length === 0; i++) {
      if (!(await settles(reaches(c, "ready"), 10_000))) stuck.push(`attempt ${i}: not ready within 10 s`);
      else {
        const end = reaches(c, "end");
        c.disconnect();
        expect(await settles(end, 5000)).toBe(true);
        if (!(await settles(c.connect(), 5000))) stuck.push(`attempt ${i}: connect() not settled within 5 s`);
      }
    }
  } finally {
    c.disconnect();
  }
  return stuck;
}

describe("a slot range is lost (partial coverage)", () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ requireFullCoverage: false });
    await cluster.nodes[0]?.kill("SIGKILL");
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it.each([true, false])("connect() settles on every reconnect (daemon: %s)", async (daemon) => {
    expect(await reconnects(cluster.url, daemon)).toEqual([]);
  });
});

describe("the cluster is down (a master gone, no replica to take over)", () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    await cluster.nodes[0]?.kill("SIGKILL");
    const live = connect(`redis://127.0.0.1:${cluster.live()[0]?.port}`);
    try {
      await waitFor(
        "the live nodes to say cluster_state:fail",
        async () => String(await live.cluster("INFO")).includes("cluster_state:fail"),
        30_000,
        100,
      );
    } finally {
      await closeClient(live);
    }
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it.each([true, false])("connect() settles on every reconnect (daemon: %s)", async (daemon) => {
    expect(await reconnects(cluster.url, daemon, 5)).toEqual([]);
  });
});
