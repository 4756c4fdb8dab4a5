import { HostRegistry, parseConfig, RedisWorkerHistory, RedisWorkerList, type WorkerHistoryItem } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { controlFor, rawE2eConfig, testManager, writeConfigFile } from "../harness/daemons.js";
import { gate } from "../harness/gate.js";
import { redisUrl, waitFor } from "../harness/index.js";
import { procInfo } from "../harness/process-tree.js";
import { spawnCli } from "../harness/processes.js";

function chaosConfig(raw: Record<string, unknown>) {
  raw.jobTypes = [
    {
      name: "chaos",
      chunkSize: 50,
      parallel: { high: 4, medium: 4, low: 4 },
      cooldownSeconds: 0,
      minQueueEntries: 1,
      leaseMs: 10_000,
      maxAttempts: 5,
      backoff: { type: "fixed", delayMs: 0 },
      // drained workers leave at once: the tests read the list and history of workers that ended
      idleMs: 0,
      launcher: { kind: "inline", module: "./behave.mjs" },
    },
  ];
  // leases and TTLs far above any stall of a loaded machine: a death is found because the process is
  // gone, never because a live one was slow; the tests wait for the event with generous deadlines
  raw.manager = { tickMs: 150, leaderLeaseMs: 5000, allocator: "round-robin" };
  raw.worker = { heartbeatMs: 250, hostTtlMs: 5000, shutdownGraceMs: 60_000 };
  return raw;
}

const env = () => ({ REDIS_URL: redisUrl() });

type Control = ReturnType<typeof controlFor>;

/** Waits for the one listed worker to run a chunk it acquired itself; returns that chunk's id. */
async function runningChunk(c: Control): Promise<string> {
  const list = new RedisWorkerList(c.client, c.keys);
  return waitFor(
    "the worker to run its chunk",
    async () => (await list.list()).find((w) => w.currentChunkId)?.currentChunkId,
    30_000,
  );
}

/** Every failure record of a type, by item id. */
async function failRecords(c: Control, jobType: string): Promise<Record<string, Record<string, unknown>>> {
  const raw = await c.client.hgetall(c.keys.type(jobType).fails);
  return Object.fromEntries(Object.entries(raw).map(([id, r]) => [id, JSON.parse(r) as Record<string, unknown>]));
}

describe("chaos (real processes)", () => {
  it("kill -9 of a worker daemon mid-run: its chunks come back uncharged and are done elsewhere; nothing is lost", async () => {
    const raw = chaosConfig(await rawE2eConfig());
    const config = parseConfig(raw);
    const file = await writeConfigFile(raw);
    const a = spawnCli(["worker", "--config", file, "--host-id", "victim", "--slots", "2"], { env: env() });
    const b = spawnCli(["worker", "--config", file, "--host-id", "survivor", "--slots", "2"], { env: env() });
    const c = controlFor(config);
    await waitFor("both hosts", async () => (await c.client.zcard(c.keys.hostBeats)) === 2, 30_000);
    const m = await testManager(config);
    const N = 3000;
    // every chunk waits on a gate opened after the kill: the victim surely holds its chunks when it dies
    const g = gate();
    await c.queue.enqueue(
      "chaos",
      Array.from({ length: N }, (_, i) => ({ payload: { i, gate: g.path } })),
    );
    const history = new RedisWorkerHistory(c.client, c.keys);
    // a worker lists itself before it acquires: wait for one that holds a chunk
    const list = new RedisWorkerList(c.client, c.keys);
    const held = await waitFor(
      "the victim to run a chunk",
      async () => (await list.list({ hostId: "victim" })).filter((w) => w.currentChunkId !== null).length,
      30_000,
    );
    a.kill("SIGKILL");
    expect(await a.exited).toEqual({ code: null, signal: "SIGKILL" });
    g.open();
    await waitFor("the queue to drain", async () => (await c.queue.counts("chaos")).total === 0, 90_000, 100);
    const counts = await c.queue.counts("chaos");
    expect(counts.acked + counts.died).toBe(N);
    expect(counts.acked).toBe(N);
    // at least the chunks of 50 the victim was seen holding came back
    expect(counts.reclaimed).toBeGreaterThanOrEqual(held * 50);
    // the victim's chunks came back as returns: nothing was charged an attempt for its death
    expect(counts.returned).toBeGreaterThanOrEqual(counts.reclaimed);
    expect(counts).toMatchObject({ retried: 0, died: 0, dead: 0 });
    const lost = (await history.list({ limit: 100 })).filter((h: WorkerHistoryItem) => h.exitReason === "lost");
    expect(lost.length).toBeGreaterThan(0);
    expect(lost.every((h) => h.hostId === "victim")).toBe(true);
    expect(await c.client.hvals(c.keys.workers)).toEqual([]);
    await m.stop();
    b.kill("SIGTERM");
    expect((await b.exited).code).toBe(0);
    await c.close();
  }, 150_000);

  it("kill -9 of the leader manager: the other takes over once its lease runs out, and the run completes", async () => {
    const raw = chaosConfig(await rawE2eConfig());
    const config = parseConfig(raw);
    const file = await writeConfigFile(raw);
    const w = spawnCli(["worker", "--config", file, "--host-id", "w1", "--slots", "4"], { env: env() });
    const m1 = spawnCli(["manager", "--config", file, "--id", "m1"], { env: env() });
    const c = controlFor(config);
    await waitFor("m1 to lead", async () => (await c.client.get(c.keys.leader)) === "m1", 30_000);
    const m2 = spawnCli(["manager", "--config", file, "--id", "m2"], { env: env() });
    const N = 2000;
    await c.queue.enqueue(
      "chaos",
      Array.from({ length: N }, (_, i) => ({ payload: { i, ms: 2 } })),
    );
    await waitFor("workers to run", async () => (await c.client.hlen(c.keys.workers)) > 0, 30_000);
    // the order of events: m1 leads up to its death; its lease, never released, lapses; then m2 leads
    expect(await c.client.get(c.keys.leader)).toBe("m1");
    m1.kill("SIGKILL");
    expect(await m1.exited).toEqual({ code: null, signal: "SIGKILL" });
    const leaders: (string | null)[] = [];
    await waitFor(
      "m2 to lead",
      async () => {
        const l = await c.client.get(c.keys.leader);
        if (leaders.at(-1) !== l) leaders.push(l);
        return l === "m2";
      },
      30_000,
      20,
    );
    // m1 while its lease ran, maybe no one, then m2: never back to m1, nobody else
    const afterM1 = leaders.slice(leaders[0] === "m1" ? 1 : 0);
    expect(afterM1.filter((l) => l !== null)).toEqual(["m2"]);
    // new work after the takeover is planned by m2
    await c.queue.enqueue(
      "chaos",
      Array.from({ length: 500 }, (_, i) => ({ payload: { i, ms: 1 } })),
    );
    await waitFor("the run to complete", async () => (await c.queue.counts("chaos")).total === 0, 90_000, 100);
    expect((await c.queue.counts("chaos")).acked).toBe(N + 500);
    expect(await c.client.get(c.keys.leader)).toBe("m2");
    m2.kill("SIGTERM");
    w.kill("SIGTERM");
    expect((await m2.exited).code).toBe(0);
    expect((await w.exited).code).toBe(0);
    await c.close();
  }, 150_000);

  it("a frozen daemon's chunk is given back uncharged after its lease; when it wakes it cannot ack it, and the items are done later", async () => {
    const raw = chaosConfig(await rawE2eConfig());
    const config = parseConfig(raw);
    const file = await writeConfigFile(raw);
    const w = spawnCli(["worker", "--config", file, "--host-id", "frozen", "--slots", "1"], { env: env() });
    const c = controlFor(config);
    await waitFor("the host", async () => (await c.client.zcard(c.keys.hostBeats)) === 1, 30_000);
    // the chunk runs until the gate opens: it is surely running when the daemon freezes
    const g = gate();
    const { ids } = await c.queue.enqueue(
      "chaos",
      Array.from({ length: 5 }, (_, i) => ({ payload: { i, gate: g.path } })),
    );
    await c.dispatch("frozen", "chaos");
    const chunkId = await runningChunk(c);
    w.kill("SIGSTOP");
    await waitFor("the daemon to be stopped", () => procInfo(w.child.pid as number)?.state === "T");
    // frozen, it renews nothing: its lease runs out (cut to 1 ms here rather than waited out) and is reclaimed
    const r = await waitFor("the lease to be reclaimed", async () => {
      const x = await c.queue.reclaim("chaos");
      if (x.chunks > 0) return x;
      await c.queue.extend("chaos", chunkId, 1);
      return null;
    });
    // whose fault: the holder froze; the items are given back (returns + 1), no attempt charged
    expect(r).toEqual({ chunks: 1, returned: 5, dead: 0 });
    const records = await failRecords(c, "chaos");
    expect(Object.keys(records).sort()).toEqual([...ids].sort());
    for (const id of ids) {
      expect(records[id]).toMatchObject({ attempts: 0, returns: 1, how: "returned", error: "lease expired" });
    }
    w.kill("SIGCONT");
    const history = new RedisWorkerHistory(c.client, c.keys);
    // its next lease renewal finds the chunk gone
    const [h] = await waitFor(
      "the woken worker to give up",
      async () => {
        const l = await history.list();
        return l.length > 0 ? l : null;
      },
      30_000,
    );
    expect(h).toMatchObject({
      exitReason: "crashed",
      firstChunkId: chunkId,
      itemsDone: 0,
      itemsRetried: 0,
      error: expect.stringMatching(/lease lost/),
    });
    // fenced: it cannot ack or charge what was reclaimed
    expect(await c.queue.ack("chaos", chunkId, ids)).toMatchObject({ acked: 0 });
    expect(await c.queue.counts("chaos")).toMatchObject({ pending: 5, leased: 0, retried: 0 });
    // a later worker does them
    g.open();
    await c.dispatch("frozen", "chaos");
    await waitFor("the items to be done", async () => (await c.queue.counts("chaos")).total === 0, 30_000);
    expect(await c.queue.counts("chaos")).toMatchObject({ acked: 5, retried: 0, died: 0 });
    const [later] = await history.list();
    expect(later).toMatchObject({ exitReason: "drained", itemsDone: 5, itemsRetried: 0 });
    w.kill("SIGTERM");
    expect((await w.exited).code).toBe(0);
    await c.close();
  }, 90_000);

  it("SIGTERM in the middle of a chunk: the chunk finishes, nothing is lost, the history says shutdown", async () => {
    const raw = chaosConfig(await rawE2eConfig());
    const config = parseConfig(raw);
    const file = await writeConfigFile(raw);
    const w = spawnCli(["worker", "--config", file, "--host-id", "term", "--slots", "1"], { env: env() });
    const c = controlFor(config);
    await waitFor("the host", async () => (await c.client.zcard(c.keys.hostBeats)) === 1, 30_000);
    // the first chunk runs until the gate opens: the SIGTERM surely lands in its middle
    const g = gate();
    await c.queue.enqueue(
      "chaos",
      Array.from({ length: 200 }, (_, i) => ({ payload: { i, gate: g.path } })),
    );
    await c.dispatch("term", "chaos");
    await runningChunk(c);
    w.kill("SIGTERM");
    await waitFor("draining", async () => (await c.client.hget(c.keys.hostInfo, "term"))?.includes('"draining":true'));
    g.open();
    expect((await w.exited).code).toBe(0);
    const [h] = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(h).toMatchObject({ exitReason: "shutdown", chunks: 1, itemsDone: 50 });
    const counts = await c.queue.counts("chaos");
    expect(counts).toMatchObject({ acked: 50, pending: 150, leased: 0 });
    // marked gone: dead at once for the manager's reaper, which then forgets it
    const hosts = await new HostRegistry(c.client, c.keys).list(60_000);
    expect(hosts.alive.map((h) => h.id)).not.toContain("term");
    expect(hosts.dead).toContain("term");
    await c.close();
  }, 60_000);

  it("a second signal aborts the running chunk at once and gives its items back uncharged", async () => {
    const raw = chaosConfig(await rawE2eConfig());
    const config = parseConfig(raw);
    const file = await writeConfigFile(raw);
    const w = spawnCli(["worker", "--config", file, "--host-id", "twice", "--slots", "1"], { env: env() });
    const c = controlFor(config);
    await waitFor("the host", async () => (await c.client.zcard(c.keys.hostBeats)) === 1, 30_000);
    // a chunk that cannot end by itself (its gate is never opened): only the second signal ends it
    const closed = gate();
    await c.queue.enqueue(
      "chaos",
      Array.from({ length: 50 }, (_, i) => ({ payload: { i, gate: closed.path } })),
    );
    await c.dispatch("twice", "chaos");
    await runningChunk(c);
    w.kill("SIGTERM");
    await waitFor("draining", async () => {
      const info = await c.client.hget(c.keys.hostInfo, "twice");
      return info?.includes('"draining":true');
    });
    w.kill("SIGINT");
    expect((await w.exited).code).toBe(0);
    const counts = await c.queue.counts("chaos");
    // the aborted chunk (all 50) was given back by the shutdown: returns + 1, no attempt, even the item the job was on
    expect(counts).toMatchObject({ pending: 50, acked: 0, returned: 50, leased: 0, retried: 0, split: 0 });
    const records = Object.values(await failRecords(c, "chaos"));
    expect(records).toHaveLength(50);
    for (const record of records) {
      expect(record).toMatchObject({
        attempts: 0,
        returns: 1,
        how: "returned",
        error: expect.stringMatching(/^host twice shutting down: shutdown: second SIGINT/),
      });
    }
    const [h] = await new RedisWorkerHistory(c.client, c.keys).list();
    expect(h).toMatchObject({ exitReason: "shutdown", itemsRetried: 0 });
    await c.close();
  }, 60_000);
});
