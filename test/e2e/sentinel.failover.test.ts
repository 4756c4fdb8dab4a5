/**
 * Real daemons on a redis-sentinel:// URL (one manager, two workers, as CLI
 * processes) through a kill -9 of the master while every worker holds a
 * chunk: the sentinels promote the replica and the daemons follow it by
 * themselves, with no restart. Counted from what the job itself records
 * (test/fixtures/behave.mjs, one line per item begun): nothing lost, no item
 * dead, repeats no more than the items in flight at the kill.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchQueue, connectRedis, parseConfig, type RedisClient, RedisWorkerList } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { rawE2eConfig, writeConfigFile } from "../harness/daemons.js";
import { gate } from "../harness/gate.js";
import { closeClient, track, waitFor } from "../harness/index.js";
import { spawnCli } from "../harness/processes.js";
import { startSentinels } from "../harness/sentinel.js";

const CHUNK = 10;
const DAEMONS = 2;
const SLOTS = 2;

/** Item id -> times begun, from the job's own records. */
function begun(log: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(log, "utf8").split("\n")) {
    const id = line.split(" ")[0];
    if (id) out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

/** Every line a daemon printed is a pino JSON log line. */
function nonJsonLines(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .filter((l) => {
      try {
        return typeof JSON.parse(l) !== "object";
      } catch {
        return true;
      }
    });
}

describe("daemons on Redis Sentinel", () => {
  it("kill -9 of the master mid-run: the daemons follow the promoted replica with no restart; nothing lost, repeats bounded by what was in flight", async () => {
    const set = await startSentinels({ masterName: "bje2e" });
    const raw = await rawE2eConfig();
    raw.jobTypes = [
      {
        name: "sentinel",
        chunkSize: CHUNK,
        parallel: { high: DAEMONS * SLOTS, medium: DAEMONS * SLOTS, low: DAEMONS * SLOTS },
        cooldownSeconds: 0,
        leaseMs: 30_000,
        maxAttempts: 5,
        backoff: { type: "fixed", delayMs: 0 },
        launcher: { kind: "inline", module: "./behave.mjs" },
      },
    ];
    const config = parseConfig(raw);
    const file = await writeConfigFile(raw);
    const log = join(mkdtempSync(join(tmpdir(), "bj-sentinel-")), "begun.log");
    writeFileSync(log, "");
    const env = { REDIS_URL: set.url, BEHAVE_LOG: log };

    // the test's own view, on the same URL: a daemon connection, so it waits through the failover too
    const client: RedisClient = connectRedis(set.url, { daemon: true });
    client.on("error", () => {});
    track(
      "sentinel test connection",
      () => client.status !== "end",
      () => closeClient(client),
    );
    const queue = new BatchQueue({ redis: client, prefix: config.prefix, jobTypes: config.jobTypes });
    const list = new RedisWorkerList(client, queue.keys);

    const workers = Array.from({ length: DAEMONS }, (_, i) =>
      spawnCli(["worker", "--config", file, "--host-id", `w${i + 1}`, "--slots", String(SLOTS)], { env }),
    );
    const manager = spawnCli(["manager", "--config", file], { env });
    const daemons = [...workers, manager];
    const pids = daemons.map((d) => d.child.pid);

    // 100 items run straight through; the next 200 wait on a gate opened after the failover
    const g = gate();
    const first = Array.from({ length: 100 }, (_, i) => ({ payload: { i, record: true } }));
    const gated = Array.from({ length: 200 }, (_, i) => ({ payload: { i, record: true, gate: g.path } }));
    await queue.enqueue("sentinel", [...first, ...gated]);
    await waitFor(
      "the first items done and every slot holding a gated chunk",
      async () => {
        if (begun(log).size < 100) return false;
        const held = (await list.list()).filter((w) => w.currentChunkId !== null);
        return held.length === DAEMONS * SLOTS;
      },
      60_000,
      50,
    );

    const { switched } = await set.watchSwitch();
    await set.master.kill("SIGKILL");
    expect(await switched).toBe(set.replica.port);
    g.open();

    await waitFor(
      "the queue to drain on the new master",
      async () => {
        const c = await queue.counts("sentinel");
        return c.total === 0 && begun(log).size === 300;
      },
      90_000,
      100,
    );

    // the daemons still serve: the manager plans and dispatches new work, workers run it
    await queue.enqueue(
      "sentinel",
      Array.from({ length: 50 }, (_, i) => ({ payload: { i, record: true } })),
    );
    await waitFor(
      "the items enqueued after the failover to be done",
      async () => {
        const c = await queue.counts("sentinel");
        return c.total === 0 && begun(log).size === 350;
      },
      60_000,
      100,
    );

    const seen = begun(log);
    const repeats = [...seen.values()].reduce((n, times) => n + times - 1, 0);
    const counts = await queue.counts("sentinel");
    expect(seen.size).toBe(350); // lost: 0
    expect(counts).toMatchObject({ pending: 0, leased: 0, delayed: 0, dead: 0 });
    expect(repeats).toBeLessThanOrEqual(CHUNK * DAEMONS * SLOTS);
    // the same processes, connected to the new master by name
    expect(daemons.map((d) => d.child.pid)).toEqual(pids);
    for (const d of daemons) expect(d.child.exitCode).toBeNull();
    const clients = String(await client.client("LIST"));
    expect(await client.info("server")).toContain(`tcp_port:${set.replica.port}`);
    for (const name of ["batchjob-worker:w1", "batchjob-worker:w2", "batchjob-manager:"])
      expect(clients).toContain(name);

    for (const d of daemons) d.kill("SIGTERM");
    for (const d of daemons) expect((await d.exited).code).toBe(0);
    for (const d of daemons) {
      expect(nonJsonLines(d.stdout())).toEqual([]);
      expect(nonJsonLines(d.stderr())).toEqual([]);
    }
    await closeClient(client);
    await set.stop();
  }, 180_000);
});
