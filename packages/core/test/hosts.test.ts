import { describe, expect, it } from "vitest";
import { waitFor } from "../../../test/harness/index.js";
import { testQueue } from "../../../test/harness/queue.js";
import { type HostInfo, HostRegistry, runningTotal, serves } from "../src/index.js";

function host(id: string, running: Record<string, number> = {}): HostInfo {
  return {
    id,
    hostname: "box",
    pid: 1,
    slots: 4,
    running,
    jobTypes: null,
    version: "0",
    load: { loadAvg: 0.1, cpu: 0.2, freeMemBytes: 1, totalMemBytes: 2 },
    startedAt: new Date().toISOString(),
    draining: false,
  };
}

describe("host registry", () => {
  it("lists hosts by heartbeat age: alive within the TTL, dead after", async () => {
    const t = testQueue();
    const reg = new HostRegistry(t.client, t.keys);
    const beatAt = await reg.beat(host("h1", { a: 2 }));
    await reg.beat(host("h2"));
    let l = await reg.list(60_000);
    expect(l.alive.map((h) => h.id).sort()).toEqual(["h1", "h2"]);
    expect(l.alive.find((h) => h.id === "h1")).toMatchObject({ running: { a: 2 }, beatAt });
    expect(l.dead).toEqual([]);
    // h2 keeps beating, h1 stops: with a 200 ms TTL h1 turns dead
    l = await waitFor("h1 to be dead", async () => {
      await reg.beat(host("h2"));
      const x = await reg.list(200);
      return x.dead.includes("h1") ? x : null;
    });
    expect(l.alive.map((h) => h.id)).toEqual(["h2"]);
    await reg.remove("h1");
    expect((await reg.list(200)).dead).toEqual([]);
    await t.close();
  });

  it("counts running workers and served types", () => {
    expect(runningTotal(host("x", { a: 2, b: 3 }))).toBe(5);
    expect(serves({ jobTypes: null }, "a")).toBe(true);
    expect(serves({ jobTypes: ["b"] }, "a")).toBe(false);
  });
});
