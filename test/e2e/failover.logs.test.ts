/**
 * Logs stay JSON (#14): a worker daemon and a manager, as the real CLI
 * processes, through a Redis that is killed and started again. Every line
 * either writes, on stdout or stderr, must be a JSON log record: no raw
 * `Error: connect ECONNREFUSED` dump from BullMQ, ioredis or Node, and no
 * raw console output, unhandled rejection or process warning either.
 */
import { describe, expect, it } from "vitest";
import { exitsWithin, ownRedis, stackOn } from "../harness/failover.js";
import { waitFor } from "../harness/index.js";
import { type CliProcess, spawnCli } from "../harness/processes.js";

/** The lines of `text` that are not a JSON object. */
function notJson(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .filter((l) => {
      try {
        const v: unknown = JSON.parse(l);
        return typeof v !== "object" || v === null;
      } catch {
        return true;
      }
    });
}

describe("failover: the daemons' output", () => {
  it("stays JSON lines through a Redis kill -9 and restart", { timeout: 150_000 }, async () => {
    const redis = await ownRedis();
    const s = await stackOn(redis, (raw) => {
      const [inline] = raw.jobTypes as Record<string, unknown>[];
      raw.jobTypes = [
        { ...inline, parallel: { high: 2, medium: 2, low: 2 } },
        { name: "noisy", cooldownSeconds: 0, launcher: { kind: "inline", module: "./noisy.mjs" } },
      ];
      raw.worker = { heartbeatMs: 200, hostTtlMs: 60_000, shutdownGraceMs: 5000 };
      raw.manager = { tickMs: 200, leaderLeaseMs: 5000 };
    });
    const env = { BATCHJOB_LOG_LEVEL: "info" };
    let manager: CliProcess | undefined;
    let worker: CliProcess | undefined;
    const t0 = Date.now();
    const steps: string[] = [];
    const step = (s: string) => steps.push(`${Date.now() - t0} ms: ${s}`);
    try {
      worker = s.worker("w1", 2, env);
      manager = spawnCli(["manager", "--config", s.file], { env: { REDIS_URL: redis.url, ...env } });
      const items = (tag: string) => Array.from({ length: 30 }, (_, i) => ({ id: `${tag}${i}`, payload: {} }));
      // work dispatched before the outage: the manager holds a BullMQ queue for the host's inbox
      await s.queue.enqueue("inline", items("before"));
      // and a job that prints to console, leaves a rejection unhandled and emits a process warning
      await s.queue.enqueue("noisy", [{ id: "n", payload: {} }]);
      await waitFor("the first items done", async () => (await s.queue.counts("inline")).acked === 30, 30_000);
      await waitFor("the noisy item done", async () => (await s.queue.counts("noisy")).acked === 1, 30_000);

      step("killing redis");
      await redis.server.kill("SIGKILL");
      // both daemons meet the outage (and log it) before Redis is back
      for (const p of [worker, manager])
        await p.waitForOutput(/redis connection error/, 30_000).catch((err) => {
          throw new Error(`${String(err)}\nstdout: ${p.stdout().slice(-2000)}`);
        });
      step("restarting redis");
      await redis.server.restart();
      step("redis restarted");

      // the same processes work again (the restarted Redis is empty: new items)
      await waitFor(
        "items enqueued after the restart done",
        async () => {
          const c = await s.queue.counts("inline").catch(() => null);
          if (c && c.enqueued === 0) await s.queue.enqueue("inline", items("after"));
          return c?.acked === 30;
        },
        60_000,
      );
      step("after items done; SIGTERM");
      worker.kill("SIGTERM");
      manager.kill("SIGTERM");
      for (const [name, p] of [
        ["worker", worker],
        ["manager", manager],
      ] as const) {
        const stuck = await exitsWithin(p, 30_000);
        if (stuck) throw new Error(`the ${name} did not exit within 30 s of SIGTERM; its last output:\n${stuck.tail}`);
        expect((await p.exited).code).toBe(0);
      }

      for (const [name, p] of [
        ["worker", worker],
        ["manager", manager],
      ] as const) {
        expect({ [name]: notJson(p.stdout()) }).toEqual({ [name]: [] });
        expect({ [name]: notJson(p.stderr()) }).toEqual({ [name]: [] });
        // and they did log the outage, as JSON
        expect(p.stdout()).toMatch(/"msg":"redis connection error"/);
      }
      const records = worker
        .stdout()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg?: string; level: number });
      const msgs = records.map((r) => r.msg ?? "");
      expect(msgs).toContainEqual(expect.stringMatching(/^noisy: a line on console.log, items: 1$/));
      expect(msgs).toContainEqual(expect.stringMatching(/^Error: noisy: an error on console.error/));
      expect(records).toContainEqual(expect.objectContaining({ msg: "unhandled promise rejection", level: 50 }));
      expect(records).toContainEqual(
        expect.objectContaining({
          msg: "process warning",
          warning: { name: "NoisyWarning", message: "noisy: a process warning" },
        }),
      );
      step("exited");
    } catch (err) {
      const tail = (p: CliProcess | undefined) =>
        p ? `${p.stdout().slice(-6000)}\n--stderr--\n${p.stderr().slice(-2000)}` : "";
      throw new Error(
        `${String(err)}\nsteps:\n${steps.join("\n")}\nWORKER:\n${tail(worker)}\nMANAGER:\n${tail(manager)}`,
      );
    } finally {
      manager?.kill("SIGKILL");
      await s.close().catch((err: unknown) => {
        throw new Error(`${String(err)}\nsteps:\n${steps.join("\n")}`);
      });
    }
  });
});
