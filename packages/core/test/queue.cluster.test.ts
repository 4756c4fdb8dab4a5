import type { Cluster } from "ioredis";
import { describe, expect, it } from "vitest";
import { fakeHost } from "../../../test/harness/daemons.js";
import { useRedisCluster } from "../../../test/harness/index.js";
import {
  BatchQueue,
  connectRedis,
  HostRegistry,
  hashSlot,
  makeKeys,
  RedisWorkerHistory,
  RedisWorkerList,
  shardOfKey,
} from "../src/index.js";
import { leaderReleaseScript, leaderRenewScript } from "../src/internal.js";

const cluster = useRedisCluster();

describe("on a 3-master Redis Cluster", () => {
  it("a lingering worker's wait blocks on its type's wake list, in the type's slot, and an enqueue ends it (#12)", async () => {
    const client = connectRedis(cluster().url) as Cluster;
    const q = new BatchQueue({ redis: client, prefix: "clw" });
    try {
      for (const type of ["alpha", "beta", "gamma", "delta"]) {
        const k = q.keys.type(type);
        expect(Number(await client.cluster("KEYSLOT", k.wake))).toBe(hashSlot(k.pending));
        // nothing enqueued: the wait ends on its timeout
        expect(await q.waitForItems(type, 50)).toBe(false);
        const waiting = q.waitForItems(type, 60_000);
        await q.enqueue(type, [{ payload: 1 }]);
        expect(await waiting).toBe(true);
        expect(await client.llen(k.wake)).toBe(0);
      }
    } finally {
      await q.close();
      await client.quit();
    }
  });

  // the manager reads through an auto-pipelining connection: ioredis groups its calls by the slot of their first
  // argument (a script of varying key count must still take a key first), and a call joins a pipeline another
  // command may have made earlier on the same node (the enqueue's registration of its type, here), which knows
  // only the scripts defined before it
  it.each([false, true])(
    "reads many types' backlogs in calls of one slot each, types sharing a slot in one call (auto-pipelining %s)",
    async (autoPipelining) => {
      const client = connectRedis(cluster().url, { autoPipelining }) as Cluster;
      const q = new BatchQueue({ redis: client, prefix: "clb" });
      try {
        const slotOf = (type: string) => hashSlot(q.keys.type(type).pending);
        // a type in the slot of "alpha", found by name
        let twin = 0;
        while (slotOf(`twin-${twin}`) !== slotOf("alpha")) twin++;
        const types = ["alpha", "beta", `twin-${twin}`, "gamma", "delta"];
        for (const [i, type] of types.entries()) {
          await q.enqueue(
            type,
            Array.from({ length: i + 1 }, () => ({ payload: 1 })),
          );
        }
        const groups = q.backlogs(
          types.map((jobType) => ({ jobType, reservations: [] })),
          Date.now(),
        );
        for (const g of groups) expect(new Set(g.jobTypes.map(slotOf)).size).toBe(1);
        expect(groups.find((g) => g.jobTypes.includes("alpha"))?.jobTypes).toEqual(["alpha", `twin-${twin}`]);
        for (const g of groups) {
          const got = await g.backlogs;
          g.jobTypes.forEach((type, i) => {
            expect(got[i], type).toMatchObject({ pending: types.indexOf(type) + 1 });
          });
        }
      } finally {
        for (const node of client.nodes("master")) await node.flushall();
        await q.close();
        await client.quit();
      }
    },
  );

  it("runs every script without CROSSSLOT, for types in different slots", async () => {
    const client = connectRedis(cluster().url) as Cluster;
    const q = new BatchQueue({
      redis: client,
      prefix: "cl",
      enqueueBatch: 50,
      defaultSettings: { maxAttempts: 2, backoff: { type: "fixed", delayMs: 0, maxDelayMs: 0 } },
    });
    const types = ["alpha", "beta", "gamma", "delta"];
    const slots = new Set<number>();
    for (const type of types) {
      const s = Number(await client.cluster("KEYSLOT", q.keys.type(type).pending));
      expect(hashSlot(q.keys.type(type).pending)).toBe(s);
      slots.add(s);
      const e = await q.enqueue(
        type,
        Array.from({ length: 120 }, (_, i) => ({ payload: i })),
      );
      expect(e.added).toBe(120);
      await q.enqueue(type, [
        { id: "dup", payload: 0 },
        { id: "dup", payload: 1 },
      ]);
      const a = await q.acquire(type, { max: 10 });
      expect(a.size).toBe(10);
      expect((await q.extend(type, a.id, 60_000)).held).toBe(10);
      expect(
        (
          await q.ack(
            type,
            a.id,
            a.items.slice(0, 5).map((i) => i.id),
          )
        ).acked,
      ).toBe(5);
      expect((await q.release(type, a.id, [a.items[5]?.id as string], { retry: false })).dead).toBe(1);
      const s1 = await q.settle(
        type,
        a.id,
        { ack: a.items.slice(6, 8).map((i) => i.id), fail: [{ id: a.items[8]?.id as string, error: "x" }] },
        { max: 5 },
      );
      expect(s1).toMatchObject({ acked: 2, retried: 1 });
      expect(s1.next?.size).toBe(5);
      expect((await q.reclaim(type, { chunkIds: [a.id, s1.next?.id as string] })).chunks).toBe(2);
      expect(await q.reclaim(type)).toEqual({ chunks: 0, returned: 0, dead: 0 });
      // split groups live in the type's slot too
      const g = await q.acquire(type, { max: 4 });
      await q.settle(type, g.id, { split: { ids: g.items.map((i) => i.id), depth: 1 } });
      const half = await q.acquire(type, { max: 100 });
      expect([half.size, half.splitDepth]).toEqual([2, 1]);
      await q.ack(
        type,
        half.id,
        half.items.map((i) => i.id),
      );
      expect((await q.listDead(type)).length).toBe(1);
      expect(await q.retryDead(type)).toBe(1);
      const b = await q.acquire(type, { max: 1000 });
      await q.release(type, b.id, [b.items[0]?.id as string], { retry: false });
      expect(await q.purgeDead(type)).toBe(1);
      const c = await q.counts(type);
      expect(c.leased).toBe(b.size - 1);
    }
    expect(slots.size).toBeGreaterThan(1);
    expect(await q.jobTypes()).toEqual([...types].sort());
    // the activity counts: one read per slot, each moved with the items (121 enqueued, 1 revived)
    const groups = q.activity(types);
    expect(groups.length).toBe(slots.size);
    expect(groups.flatMap((g) => g.jobTypes).sort()).toEqual([...types].sort());
    for (const g of groups) for (const c of await g.counts) expect(Number(c)).toBe(122);
    // every control-plane key in one slot
    const keysOf = makeKeys("cl");
    const control = [
      keysOf.workers,
      keysOf.hostBeats,
      keysOf.leader,
      keysOf.types,
      `${keysOf.bullPrefix}:inbox-h:wait`,
    ];
    const controlSlots = new Set<number>();
    for (const key of control) controlSlots.add(Number(await client.cluster("KEYSLOT", key)));
    expect([...controlSlots]).toEqual([hashSlot(keysOf.control)]);

    const keys = makeKeys("cl");
    const list = new RedisWorkerList(client, keys);
    const history = new RedisWorkerHistory(client, keys, { cap: 5 });
    const base = {
      id: "w1",
      jobType: "alpha",
      hostId: "h",
      hostname: "h",
      pid: 1,
      launcher: "inline",
      currentChunkSize: 0,
      createdAt: new Date().toISOString(),
      chunks: 1,
      itemsDone: 1,
      itemsFailed: 0,
      itemsRetried: 0,
    };
    await list.put({ ...base, reservationId: "r", firstChunkId: "c", currentChunkId: null, updatedAt: base.createdAt });
    expect(await list.remove("w1")).toBe(true);
    await history.add({
      ...base,
      reservationId: "r",
      firstChunkId: "c",
      finishedAt: base.createdAt,
      durationMs: 1,
      exitReason: "drained",
      peakMemoryBytes: null,
    });
    expect((await history.list({ jobType: "alpha" })).length).toBe(1);

    // the control plane: heartbeats on {hosts}, leader lease, reservations, stop tokens, the planner's backlog
    const reg = new HostRegistry(client, keys);
    await reg.beat(fakeHost("h1", { slots: 2 }));
    expect((await reg.list(10_000)).alive.map((h) => h.id)).toEqual(["h1"]);
    await reg.markGone("h1");
    expect((await reg.list(10_000)).dead).toEqual(["h1"]);
    await reg.remove("h1");
    expect(await leaderRenewScript(client, keys.leader, "m1", 1000)).toBe(false);
    await client.set(keys.leader, "m1", "PX", 1000);
    expect(await leaderRenewScript(client, keys.leader, "m1", 1000)).toBe(true);
    expect(await leaderReleaseScript(client, keys.leader, "m1")).toBe(true);
    for (const type of types) {
      await q.enqueue(type, [{ payload: 1 }, { payload: 2 }]);
      const prepared = await q.acquire(type, { max: 2 });
      await q.reserve(type, ["r1"]);
      const b = await q.backlog(type, Date.now(), ["r1", "gone"]);
      expect(b.waiting).toEqual(["r1"]);
      expect(await q.claim(type, "r1")).toBe(true);
      expect(await q.setStopTokens(type, 0, { listed: ["w1"], dispatched: 0 })).toEqual({ tokens: 1, leaving: 0 });
      expect(await q.returnChunk(type, prepared.id)).toBe(2);
    }

    for (const node of client.nodes("master")) await node.flushall();
    await q.close();
    await client.quit();
  });

  it("a type spread over 3 shards settles on all three masters; with one shard, on one (#12)", async () => {
    const client = connectRedis(cluster().url) as Cluster;
    const c = cluster();
    const prefix = "cls";
    const keys = makeKeys(prefix);
    // a type name whose three shards' slots are served by three different masters
    const masterOf = async (queue: string) => (await c.masterOf(hashSlot(keys.type(queue).pending))).port;
    let name = "";
    for (let i = 0; name === "" && i < 200; i++) {
      const ports = await Promise.all([`t${i}`, `t${i}#1`, `t${i}#2`].map(masterOf));
      if (new Set(ports).size === 3) name = `t${i}`;
    }
    expect(name).not.toBe("");
    /** settle calls (EVALSHA) each master served while `fn` ran, by port. */
    const settlesPerMaster = async (fn: () => Promise<void>) => {
      const read = async () =>
        new Map(
          await Promise.all(
            client.nodes("master").map(async (n) => {
              const info = await n.info("commandstats");
              const calls = Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0);
              return [n.options.port as number, calls] as const;
            }),
          ),
        );
      const before = await read();
      await fn();
      const after = await read();
      return [...after].map(([port, calls]) => calls - (before.get(port) ?? 0));
    };
    const run = (shards: number) => async () => {
      const q = new BatchQueue({ redis: client, prefix, jobTypes: [{ name, shards }] });
      await q.enqueue(
        name,
        Array.from({ length: 300 }, (_, i) => ({ payload: i })),
      );
      let batch = await q.acquire(name, { max: 10 });
      let n = 0;
      while (batch.size > 0) {
        n += batch.size;
        const r = await q.settle(batch.queue ?? name, batch.id, { ack: batch.items.map((i) => i.id) }, { max: 10 });
        if (!r.next) break;
        batch = r.next;
      }
      expect(n).toBe(300);
      expect(await q.counts(name)).toMatchObject({ pending: 0, leased: 0, acked: 300 });
      await q.close();
    };
    try {
      const spread = await settlesPerMaster(run(3));
      // each master served its shard's 10 chunks (a call that settles one and takes the next)
      expect(spread.every((calls) => calls >= 9)).toBe(true);
      for (const node of client.nodes("master")) await node.flushall();
      const one = await settlesPerMaster(run(1));
      expect(one.filter((calls) => calls >= 9)).toHaveLength(1);
      expect(Math.max(...one)).toBeGreaterThanOrEqual(30);
    } finally {
      for (const node of client.nodes("master")) await node.flushall();
      await client.quit();
    }
  });

  it("a lingering worker's wait on a sharded type wakes for an enqueue on a shard in another slot (#12)", async () => {
    const client = connectRedis(cluster().url) as Cluster;
    const q = new BatchQueue({ redis: client, prefix: "clsw", jobTypes: [{ name: "w", shards: 3 }] });
    try {
      const key = Array.from({ length: 50 }, (_, i) => `k${i}`).find((k) => shardOfKey(k, 3) === 2) as string;
      expect(await q.waitForItems("w", 50)).toBe(false);
      const waiting = q.waitForItems("w", 60_000);
      await q.enqueue("w", [{ payload: 1, key }]);
      expect(await waiting).toBe(true);
      expect(await client.llen(q.keys.type("w#2").wake)).toBe(0);
    } finally {
      await q.close();
      await client.quit();
    }
  });
});
