import { describe, expect, it } from "vitest";
import { closeClient, freshPrefix, redisUrl, startRedisServer, track, waitFor } from "../../../test/harness/index.js";
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

  it("an abort ends a wait whose connection waits to reconnect (Redis killed): a stopping worker is not held", async () => {
    const server = await startRedisServer();
    track(
      `redis-server on port ${server.port}`,
      () => server.process.exitCode === null && server.process.signalCode === null,
      () => server.stop(),
    );
    const prefix = freshPrefix();
    // a daemon's connection: its commands wait for Redis as long as it takes
    const client = connectRedis(server.url, { daemon: true, connectionName: `wake-${prefix}` });
    client.on("error", () => {});
    track(
      `BatchQueue ${prefix}`,
      () => client.status !== "end",
      () => closeClient(client),
    );
    // the wait's own connection, to see when it waits to reconnect
    const made: { status: string }[] = [];
    const spied = client as unknown as { duplicate: (...args: unknown[]) => { status: string } };
    const duplicate = spied.duplicate.bind(client);
    spied.duplicate = (...args) => {
      const d = duplicate(...args);
      made.push(d);
      return d;
    };
    const queue = new BatchQueue({ redis: client, prefix });
    const ac = new AbortController();
    const waiting = queue.waitForItems("a", 600_000, ac.signal);
    await waitFor("the wait blocked in BLPOP", async () =>
      String(await client.call("CLIENT", "LIST")).includes("cmd=blpop"),
    );
    await server.kill("SIGKILL");
    await waitFor("the wait's connection waiting to reconnect", () => made[0]?.status === "reconnecting");
    ac.abort();
    const outcome = await Promise.race([
      waiting,
      new Promise<string>((resolve) => setTimeout(() => resolve("still waiting 10 s after the abort"), 10_000)),
    ]);
    expect(outcome).toBe(false);
    // Redis back, so the queue's own connection can QUIT
    await server.restart();
    await waitFor("the queue's connection back", () => client.status === "ready", 30_000);
    await queue.close();
    await closeClient(client);
    await server.stop();
  });
});
