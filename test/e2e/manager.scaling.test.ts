import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, RedisWorkerList } from "@batchjob/core";
import type { TickReport } from "@batchjob/manager";
import { describe, expect, it } from "vitest";
import { controlFor, rawE2eConfig, testManager, testWorker, writeConfigFile } from "../harness/daemons.js";
import { redisUrl, waitFor } from "../harness/index.js";
import { spawnCli } from "../harness/processes.js";

function scalingConfig(raw: Record<string, unknown>, cooldownSeconds: number) {
  raw.jobTypes = [
    {
      name: "scale",
      chunkSize: 100,
      parallel: { high: 1, medium: 2, low: 4 },
      cooldownSeconds,
      minQueueEntries: 1,
      leaseMs: 30_000,
      maxAttempts: 3,
      backoff: { type: "fixed", delayMs: 0 },
      launcher: { kind: "inline", module: "./behave.mjs" },
    },
  ];
  raw.manager = {
    tickMs: 150,
    // long enough that no stall of a loaded machine moves the leadership or takes a live host for dead
    leaderLeaseMs: 10_000,
    allocator: "least-load",
    load: { highAt: 0.8, lowBelow: 0.4, hysteresis: 0.05 },
  };
  raw.worker = { heartbeatMs: 150, hostTtlMs: 10_000, shutdownGraceMs: 5000 };
  return raw;
}

describe("manager scaling with two worker daemons (real processes)", () => {
  it("converges to the target of each load level, spaces starts by the cooldown, and drains 10,000 items", async () => {
    const raw = scalingConfig(await rawE2eConfig(), 0.4);
    const config = parseConfig(raw);
    const file = await writeConfigFile(raw);
    const dir = mkdtempSync(join(tmpdir(), "bj-load-"));
    const loadFiles = [join(dir, "a"), join(dir, "b")];
    const setLoad = (v: number) => {
      for (const f of loadFiles) writeFileSync(f, String(v));
    };
    setLoad(0.1);
    const env = { REDIS_URL: redisUrl() };
    const workers = loadFiles.map((lf, i) =>
      spawnCli(["worker", "--config", file, "--host-id", `host-${i}`, "--slots", "4", "--load-file", lf], { env }),
    );
    const c = controlFor(config);
    await waitFor("both hosts to beat", async () => (await c.client.zcard(c.keys.hostBeats)) === 2, 30_000);

    const starts: number[] = [];
    const levels: string[] = [];
    const m = await testManager(config, {
      onTick: (r: TickReport) => {
        levels.push(r.level.level);
        for (const d of r.decisions) for (let i = 0; i < d.start; i++) starts.push(r.at);
      },
    });
    await c.queue.enqueue(
      "scale",
      Array.from({ length: 10_000 }, (_, i) => ({ payload: { i, ms: 3 } })),
    );
    const list = new RedisWorkerList(c.client, c.keys);
    const running = async () => (await list.list({ jobType: "scale" })).length;

    // low load: 4 workers, started one per cooldown (0.4 s)
    await waitFor("4 workers at low load", async () => (await running()) === 4, 60_000);
    expect(levels.at(-1)).toBe("low");
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] as number));
    expect(gaps.every((g) => g >= 400)).toBe(true);
    const hostsUsed = new Set((await list.list()).map((w) => w.hostId));
    expect(hostsUsed.size).toBe(2);

    // injected high load: scaled down to 1 after their chunks
    setLoad(0.95);
    await waitFor("1 worker at high load", async () => levels.at(-1) === "high" && (await running()) === 1, 60_000);
    const decision = JSON.parse((await c.client.hget(c.keys.decisions, "scale")) ?? "{}") as {
      reason: string;
      target: number;
    };
    expect(decision.target).toBe(1);

    // medium: 2
    setLoad(0.6);
    await waitFor(
      "2 workers at medium load",
      async () => levels.at(-1) === "medium" && (await running()) === 2,
      60_000,
    );

    // low again: 4, until the queue is drained
    setLoad(0.1);
    await waitFor("the queue to drain", async () => (await c.queue.counts("scale")).total === 0, 120_000, 100);
    const counts = await c.queue.counts("scale");
    expect(counts.acked).toBe(10_000);
    expect(counts.died).toBe(0);
    const history = await c.client.lrange(c.keys.history, 0, -1);
    const reasons = history.map((h) => (JSON.parse(h) as { exitReason: string }).exitReason);
    expect(reasons).toContain("scaled-down");

    await m.stop();
    for (const w of workers) w.kill("SIGTERM");
    for (const w of workers) expect((await w.exited).code).toBe(0);
    await c.close();
  }, 300_000);
});

describe("manager activation threshold (in process)", () => {
  it("starts nothing below minQueueEntries, then starts once the queue crosses it", async () => {
    const raw = scalingConfig(await rawE2eConfig(), 0);
    for (const t of raw.jobTypes as { minQueueEntries: number }[]) t.minQueueEntries = 50;
    const config = parseConfig(raw);
    const w = await testWorker(config);
    const c = controlFor(config);
    const m = await testManager(config);
    await c.queue.enqueue(
      "scale",
      Array.from({ length: 10 }, () => ({ payload: {} })),
    );
    for (let i = 0; i < 3; i++) await m.tickNow();
    const d = JSON.parse((await c.client.hget(c.keys.decisions, "scale")) ?? "{}") as { reason: string; start: number };
    expect(d).toMatchObject({ start: 0, reason: "below minQueueEntries: 10 < 50" });
    expect(await c.queue.counts("scale")).toMatchObject({ pending: 10, leased: 0 });
    await c.queue.enqueue(
      "scale",
      Array.from({ length: 40 }, () => ({ payload: {} })),
    );
    const r = await m.tickNow();
    expect(r?.decisions[0]?.start).toBe(1);
    await waitFor("the queue to drain", async () => (await c.queue.counts("scale")).total === 0);
    await m.stop();
    await w.stop();
    await c.close();
  });
});
