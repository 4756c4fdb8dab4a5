import { describe, expect, it } from "vitest";
import { capturingLogger } from "../../../test/harness/daemons.js";
import { closeClient, connect, redisUrl, waitFor } from "../../../test/harness/index.js";
import { testQueue } from "../../../test/harness/queue.js";
import { BatchQueue, connectRedis } from "../src/index.js";

describe("what an enqueue signals", () => {
  it("moves the type's activity count with its items, in the type's own slot", async () => {
    const t = testQueue({ defaultSettings: { maxAttempts: 1 } });
    const activity = async () => Number(await t.client.get(t.keys.type("a").activity));
    // one Redis: one read for all the types asked
    const read = (types: string[]) => {
      const groups = t.queue.activity(types);
      expect(groups.map((g) => g.jobTypes)).toEqual([types]);
      return groups[0]?.counts;
    };
    expect(await read(["a"])).toEqual([null]);
    await t.queue.enqueue("a", [{ payload: 1 }, { payload: 2 }]);
    expect(await activity()).toBe(2);
    // caller ids: the script moves it by the items added, not by the deduped ones
    await t.queue.enqueue("a", [
      { id: "x", payload: 1 },
      { id: "x", payload: 2 },
    ]);
    expect(await activity()).toBe(3);
    // a dead item retried is new work too
    const b = await t.queue.acquire("a", { max: 1 });
    await t.queue.release("a", b.id, [b.items[0]?.id as string], { retry: false });
    expect(await t.queue.retryDead("a")).toBe(1);
    expect(await activity()).toBe(4);
    const c = await t.queue.counts("a");
    expect(c.enqueued + c.revived).toBe(4);
    // read for many types at once, one answer per type, in order
    await t.queue.enqueue("b", [{ payload: 1 }]);
    expect(await read(["b", "a", "none"])).toEqual(["1", "4", null]);
    await t.close();
  });

  it("succeeds once its items are queued even when the type cannot be registered; registers it on a later enqueue", async () => {
    const t = testQueue();
    const user = `${t.prefix}-producer`;
    const admin = connect();
    // a producer allowed the keys of type "a" only: its write of `types` (the control plane's slot) fails
    await admin.call("ACL", "SETUSER", user, "on", ">pw", `~${t.prefix}:{a}:*`, "+@all");
    const url = redisUrl().replace("redis://", `redis://${user}:pw@`);
    const client = connectRedis(url);
    const { logger, messages } = capturingLogger();
    const q = new BatchQueue({ redis: client, prefix: t.prefix, logger });
    try {
      const r = await q.enqueue("a", [{ payload: 1 }, { payload: 2 }]);
      expect(r.added).toBe(2);
      expect((await t.queue.counts("a")).pending).toBe(2);
      expect(Number(await admin.get(t.keys.type("a").activity))).toBe(2);
      await waitFor("the failed registration to be logged", () =>
        messages.some((m) => /could not be registered; trying again on its next enqueue/.test(m)),
      );
      expect(await t.queue.jobTypes()).toEqual([]);
      // the control plane is back: the next enqueue registers the type
      await admin.call("ACL", "SETUSER", user, "allkeys");
      await q.enqueue("a", [{ payload: 3 }]);
      await waitFor("the type to be registered", async () => (await t.queue.jobTypes()).includes("a"));
      expect((await t.queue.counts("a")).pending).toBe(3);
    } finally {
      await closeClient(client);
      await admin.call("ACL", "DELUSER", user);
      await closeClient(admin);
      await t.close();
    }
  });
});
