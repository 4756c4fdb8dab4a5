import { describe, expect, it } from "vitest";
import { capturingLogger, controlFor, e2eConfig, testManager } from "../harness/daemons.js";

describe("manager: publish", () => {
  it("writes a type's decision only when it changed", async () => {
    // nothing can start (no host), so the decisions only follow the queues
    const config = await e2eConfig();
    const c = controlFor(config);
    const m = await testManager(config);
    await m.tickNow();
    const first = JSON.parse((await c.client.hget(c.keys.decisions, "inline")) ?? "{}");
    expect(first.reason).toMatch(/queue empty/);
    // an unchanged decision is not written again: its time stays the first tick's
    await c.client.hset(c.keys.decisions, "inline", JSON.stringify({ ...first, marker: "kept" }));
    await m.tickNow();
    await m.tickNow();
    expect(JSON.parse((await c.client.hget(c.keys.decisions, "inline")) ?? "{}")).toMatchObject({
      at: first.at,
      marker: "kept",
    });
    // a changed one is
    await c.queue.enqueue("inline", [{ payload: {} }]);
    await m.tickNow();
    const changed = JSON.parse((await c.client.hget(c.keys.decisions, "inline")) ?? "{}");
    expect(changed.marker).toBeUndefined();
    expect(changed.pending).toBe(1);
    await m.stop();
    await c.close();
  });

  it("says how many items wait in the shards a config drops when it lowers a type's shards (#12)", async () => {
    const three = await e2eConfig((raw) => {
      (raw.jobTypes as [Record<string, unknown>])[0].shards = 3;
    });
    const c = controlFor(three);
    await c.queue.enqueue(
      "inline",
      Array.from({ length: 9 }, (_, i) => ({ payload: { i } })),
    );
    const m3 = await testManager(three);
    await m3.tickNow();
    await m3.stop();
    // the same deployment, now with one shard: shards 1 and 2 hold 6 items nothing takes
    const one = await e2eConfig((raw) => {
      raw.prefix = three.prefix;
    });
    const { logger, messages } = capturingLogger();
    const m1 = await testManager(one, { logger });
    await m1.tickNow();
    expect(messages).toContain(
      "shards of inline lowered from 3 to 1: the 6 items of the shards dropped wait until it is raised again",
    );
    await m1.stop();
    await c.close();
  });
});
