import { describe, expect, it } from "vitest";
import { closeClient, freshPrefix, redisUrl, track } from "../../../test/harness/index.js";
import { BatchQueue, connectRedis } from "../src/index.js";

/** A queue whose connections (the wait's duplicates too) carry a name of their own, to find them in CLIENT LIST. */
function namedQueue() {
  const prefix = freshPrefix();
  const name = `wake-${prefix}`;
  const client = connectRedis(redisUrl(), { connectionName: name });
  const queue = new BatchQueue({ redis: client, prefix });
  const close = async () => {
    await queue.close();
    await closeClient(client);
  };
  track(`BatchQueue ${prefix}`, () => client.status !== "end", close);
  /** Resolves once one of this queue's connections is blocked in BLPOP: an event in Redis, not a sleep. */
  const blocked = async () => {
    for (;;) {
      const list = String(await client.call("CLIENT", "LIST"));
      if (list.split("\n").some((l) => l.includes(` name=${name} `) && / cmd=blpop\b/.test(l))) return;
      await new Promise((r) => setImmediate(r));
    }
  };
  return { queue, client, keys: queue.keys, close, blocked };
}

describe("the wake list of lingering workers (#12)", () => {
  it("an enqueue, with or without caller ids, leaves one wake signal: the list never grows", async () => {
    const t = namedQueue();
    const wake = t.keys.type("a").wake;
    await t.queue.enqueue("a", [{ payload: 1 }]);
    expect(await t.client.lrange(wake, 0, -1)).toEqual(["1"]);
    // the MULTI path (generated ids) and the script path (caller ids) both signal, and both trim
    for (let i = 0; i < 5; i++) await t.queue.enqueue("a", [{ payload: i }, { payload: i + 1 }]);
    await t.queue.enqueue("a", [{ id: "x", payload: 1 }]);
    expect(await t.client.lrange(wake, 0, -1)).toEqual(["1"]);
    await t.client.del(wake);
    await t.queue.enqueue("a", [{ id: "y", payload: 1 }]);
    expect(await t.client.llen(wake)).toBe(1);
    // a call whose items were all deduped adds nothing, so it wakes nobody
    await t.client.del(wake);
    await t.queue.enqueue("a", [{ id: "y", payload: 2 }]);
    expect(await t.client.llen(wake)).toBe(0);
    await t.close();
  });

  it("waitForItems blocks until an enqueue wakes it, and takes the signal", async () => {
    const t = namedQueue();
    const wake = t.keys.type("a").wake;
    const waiting = t.queue.waitForItems("a", 60_000);
    // blocked in Redis (no polling), on a connection of its own: the queue's connection still answers
    await t.blocked();
    expect(await t.queue.counts("a")).toMatchObject({ pending: 0 });
    await t.queue.enqueue("a", [{ payload: 1 }]);
    expect(await waiting).toBe(true);
    expect(await t.client.llen(wake)).toBe(0);
    // a signal left by an enqueue nobody waited for is taken at once
    await t.queue.enqueue("a", [{ payload: 2 }]);
    expect(await t.queue.waitForItems("a", 60_000)).toBe(true);
    await t.close();
  });

  it("ends with false when its time is up, and at once when its signal aborts", async () => {
    const t = namedQueue();
    expect(await t.queue.waitForItems("a", 50)).toBe(false);
    expect(await t.queue.waitForItems("a", 0)).toBe(false);
    const ac = new AbortController();
    const waiting = t.queue.waitForItems("a", 600_000, ac.signal);
    await t.blocked();
    ac.abort();
    // ten minutes were asked for: only the abort can end it within the test's timeout
    expect(await waiting).toBe(false);
    // the aborted wait's connection was dropped; a new wait gets one of its own and works
    const again = t.queue.waitForItems("a", 60_000);
    await t.queue.wakeNext("a");
    expect(await again).toBe(true);
    await t.close();
  });

  it("close ends a wait in progress", async () => {
    const t = namedQueue();
    const waiting = t.queue.waitForItems("a", 600_000);
    await t.blocked();
    await t.queue.close();
    expect(await waiting).toBe(false);
    await t.close();
  });
});
