/**
 * A push made around the producer protocol (a raw RPUSH to a type's
 * `pending` list that does not move its activity count, docs/protocol.md)
 * is still noticed: the manager skips a type it saw idle while its count
 * stands still, but every few ticks it reads every known type's backlog.
 */
import { HostRegistry } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { controlFor, e2eConfig, fakeHost, testManager } from "../harness/daemons.js";

/** The manager's sweep interval (SWEEP_EVERY_TICKS in packages/manager/src/tick/observe.ts). */
const SWEEP_EVERY_TICKS = 5;

describe("the manager's sweep of every known type", () => {
  it("starts a worker for items pushed without the activity signal within a few ticks", async () => {
    // ticks only when the test asks (the first runs as the manager starts)
    const config = await e2eConfig((raw) => {
      (raw.manager as Record<string, unknown>).tickMs = 3_600_000;
    });
    const c = controlFor(config);
    let stop = async () => {};
    try {
      await new HostRegistry(c.client, c.keys).beat(fakeHost("h"));
      const m = await testManager(config);
      stop = () => m.stop();
      // the first tick found "inline" idle: it is not read again while its activity count stands still
      const k = c.keys.type("inline");
      await c.client.rpush(k.pending, 'raw-1\t{"n":1}', 'raw-2\t{"n":2}');
      expect(await c.client.get(k.activity)).toBeNull();
      const decided: string[] = [];
      let startedOn = 0;
      for (let tick = 1; tick <= 2 * SWEEP_EVERY_TICKS && startedOn === 0; tick++) {
        const r = await m.tickNow();
        const d = r?.decisions.find((x) => x.jobType === "inline");
        decided.push(`${d?.start}: ${d?.reason}`);
        if ((d?.start ?? 0) > 0) startedOn = tick;
      }
      // the next tick does not see the push (the skip of an idle type is real); a sweep does
      expect(decided[0]).toMatch(/^0: /);
      expect(startedOn, decided.join("\n")).toBeGreaterThan(1);
      expect(startedOn).toBeLessThanOrEqual(SWEEP_EVERY_TICKS);
      expect((await c.dispatcher.undelivered("h")).map((s) => s.jobType)).toEqual(["inline"]);
    } finally {
      await stop();
      await c.close();
    }
  });
});
