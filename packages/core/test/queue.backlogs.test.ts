/**
 * The manager's batched backlog read (Supervisor.backlogs): many types per
 * script call, each type's answer the same as its own backlog call, and a
 * type whose keys break the call fails alone (the call is made again per type).
 */
import { describe, expect, it } from "vitest";
import { testQueue } from "../../../test/harness/queue.js";
import type { Backlog } from "../src/index.js";
import { BACKLOGS_PER_CALL } from "../src/queue/supervisor.js";

describe("backlogs of many types", () => {
  it("reads them in calls of BACKLOGS_PER_CALL types, each answer the same as the type's own backlog", async () => {
    const t = testQueue();
    try {
      const n = 2 * BACKLOGS_PER_CALL + 50;
      const types = Array.from({ length: n }, (_, i) => `t-${i}`);
      // a different backlog per type: i % 5 items pending (none for every fifth), a reservation for every third
      for (const [i, type] of types.entries()) {
        if (i % 5 > 0)
          await t.queue.enqueue(
            type,
            Array.from({ length: i % 5 }, (_, j) => ({ payload: j })),
          );
        if (i % 3 === 0) await t.queue.reserve(type, [`r-${i}`]);
      }
      await t.queue.acquire("t-1", { max: 1 }); // a lease
      // t-5 drained: idle again, its activity count read as its mark
      await t.queue.enqueue("t-5", [{ payload: 1 }]);
      const done = await t.queue.acquire("t-5", { max: 1 });
      await t.queue.ack(
        "t-5",
        done.id,
        done.items.map((i) => i.id),
      );
      const reads = types.map((jobType, i) => ({ jobType, reservations: [`r-${i}`, "gone"] }));
      const now = Date.now();
      const groups = t.queue.backlogs(reads, now);
      expect(groups.map((g) => g.jobTypes.length)).toEqual([BACKLOGS_PER_CALL, BACKLOGS_PER_CALL, 50]);
      expect(groups.flatMap((g) => g.jobTypes)).toEqual(types);
      const got = (await Promise.all(groups.map((g) => g.backlogs))).flat();
      for (const [i, type] of types.entries()) {
        const own = await t.queue.backlog(type, now, [`r-${i}`, "gone"]);
        expect(got[i], type).toEqual(own);
        expect((got[i] as Backlog).pending).toBe(type === "t-1" ? 0 : i % 5);
        expect((got[i] as Backlog).waiting).toEqual(i % 3 === 0 ? [`r-${i}`] : []);
      }
      expect((got[1] as Backlog).earliestLeaseDeadline).toBeGreaterThan(now);
      // the activity count is read for an idle type only (the manager marks idle types with it)
      expect((got[5] as Backlog).activity).toBe("1");
      expect((got[2] as Backlog).activity).toBeNull();
      expect(await t.client.get(t.keys.type("t-2").activity)).toBe("2");
    } finally {
      await t.close();
    }
  });

  it("a type whose key is of the wrong type fails alone; the others of its call are read", async () => {
    const t = testQueue();
    try {
      const types = Array.from({ length: 30 }, (_, i) => `t-${i}`);
      for (const type of types) await t.queue.enqueue(type, [{ payload: 1 }]);
      await t.client.set(t.keys.type("t-17").delayed, "not a sorted set");
      const groups = t.queue.backlogs(
        types.map((jobType) => ({ jobType, reservations: [] })),
        Date.now(),
      );
      expect(groups).toHaveLength(1);
      const got = await groups[0]?.backlogs;
      expect(got?.[17]).toBeInstanceOf(Error);
      expect(String(got?.[17])).toMatch(/WRONGTYPE/);
      for (const [i, b] of (got ?? []).entries()) if (i !== 17) expect(b, types[i]).toMatchObject({ pending: 1 });
    } finally {
      await t.close();
    }
  });
});
