import { HostRegistry } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { controlFor, e2eConfig, fakeHost, testManager } from "../harness/daemons.js";

describe("manager: malformed Redis entries", () => {
  it("skips and counts a malformed worker-list and host-info entry; every tick step still runs", async () => {
    const config = await e2eConfig();
    const c = controlFor(config);
    const reg = new HostRegistry(c.client, c.keys);
    await reg.beat(fakeHost("good-host", { slots: 2, jobTypes: ["inline"] }));
    await reg.beat(fakeHost("bad-host"));
    // written around the API: not JSON, and JSON that is not a worker
    await c.client.hset(c.keys.hostInfo, "bad-host", "{not json");
    await c.client.hset(c.keys.workers, "w-broken", "{not json", "w-odd", JSON.stringify({ id: 7 }));
    await c.queue.enqueue(
      "inline",
      Array.from({ length: 5 }, (_, i) => ({ payload: { i } })),
    );
    const m = await testManager(config);
    const r = await m.tickNow();
    expect(r?.failed).toEqual([]);
    expect(r?.quarantined).toBe(3);
    // plan and start ran (this tick or the daemon's first): one start reserved for the good host, counted as running
    expect(await c.client.scard(c.keys.type("inline").reserved)).toBe(1);
    expect(r?.decisions.find((d) => d.jobType === "inline")).toMatchObject({ running: 1, pending: 5 });
    // publish ran: the decision is in Redis
    expect(JSON.parse((await c.client.hget(c.keys.decisions, "inline")) ?? "{}")).toMatchObject({ running: 1 });
    // the broken entries are still there for an operator to look at, not deleted
    expect(await c.client.hexists(c.keys.workers, "w-broken")).toBe(1);
    await m.stop();
    await c.close();
  });
});
