/**
 * List hygiene (#14): a worker that ends for any reason leaves the worker
 * list, even when Redis did not answer as it ended (it keeps trying in the
 * background until Redis does), and the reaper removes entries their live
 * host does not run (ghosts), so the manager never counts a worker that is
 * gone and starts workers again without a restart.
 */
import { RedisWorkerHistory, RedisWorkerList, type WorkerListItem } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { controlFor, e2eConfig, testManager, testWorker } from "../harness/daemons.js";
import { ownRedis, stackOn } from "../harness/failover.js";
import { gate } from "../harness/gate.js";
import { waitFor } from "../harness/index.js";

const one = { high: 1, medium: 1, low: 1 };

describe("failover: list hygiene", () => {
  it("a worker whose Redis refuses it until its settle retries run out leaves the list once Redis is back; the manager starts workers again", async () => {
    const redis = await ownRedis();
    const s = await stackOn(redis, (raw) => {
      raw.jobTypes = [
        {
          name: "inline",
          chunkSize: 5,
          // one worker: a ghost of it would hold every start
          parallel: one,
          cooldownSeconds: 0,
          // the chunk the crashed worker held comes back soon after Redis does
          leaseMs: 2000,
          maxAttempts: 5,
          backoff: { type: "fixed", delayMs: 0 },
          launcher: { kind: "inline", module: "./behave.mjs" },
        },
      ];
      raw.worker = { heartbeatMs: 200, hostTtlMs: 60_000, shutdownGraceMs: 5000 };
      raw.manager = { tickMs: 200, leaderLeaseMs: 120_000 };
    });
    try {
      const w = await s.inProcessWorker({ slots: 1 });
      const g = gate();
      await s.queue.enqueue("inline", [
        ...Array.from({ length: 5 }, (_, i) => ({ id: `gated${i}`, payload: { gate: g.path } })),
        ...Array.from({ length: 10 }, (_, i) => ({ id: `plain${i}`, payload: {} })),
      ]);
      await s.manager();
      const first = await waitFor("the worker to run the gated chunk", async () =>
        (await s.list.list()).find((e) => e.currentChunkId),
      );
      // Redis refuses every command; the chunk ends meanwhile: its settle fails until the retries run out
      await redis.refuse();
      g.open();
      await waitFor("the worker to end", () => w.pool.size() === 0, 30_000);
      expect(w.pool.workerIds()).toEqual([first.id]);
      await redis.serve();

      // once Redis answers, the worker's own account is written and its entry is gone
      const crashed = await waitFor("the ended worker in the history", async () =>
        (await s.history.list()).find((h) => h.id === first.id),
      );
      expect(crashed).toMatchObject({ exitReason: "crashed", error: expect.stringMatching(/MASTERDOWN/) });
      expect((await s.list.list()).map((e) => e.id)).not.toContain(first.id);
      await waitFor("the host to report it no more", () => w.pool.workerIds().length === 0 || null);
      // and the manager starts workers again, no daemon restarted: every item is done
      await waitFor("every item done", async () => (await s.queue.counts("inline")).acked === 15, 30_000);
      const history = await waitFor("a later worker to drain", async () => {
        const h = await s.history.list();
        return h.some((x) => x.exitReason === "drained") ? h : null;
      });
      expect(history.filter((h) => h.exitReason === "lost")).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it("a ghost entry (its live host does not run it) goes to the history as lost, its chunk back at once, and stops holding starts", async () => {
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as Record<string, unknown>[];
      raw.jobTypes = [{ ...inline, parallel: one }];
    });
    const c = controlFor(config);
    const list = new RedisWorkerList(c.client, c.keys);
    const w = await testWorker(config, { slots: 2 });
    await c.queue.enqueue(
      "inline",
      Array.from({ length: 20 }, (_, i) => ({ id: `i${i}`, payload: {} })),
    );
    // the ghost held a chunk, leased for ten minutes
    const held = await c.queue.acquire("inline", { max: 5, leaseMs: 600_000 });
    const at = new Date(Date.now() - 5000).toISOString();
    const ghost: WorkerListItem = {
      id: "ghost",
      jobType: "inline",
      hostId: w.hostId,
      hostname: w.hostId,
      pid: process.pid,
      launcher: "inline",
      reservationId: "r-ghost",
      firstChunkId: held.id,
      currentChunkId: held.id,
      currentChunkSize: held.size,
      createdAt: at,
      updatedAt: at,
      chunks: 0,
      itemsDone: 0,
      itemsFailed: 0,
      itemsRetried: 0,
    };
    await list.put(ghost);
    const m = await testManager(config);
    const history = new RedisWorkerHistory(c.client, c.keys);
    const lost = await waitFor("the ghost in the history", async () =>
      (await history.list()).find((h) => h.id === "ghost"),
    );
    expect(lost).toMatchObject({ exitReason: "lost", error: expect.stringMatching(/missing from its heartbeat/) });
    // its items came back at once (not at lease expiry), uncharged, and a real worker did them all
    await waitFor("every item done", async () => (await c.queue.counts("inline")).acked === 20, 30_000);
    expect(await c.queue.counts("inline")).toMatchObject({ reclaimed: 5, returned: 5, retried: 0, dead: 0 });
    const workers = await waitFor("the real worker to drain", async () => {
      const h = await history.list();
      return h.some((x) => x.exitReason === "drained") ? h : null;
    });
    expect(workers.map((h) => [h.hostId, h.exitReason]).sort()).toEqual([
      [w.hostId, "drained"],
      [w.hostId, "lost"],
    ]);
    await m.stop();
    await w.stop();
    await c.close();
  });
});
