/**
 * The tick's per-type isolation on one Redis: a job type whose keys the
 * manager cannot reach (an ACL that leaves them out stands in for a cluster
 * slot that is down) is skipped each tick with the reason and its slot; the
 * other types are planned and started as usual, no step fails, and the type
 * is back on the first tick its keys can be reached again.
 */
import { hashSlot } from "@batchjob/core";
import type { TickReport } from "@batchjob/manager";
import { describe, expect, it } from "vitest";
import { controlFor, e2eConfig, fakeHost, testManager } from "../harness/daemons.js";
import { redisUrl } from "../harness/index.js";

describe("a job type the manager cannot reach", () => {
  it("is skipped with its slot and the error; the others are planned and started; it is back once reachable", async () => {
    const config = await e2eConfig();
    const c = controlFor(config);
    const p = config.prefix;
    const user = `${p}-manager`;
    // the manager may use the control plane and the keys of "inline", not those of "forked"
    await c.client.call("ACL", "SETUSER", user, "on", ">pw", `~${p}:{${p}:control}:*`, `~${p}:{inline}:*`, "+@all");
    let stop = async () => {};
    try {
      const { HostRegistry } = await import("@batchjob/core");
      await new HostRegistry(c.client, c.keys).beat(fakeHost("h"));
      await c.queue.enqueue("inline", [{ payload: {} }]);
      await c.queue.enqueue("forked", [{ payload: {} }]);
      const reports: TickReport[] = [];
      const url = redisUrl().replace("redis://", `redis://${user}:pw@`);
      const m = await testManager(config, { redisUrl: url, onTick: (t) => reports.push(t) });
      stop = () => m.stop();
      // the first tick (run as the manager starts)
      const r = reports[0];
      expect(r?.failed).toEqual([]);
      const slot = hashSlot(c.keys.type("forked").pending);
      expect(r?.skipped).toEqual([
        { jobType: "forked", reason: expect.stringMatching(new RegExp(`failed on slot ${slot}: .*NOPERM`)) },
      ]);
      const forked = r?.decisions.find((d) => d.jobType === "forked");
      expect(forked).toMatchObject({ start: 0, stopTokens: 0, reason: expect.stringMatching(/^skipped: reading/) });
      expect(r?.decisions.find((d) => d.jobType === "inline")).toMatchObject({ start: 1 });
      expect((await c.dispatcher.undelivered("h")).map((d) => d.jobType)).toEqual(["inline"]);
      // the reason reaches status through the published decision
      expect(JSON.parse((await c.client.hget(c.keys.decisions, "forked")) ?? "{}").reason).toMatch(/^skipped: /);

      // reachable again: planned and started on the next tick
      await c.client.call("ACL", "SETUSER", user, "allkeys");
      const again = await m.tickNow();
      expect(again?.skipped).toEqual([]);
      expect(again?.decisions.find((d) => d.jobType === "forked")).toMatchObject({ start: 1 });
      expect((await c.dispatcher.undelivered("h")).map((d) => d.jobType).sort()).toEqual(["forked", "inline"]);
    } finally {
      await stop();
      await c.client.call("ACL", "DELUSER", user);
      await c.close();
    }
  });
});
