/**
 * A failover that needs no one (#14): the Redis the manager and the hosts
 * use stops answering (SIGSTOP) for longer than the host TTL, as a master
 * does during a failover, then answers again. The manager must not count its
 * own outage against the hosts: no live host is declared dead, no worker is
 * moved to the history as lost or crashed, and no item runs twice. A host
 * that stays silent once the manager sees Redis again is still found dead,
 * after a whole TTL.
 */
import { readFileSync } from "node:fs";
import type { TickReport } from "@batchjob/manager";
import { describe, expect, it } from "vitest";
import { hold, observed, ownRedis, type Stack, stackOn } from "../harness/failover.js";
import { gate } from "../harness/gate.js";
import { waitFor } from "../harness/index.js";

const TTL = 4000;
const SLOTS = 2;
const CHUNK = 10;

async function frozenStack(hosts: string[]) {
  const redis = await ownRedis();
  const s = await stackOn(redis, (raw) => {
    raw.jobTypes = [
      {
        name: "inline",
        chunkSize: CHUNK,
        parallel: { high: hosts.length * SLOTS, medium: hosts.length * SLOTS, low: hosts.length * SLOTS },
        cooldownSeconds: 0,
        // far longer than the freeze: this is about hosts, not leases
        leaseMs: 120_000,
        // one chunk per slot, each gated: a prefetched chunk would leave a slot without one
        prefetch: false,
        idleMs: 0,
        maxAttempts: 1,
        launcher: { kind: "inline", module: "./behave.mjs" },
      },
    ];
    raw.worker = { heartbeatMs: 200, hostTtlMs: TTL, shutdownGraceMs: 10_000 };
    raw.manager = { tickMs: 200, leaderLeaseMs: 120_000, allocator: "round-robin" };
  });
  return s;
}

/** Starts the hosts and the manager; every slot runs a chunk of gated items; returns the gate and the item count. */
async function busy(s: Stack, hosts: string[]) {
  const workers = hosts.map((h) => s.worker(h, SLOTS));
  await waitFor("the hosts to beat", async () => (await s.client.zcard(s.keys.hostBeats)) === hosts.length, 30_000);
  const g = gate();
  const n = hosts.length * SLOTS * CHUNK;
  await s.queue.enqueue(
    "inline",
    Array.from({ length: n }, (_, i) => ({ id: `i${i}`, payload: { gate: g.path, record: true } })),
  );
  await s.manager();
  await waitFor(
    "every slot to run a chunk",
    async () => (await s.list.list()).filter((w) => w.currentChunkId).length === hosts.length * SLOTS,
    30_000,
  );
  return { workers, gate: g, n };
}

/** The last Redis time the manager observed at, and its reports after `after`. */
function lastAt(reports: readonly TickReport[]): number {
  const r = observed(reports).at(-1);
  if (!r) throw new Error("the manager has not observed yet");
  return r.at;
}

/** The first report of an observation made more than a TTL after `before`: the manager's first look after the freeze. */
function firstLookAfterFreeze(s: Stack, before: number) {
  return waitFor("the manager's first look after the freeze", () =>
    observed(s.reports).find((r) => r.at - before > TTL),
  );
}

function recordedRuns(s: Stack): Map<string, number> {
  const runs = new Map<string, number>();
  let text = "";
  try {
    text = readFileSync(s.behaveLog, "utf8");
  } catch {
    // nothing recorded
  }
  for (const line of text.split("\n").filter(Boolean)) {
    const id = line.split(" ")[0] as string;
    runs.set(id, (runs.get(id) ?? 0) + 1);
  }
  return runs;
}

describe("failover: the manager's own outage is not counted against the hosts", () => {
  it("Redis frozen longer than the host TTL, hosts beating on: no host dead, no worker lost or crashed, no item run twice", async () => {
    const hosts = ["a", "b"];
    const s = await frozenStack(hosts);
    // (the hosts' beats sent during the freeze wait in Redis's sockets and usually run before the
    // manager's next look: the next test makes the hosts come back after the manager, every time)
    try {
      const { gate: g, n } = await busy(s, hosts);
      const before = lastAt(s.reports);
      s.redis.freeze();
      await hold(TTL + 2000);
      s.redis.thaw();
      const first = await firstLookAfterFreeze(s, before);
      // the manager was blind for longer than a TTL: on beat age alone, every host would be dead now
      expect(first.at - before).toBeGreaterThan(TTL);
      // both hosts beat again, and the manager saw it
      const beatAgain = await waitFor("both hosts to beat after the freeze", async () => {
        const l = await s.registry.list(60_000);
        return l.alive.filter((h) => h.beatAt > first.at).length === hosts.length ? l.now : null;
      });
      await waitFor("a tick after the hosts beat again", () => observed(s.reports).some((r) => r.at > beatAgain));
      expect(s.reports.flatMap((r) => r.deadHosts)).toEqual([]);
      expect(await s.history.list()).toEqual([]);
      expect((await s.list.list()).filter((w) => w.currentChunkId)).toHaveLength(hosts.length * SLOTS);

      g.open();
      await waitFor("every item done", async () => (await s.queue.counts("inline")).acked === n, 30_000);
      const runs = recordedRuns(s);
      expect(runs.size).toBe(n);
      expect([...runs.values()].filter((k) => k > 1)).toEqual([]);
      expect(await s.queue.counts("inline")).toMatchObject({
        acked: n,
        reclaimed: 0,
        returned: 0,
        retried: 0,
        dead: 0,
      });
      const history = await waitFor("the workers to drain", async () => {
        const h = await s.history.list();
        return h.length === hosts.length * SLOTS ? h : null;
      });
      expect(history.map((h) => h.exitReason)).toEqual(history.map(() => "drained"));
    } finally {
      await s.close();
    }
  });

  it("hosts that reach Redis again after the manager does get a whole TTL; one that stays silent is dead after it", async () => {
    const hosts = ["a", "b", "c"];
    const s = await frozenStack(hosts);
    try {
      const { workers, gate: g, n } = await busy(s, hosts);
      // the hosts stop first (their last beats are older than the freeze), then Redis
      for (const w of workers) w.child.kill("SIGSTOP");
      const before = lastAt(s.reports);
      s.redis.freeze();
      await hold(TTL + 2000);
      s.redis.thaw();
      const first = await firstLookAfterFreeze(s, before);
      // on beat age alone all three would be dead at this look; none is
      expect(first.deadHosts).toEqual([]);
      expect((await s.registry.list(TTL)).dead.sort()).toEqual(hosts);
      // a and b come back (as hosts whose connections find the new master later than the manager's); c does not
      const [a, b] = workers;
      a?.child.kill("SIGCONT");
      b?.child.kill("SIGCONT");
      const cDead = await waitFor(
        "c to be found dead",
        () => observed(s.reports).find((r) => r.deadHosts.includes("c")),
        30_000,
      );
      // only after a whole TTL in which the manager saw Redis and c could have beaten
      expect(cDead.at - first.at).toBeGreaterThan(TTL);
      expect(new Set(s.reports.flatMap((r) => r.deadHosts))).toEqual(new Set(["c"]));

      g.open();
      await waitFor("every item done", async () => (await s.queue.counts("inline")).acked === n, 30_000);
      const history = await waitFor("a's and b's workers to drain", async () => {
        const h = await s.history.list({ limit: 100 });
        return h.filter((x) => x.hostId !== "c").length === 2 * SLOTS ? h : null;
      });
      const reasons = history.map((h) => `${h.hostId} ${h.exitReason}`).sort();
      expect(reasons).toEqual(["a drained", "a drained", "b drained", "b drained", "c lost", "c lost"]);
    } finally {
      await s.close();
    }
  });
});
