/**
 * A tick over many job types (their backlogs read a few hundred types per
 * script call): every busy type gets its start, every idle one none, and a
 * type whose keys break its call is skipped alone with the error, the others
 * of the same call planned and started as usual; it is back once readable.
 */
import { HostRegistry } from "@batchjob/core";
import type { TickReport } from "@batchjob/manager";
import { describe, expect, it } from "vitest";
import { controlFor, e2eConfig, fakeHost, testManager } from "../harness/daemons.js";

/** More than two backlog calls' worth (BACKLOGS_PER_CALL is 200 in packages/core/src/queue/supervisor.ts). */
const TYPES = 450;

describe("a tick over many job types", () => {
  it("decides for every type; a type whose backlog cannot be read is skipped alone", async () => {
    // ticks only when the test asks (the first runs as the manager starts)
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as Record<string, unknown>[];
      raw.jobTypes = Array.from({ length: TYPES }, (_, i) => ({ ...inline, name: `t-${i}` }));
      (raw.manager as Record<string, unknown>).tickMs = 3_600_000;
    });
    const c = controlFor(config);
    let stop = async () => {};
    try {
      await new HostRegistry(c.client, c.keys).beat(fakeHost("h", { slots: TYPES }));
      // every third type has an item; t-301 too, whose delayed set is made a string (WRONGTYPE in its backlog read)
      const busy = new Set(Array.from({ length: TYPES }, (_, i) => `t-${i}`).filter((_, i) => i % 3 === 0));
      const broken = "t-301";
      for (const type of [...busy, broken]) await c.queue.enqueue(type, [{ payload: {} }]);
      await c.client.set(c.keys.type(broken).delayed, "not a sorted set");

      const reports: TickReport[] = [];
      const m = await testManager(config, { onTick: (t) => reports.push(t) });
      stop = () => m.stop();
      const r = reports[0];
      expect(r?.failed).toEqual([]);
      expect(r?.skipped).toEqual([
        { jobType: broken, reason: expect.stringMatching(/^reading its backlog failed on slot \d+: .*WRONGTYPE/) },
      ]);
      expect(r?.decisions).toHaveLength(TYPES);
      for (const d of r?.decisions ?? []) {
        if (d.jobType === broken) expect(d).toMatchObject({ start: 0, reason: expect.stringMatching(/^skipped: /) });
        else
          expect(d, d.jobType).toMatchObject({
            start: busy.has(d.jobType) ? 1 : 0,
            pending: busy.has(d.jobType) ? 1 : 0,
          });
      }
      const dispatched = (await c.dispatcher.undelivered("h")).map((s) => s.jobType);
      expect(dispatched.sort()).toEqual([...busy].sort());

      // readable again: planned and started on the next tick, the others already running
      await c.client.del(c.keys.type(broken).delayed);
      const again = await m.tickNow();
      expect(again?.skipped).toEqual([]);
      expect(again?.decisions.find((d) => d.jobType === broken)).toMatchObject({ start: 1 });
      expect(again?.decisions.filter((d) => d.start > 0).map((d) => d.jobType)).toEqual([broken]);
    } finally {
      await stop();
      await c.close();
    }
  });
});
