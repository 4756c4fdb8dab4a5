#!/usr/bin/env node
// Shards benchmark (#12): where one busy job type's load lands on a Redis
// Cluster of 3 masters (the test suite's: test/harness startRedisCluster, no
// replicas, persistence off), with `shards: 1` and with `shards: 3`, side by side.
//   1. start the cluster; pick a type name whose 3 shards' hash tags are
//      served by 3 different masters (as most names of 3 shards are: slots
//      are spread evenly, so by chance 2 in 9 names put all 3 shards on 3
//      masters and most of the rest on 2);
//   2. per run: enqueue N items (100-byte payloads, calls of 1,000), then C
//      consumers drain them through acquire + settle (each settle acks its
//      chunk whole and takes the next, one round trip), as worker daemons do;
//   3. per master: the script calls (EVALSHA, from INFO commandstats) and the
//      CPU (INFO cpu) of the drain, and the drain's items/s;
//   4. print one markdown table per run (--json: the rows as JSON).
// The consumers run in this one Node process, on the same machine as the
// three redis-servers: the table shows where Redis's work goes, not what a
// cluster of separate machines would reach (docs/scaling.md says that).
// Usage: node bench/shards-bench.mjs [--items N] [--chunk K] [--consumers C] [--json]
import { BatchQueue, connectRedis, hashSlot, makeKeys, shardQueue } from "../packages/core/dist/index.js";
import { registerTsx } from "../scripts/tsx-register.mjs";
import { fmt } from "./redis.mjs";

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} takes a whole number ≥ 1, got ${args[i + 1]}`);
  return v;
};
const N = arg("--items", 200_000);
const CHUNK = arg("--chunk", 100);
const CONSUMERS = arg("--consumers", 6);
const asJson = args.includes("--json");
const PAYLOAD = { user: 12345, action: "resize", file: "x".repeat(100 - 42) };
const PREFIX = "shb";

await registerTsx();
const { startRedisCluster } = await import("../test/harness/redis-server.ts");
const cluster = await startRedisCluster({ masters: 3 });
const client = connectRedis(cluster.url);

/** The master port serving each slot range now. */
async function masterOfSlot(slot) {
  return (await cluster.masterOf(slot)).port;
}

/** Per master port: EVALSHA calls and CPU seconds so far. */
async function readMasters() {
  const out = new Map();
  for (const node of client.nodes("master")) {
    const stats = await node.info("commandstats");
    const cpu = await node.info("cpu");
    const field = (name) => Number(new RegExp(`^${name}:([0-9.]+)`, "m").exec(cpu)?.[1] ?? 0);
    out.set(node.options.port, {
      scripts: Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0),
      cpu: field("used_cpu_user") + field("used_cpu_sys"),
    });
  }
  return out;
}

/** A type name whose 3 shards are served by 3 different masters. */
async function spreadName() {
  const keys = makeKeys(PREFIX);
  for (let i = 0; i < 500; i++) {
    const name = `hot${i}`;
    const ports = new Set();
    for (let s = 0; s < 3; s++) ports.add(await masterOfSlot(hashSlot(keys.type(shardQueue(name, s)).pending)));
    if (ports.size === 3) return name;
  }
  throw new Error("no type name of 500 puts its 3 shards on 3 masters");
}

/** Enqueues N items to `name` spread over `shards`, drains them with CONSUMERS loops; the drain's figures per master. */
async function run(name, shards) {
  const queue = new BatchQueue({ redis: client, prefix: PREFIX, jobTypes: [{ name, shards }] });
  const items = Array.from({ length: 1000 }, () => ({ payload: PAYLOAD }));
  for (let i = 0; i < N; i += 1000) await queue.enqueue(name, items.slice(0, Math.min(1000, N - i)));
  const before = await readMasters();
  const t = performance.now();
  let done = 0;
  const consumer = async () => {
    let batch = await queue.acquire(name, { max: CHUNK });
    while (batch.size > 0) {
      done += batch.size;
      const ack = batch.items.map((i) => i.id);
      const r = await queue.settle(batch.queue ?? name, batch.id, { ack, whole: true }, { max: CHUNK });
      if (!r.next) break;
      batch = r.next;
    }
  };
  await Promise.all(Array.from({ length: CONSUMERS }, consumer));
  const seconds = (performance.now() - t) / 1000;
  const after = await readMasters();
  const counts = await queue.counts(name);
  if (done !== N || counts.acked !== N || counts.total !== 0) {
    throw new Error(`shards ${shards}: took ${done}, acked ${counts.acked} of ${N}, ${counts.total} left`);
  }
  await queue.close();
  const masters = [...after].map(([port, a]) => {
    const b = before.get(port);
    return { port, scripts: a.scripts - b.scripts, cpuSeconds: a.cpu - b.cpu };
  });
  return { shards, itemsPerSecond: N / seconds, masters };
}

try {
  const name = await spreadName();
  const rows = [];
  for (const shards of [1, 3]) {
    rows.push(await run(name, shards));
    for (const node of client.nodes("master")) await node.flushall();
  }
  if (asJson) process.stdout.write(`${JSON.stringify({ items: N, chunk: CHUNK, consumers: CONSUMERS, rows })}\n`);
  else {
    const ports = rows[0].masters.map((m) => m.port).sort((a, b) => a - b);
    console.log(`\n${fmt(N)} items, chunk ${CHUNK}, ${CONSUMERS} consumers, type ${name} on 3 masters\n`);
    console.log(`| shards | items/s | ${ports.map((_, i) => `master ${i + 1}: scripts / CPU s`).join(" | ")} |`);
    console.log(`| --- | ---: | ${ports.map(() => "---:").join(" | ")} |`);
    for (const r of rows) {
      const cells = ports.map((p) => {
        const m = r.masters.find((x) => x.port === p);
        return `${fmt(m.scripts)} / ${m.cpuSeconds.toFixed(2)}`;
      });
      console.log(`| ${r.shards} | ${fmt(r.itemsPerSecond)} | ${cells.join(" | ")} |`);
    }
  }
} finally {
  client.disconnect();
  await cluster.stop();
}
