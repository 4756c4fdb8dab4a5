import { describe, expect, it } from "vitest";
import { controlFor, e2eConfig, testManager } from "../harness/daemons.js";

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
});
