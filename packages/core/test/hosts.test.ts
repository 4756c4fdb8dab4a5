import { describe, expect, it } from "vitest";
import { untilRedisTimePasses, waitFor } from "../../../test/harness/index.js";
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

  it("judges a host only on time the lister could see Redis; a host marked gone is dead at once", async () => {
    const t = testQueue();
    let blindUntil = 0;
    // a lister that could not see Redis until `blindUntil` (its own outage)
    const reg = new HostRegistry(t.client, t.keys, { reachableSince: () => blindUntil });
    const beatAt = await reg.beat(host("quiet"));
    await reg.beat(host("leaving"));
    await reg.markGone("leaving");
    await untilRedisTimePasses(t.client, beatAt + 300);
    // the beat is 300 ms old, but the lister has seen Redis only for the last moment: not dead
    const now = (await reg.list(60_000)).now;
    blindUntil = now;
    let l = await reg.list(200);
    expect(l.reachableSince).toBe(blindUntil);
    expect(l.alive.map((h) => h.id)).toEqual(["quiet"]);
    expect(l.dead).toEqual(["leaving"]);
    // a whole TTL of sight without a beat: dead
    await untilRedisTimePasses(t.client, blindUntil + 200);
    l = await reg.list(200);
    expect(l.dead.sort()).toEqual(["leaving", "quiet"]);
    await t.close();
  });

  it("counts running workers and served types", () => {
    expect(runningTotal(host("x", { a: 2, b: 3 }))).toBe(5);
    expect(serves({ jobTypes: null }, "a")).toBe(true);
    expect(serves({ jobTypes: ["b"] }, "a")).toBe(false);
  });
});
