/**
 * Redis high availability under load: the daemons on a Sentinel set or a
 * Redis Cluster, every item enqueued first (and replicated: WAIT), then a
 * fault while they work, with no restart of any daemon:
 *   sentinel-failover   kill -9 of the master; the sentinels promote the replica
 *   sentinel-lagging    the replica stopped (SIGSTOP) and its link dropped by
 *                       the master, so it lags; the master killed, the replica
 *                       continued and promoted: what it missed (acks, leases)
 *                       is run again
 *   cluster-type        kill -9 of the master holding a busy type (Redis's
 *                       default cluster-node-timeout, 15 s)
 *   cluster-control     kill -9 of the master holding the control plane (same timeout)
 *   cluster-slot-lost   a type's master and its replica killed
 *                       (cluster-require-full-coverage no): the other type
 *                       must run to the end; the lost type's items went with its slot
 * maxAttempts 1, so any attempt charged for the fault shows as a dead healthy
 * item. Notes: how long the failover took, hosts the manager declared dead
 * (its "lost workers" log records: must be 0), and log lines that are not
 * JSON (must be 0). Recovery: from the fault until the faulted type's acked
 * count, read from the new master, rises again (or its queue is found empty);
 * with a slot lost, until the sink sees the other type's next item done.
 */
import { readFileSync } from "node:fs";
import { type RedisCluster, type RedisServer, startRedisCluster } from "../../harness/redis-server.js";
import { launchSentinels, type SentinelSet } from "../../harness/sentinel-set.js";
import { enqueueAll, Ledger } from "../items.js";
import { type Probe, probe, totalProbe } from "../probes.js";
import type { Row } from "../report.js";
import { finish, type Scenario, type ScenarioContext, withStack } from "../scenario.js";
import { type QueueRedis, type Stack, steadyType } from "../stack.js";
import { sleep, waitUntil } from "../util.js";

export interface FailoverParams {
  daemons: number;
  slots: number;
  /** Items per job type, all enqueued before the fault. */
  items: number;
  itemMs: number;
  /** The fault comes once this share of the items is done. */
  faultAt: number;
  /** sentinel-lagging: how long the replica is stopped before the master dies (under the sentinels' 1 s down-after). */
  lagMs: number;
  drainMs: number;
}

const params = (scale: number): FailoverParams => ({
  daemons: 2,
  slots: 2,
  items: Math.max(3000, Math.round(15_000 * scale)),
  itemMs: 1,
  faultAt: 0.3,
  lagMs: 700,
  drainMs: 180_000,
});

/** The chunk size of every type here (the duplicate bounds count in chunks). */
const CHUNK = 50;
/** Chunks a worker holds beyond the one it runs (prefetch): they too come back from a lagging replica. */
const PREFETCH = 1;

/** Redis's own default: what a cluster deployment most likely runs with. */
const DEFAULT_NODE_TIMEOUT_MS = 15_000;

/** Lines of a daemon log that are not one JSON object each. */
function nonJsonLines(logFile: string): number {
  let text = "";
  try {
    text = readFileSync(logFile, "utf8");
  } catch {
    return 0;
  }
  let n = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      if (typeof JSON.parse(line) !== "object") n++;
    } catch {
      n++;
    }
  }
  return n;
}

/** Times the manager moved a host's workers to the history as lost (a host judged dead). */
function hostsDeclaredDead(logFile: string): number {
  try {
    return readFileSync(logFile, "utf8").split("lost workers moved to the history").length - 1;
  } catch {
    return 0;
  }
}

/**
 * Recovered once `type`'s acked count, read after the fault, rises above the
 * first value read (or the type is found drained: its work was done before).
 */
function ackProbe(stack: Stack, type: string, from: number): Probe {
  let base: number | null = null;
  return probe(from, async () => {
    const c = await stack.queue.counts(type);
    if (c.pending === 0 && c.delayed === 0 && c.chunks === 0) return true;
    if (base === null) {
      base = c.acked;
      return false;
    }
    return c.acked > base;
  });
}

interface Deployment {
  redis: QueueRedis;
  /** Job type names for the run (on the cluster, placed as the scenario needs). */
  types: string[];
  /** Types whose slot the fault destroys: their items are not tallied (Redis lost them, not batchjob). */
  lost?: string[];
  /** Settings every type of the run gets on top of the scenario's (`shards`, say). */
  typeOptions?: Record<string, unknown>;
  /** Injects the fault; resolves with a note on the failover, once Redis serves the faulted type again. */
  fault(stack: Stack, types: string[], p: FailoverParams, row: Row): Promise<string>;
}

function failoverScenario(
  name: string,
  title: string,
  deploy: (prefix: string) => Promise<Deployment>,
  faulted: (types: string[]) => string[] = (types) => types.slice(0, 1),
): Scenario<FailoverParams> {
  return {
    name,
    title,
    params,
    async run(ctx: ScenarioContext, p: FailoverParams): Promise<Row> {
      let d: Deployment;
      try {
        d = await deploy(`chaos-${name}`);
      } catch (err) {
        return { scenario: name, faults: 0, recover: [], drained: false, totalS: 0, notes: [], error: String(err) };
      }
      const parallel = { high: p.daemons * p.slots, medium: p.daemons * p.slots, low: p.daemons * p.slots };
      return withStack(
        ctx,
        name,
        {
          queueRedis: d.redis,
          jobTypes: d.types.map((t) =>
            steadyType(t, { maxAttempts: 1, parallel, chunkSize: CHUNK, prefetch: PREFETCH, ...d.typeOptions }),
          ),
        },
        async (stack, row) => {
          const workers = Array.from({ length: p.daemons }, () => stack.startWorker({ slots: p.slots }));
          const manager = stack.startManager();
          await stack.waitForHosts(workers.map((w) => w.name));
          const ledger = new Ledger();
          const alive = d.types.filter((t) => !d.lost?.includes(t));
          const tallied = new Ledger();
          for (const t of d.types) {
            const items = Array.from({ length: p.items }, () => ({
              id: ledger.healthyId(),
              payload: { ms: p.itemMs },
            }));
            await enqueueAll(stack.queue, t, items);
            if (alive.includes(t)) for (const i of items) tallied.healthy.add(i.id);
          }
          await replicated(stack);
          const total = p.items * d.types.length;
          await waitUntil(
            `${Math.round(p.faultAt * 100)}% of the items done`,
            async () => (await stack.sinkView.total()) >= total * p.faultAt,
            120_000,
          );
          const at = Date.now();
          const note = await d.fault(stack, d.types, p, row);
          row.faults = 1;
          // a lost slot: the other types' progress, from what their jobs record (never waiting on the dead node)
          const probes = d.lost?.length
            ? [await totalProbe(stack.sinkView, at)]
            : faulted(d.types).map((t) => ackProbe(stack, t, at));
          row.notes.push(note);
          if (d.lost?.length) row.notes.push(`${p.items * d.lost.length} items of ${d.lost.join(", ")} not tallied`);
          await finish(stack, row, alive, tallied, probes, p.drainMs);
          const dead = hostsDeclaredDead(manager.logFile);
          const bad = [manager, ...workers].reduce((n, w) => n + nonJsonLines(w.logFile), 0);
          row.counts = { ...row.counts, hostsDeclaredDead: dead, nonJsonLogLines: bad };
          row.notes.push(`hosts declared dead ${dead}, non-JSON log lines ${bad}`);
        },
      );
    },
  };
}

/** Waits until every replica has every write so far (WAIT on each master the stack's keys live on). */
async function replicated(stack: Stack): Promise<void> {
  const c = stack.client;
  const masters = "nodes" in c && typeof c.nodes === "function" ? c.nodes("master") : [c];
  for (const m of masters) await m.call("WAIT", "1", "10000");
}

async function sentinels(): Promise<SentinelSet> {
  return launchSentinels({ masterName: "bjchaos", downAfterMs: 1000, failoverTimeoutMs: 2000 });
}

/** The failover time of a Sentinel set: kill, then wait until the sentinels name another master. */
async function failSentinelMaster(
  set: SentinelSet,
  before?: () => Promise<void>,
  after?: () => Promise<void>,
): Promise<string> {
  const { switched } = await set.watchSwitch(60_000);
  await before?.();
  const t0 = Date.now();
  await set.master.kill("SIGKILL");
  await after?.();
  const port = await switched;
  return `master killed, replica ${port} promoted in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
}

export const sentinelFailover: Scenario<FailoverParams> = failoverScenario(
  "sentinel-failover",
  "Sentinel (1 master, 1 replica, 3 sentinels): kill -9 of the master under load",
  async () => {
    const set = await sentinels();
    return {
      redis: { url: set.url, stop: () => set.stop() },
      types: ["steady"],
      fault: () => failSentinelMaster(set),
    };
  },
);

export const sentinelLagging: Scenario<FailoverParams> = failoverScenario(
  "sentinel-lagging",
  "Sentinel: the replica cut off for 0.7 s (lagging), then the master killed and the lagging replica promoted",
  async () => {
    const set = await sentinels();
    return {
      redis: { url: set.url, stop: () => set.stop() },
      types: ["steady"],
      async fault(stack, _types, p, row) {
        let missed = 0;
        let from = 0;
        const note = await failSentinelMaster(
          set,
          async () => {
            // stopped, the replica cannot reconnect; the master drops its link, so what follows is not replicated
            set.replica.process.kill("SIGSTOP");
            from = await stack.sinkView.total();
            const master = stack.opts.code.core.connectRedis(set.master.url);
            try {
              await master.call("CLIENT", "KILL", "TYPE", "replica");
            } finally {
              master.disconnect();
            }
            await sleep(p.lagMs);
          },
          async () => {
            missed = (await stack.sinkView.total()) - from;
            set.replica.process.kill("SIGCONT");
          },
        );
        // a duplicate is an item done after the cut, or one of a chunk settled after it (done before the
        // cut, its ack not replicated), or one held at the kill (running or prefetched): per slot, one chunk
        // for the first and 1 + PREFETCH for the second
        row.inFlight = missed + (2 + PREFETCH) * p.daemons * p.slots * CHUNK;
        row.counts = { ...row.counts, doneUnreplicated: missed };
        return `${note}; ${missed} items done from the cut to the kill (not replicated)`;
      },
    };
  },
);

/** A 3-master, 3-replica cluster with Redis's default node timeout, and two type names on masters as `pick` wants. */
async function clusterWith(
  prefix: string,
  core: ScenarioContext["code"]["core"],
  pick: (typeMasters: Map<string, number>, controlMaster: number, masterOf: (key: string) => number) => string[],
  requireFullCoverage = true,
): Promise<{ cluster: RedisCluster; types: string[] }> {
  const cluster = await startRedisCluster({
    masters: 3,
    replicas: 1,
    nodeTimeoutMs: DEFAULT_NODE_TIMEOUT_MS,
    requireFullCoverage,
  });
  try {
    const ranges = await cluster.ranges();
    const masterOf = (key: string) => {
      const slot = core.hashSlot(key);
      return ranges.find((r) => r.from <= slot && slot <= r.to)?.master ?? -1;
    };
    const keys = core.makeKeys(prefix);
    const typeMasters = new Map<string, number>();
    for (let i = 0; i < 200; i++) typeMasters.set(`t${i}`, masterOf(keys.type(`t${i}`).pending));
    return { cluster, types: pick(typeMasters, masterOf(keys.control), masterOf) };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** Two types on two different masters, neither the control plane's. */
function apartFromControl(typeMasters: Map<string, number>, control: number): string[] {
  const out: string[] = [];
  const used = new Set([control]);
  for (const [t, m] of typeMasters) {
    if (used.has(m)) continue;
    used.add(m);
    out.push(t);
  }
  return out.slice(0, 2);
}

/** Kills the master serving `key`'s slot (and its replicas when `replicasToo`); waits for the cluster to serve it again. */
async function killMasterOf(
  cluster: RedisCluster,
  stack: Stack,
  key: string,
  what: string,
  replicasToo = false,
): Promise<string> {
  const slot = stack.opts.code.core.hashSlot(key);
  const master: RedisServer = await cluster.masterOf(slot);
  const replicas = replicasToo ? await cluster.replicasOf(slot) : [];
  const t0 = Date.now();
  await Promise.all([master.kill("SIGKILL"), ...replicas.map((r) => r.kill("SIGKILL"))]);
  if (replicasToo) return `master ${master.port} (${what}) and its replica killed: slot ${slot} gone`;
  await cluster.waitForFailover(slot, master.port, 120_000);
  return `master ${master.port} (${what}) killed, replica promoted in ${((Date.now() - t0) / 1000).toFixed(1)} s (node timeout ${DEFAULT_NODE_TIMEOUT_MS / 1000} s)`;
}

/** Shards of the type of the `shard` scenario: one per master. */
const SHARDS = 3;

function clusterScenario(
  name: string,
  title: string,
  target: "type" | "control" | "slot" | "shard",
): Scenario<FailoverParams> {
  let core: ScenarioContext["code"]["core"] | undefined;
  const base = failoverScenario(
    name,
    title,
    async (prefix) => {
      if (!core) throw new Error("the code under test is not loaded");
      const c = core;
      const keys = c.makeKeys(prefix);
      const shardKey = (t: string, i: number) => keys.type(c.shardQueue(t, i)).pending;
      // shard: one type whose shards are served by the three masters
      const spread = (_m: Map<string, number>, _c: number, masterOf: (key: string) => number) => {
        const t = [...Array(200).keys()]
          .map((i) => `t${i}`)
          .find((n) => new Set([0, 1, 2].map((i) => masterOf(shardKey(n, i)))).size === SHARDS);
        return t ? [t] : [];
      };
      const { cluster, types } = await clusterWith(
        prefix,
        c,
        target === "shard" ? spread : apartFromControl,
        target !== "slot",
      );
      const victim = types[0] as string;
      if (target === "shard" && !victim)
        throw new Error(`no type of 200 has its ${SHARDS} shards on ${SHARDS} masters`);
      return {
        redis: { url: cluster.url, stop: () => cluster.stop() },
        types,
        ...(target === "slot" ? { lost: [victim] } : {}),
        ...(target === "shard" ? { typeOptions: { shards: SHARDS } } : {}),
        async fault(stack) {
          if (target === "control") return killMasterOf(cluster, stack, stack.keys.control, "the control plane");
          if (target === "shard") {
            // the master of a shard other than 0 that does not serve the control plane too
            const control = (await cluster.masterOf(c.hashSlot(stack.keys.control))).port;
            for (const i of [1, 2]) {
              const key = shardKey(victim, i);
              if ((await cluster.masterOf(c.hashSlot(key))).port !== control) {
                return killMasterOf(cluster, stack, key, `shard ${i} of ${victim}`);
              }
            }
          }
          return killMasterOf(cluster, stack, stack.keys.type(victim).pending, `type ${victim}`, target === "slot");
        },
      };
    },
    // the control plane's master serves every type's starts: each type's progress counts
    (types) => (target === "control" ? types : types.slice(0, 1)),
  );
  return {
    ...base,
    run(ctx, p) {
      core = ctx.code.core;
      return base.run(ctx, p);
    },
  };
}

export const clusterType = clusterScenario(
  "cluster-type",
  "Cluster (3 masters, 3 replicas, node timeout 15 s): kill -9 of a busy type's master",
  "type",
);
export const clusterControl = clusterScenario(
  "cluster-control",
  "Cluster (node timeout 15 s): kill -9 of the control plane's master",
  "control",
);
export const clusterSharded = clusterScenario(
  "cluster-sharded",
  `Cluster (node timeout 15 s): one type over ${SHARDS} shards on ${SHARDS} masters, kill -9 of a shard's master`,
  "shard",
);
export const clusterSlotLost = clusterScenario(
  "cluster-slot-lost",
  "Cluster (full coverage not required): a type's master and its replica killed; the other type must finish",
  "slot",
);
