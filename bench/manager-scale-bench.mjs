#!/usr/bin/env node
// Manager at scale: tick time as job types and hosts grow, every type busy
// (a backlog), simulated hosts (heartbeats only, 16 slots each). Per
// configuration: tick p50/p95/max over --ticks ticks after the first (which
// loads the scripts and dispatches the first workers), Redis commands per
// tick (INFO commandstats deltas, script calls and the commands scripts ran
// counted apart), the CPU time of the manager (this process, during the
// tick) and of Redis (INFO used_cpu_*) per tick: on a shared machine the
// tick's wall time waits for CPU, these do not, so they compare builds
// fairly; Redis used_memory and the manager's heap after the ticks.
// Each configuration runs --runs times on a fresh keyspace; the median run
// (by p95) is printed, with the p95 of every run beside it.
// Usage: node bench/manager-scale-bench.mjs [--configs 100x10,1000x100,...] [--runs 3] [--ticks 30]
import {
  BatchQueue,
  connectRedis,
  createLogger,
  HostRegistry,
  makeKeys,
  parseConfig,
  RedisWorkerHistory,
  RedisWorkerList,
  VERSION,
} from "../packages/core/dist/index.js";
import { createAllocator, Dispatcher, Manager, Refiller } from "../packages/manager/dist/index.js";
import { benchRedis, usedMemory } from "./redis.mjs";

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
  return v;
}

function count(name, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1, got "${text}"`);
  return n;
}

const CONFIGS = arg("configs", "100x10,1000x100,3000x300,10000x1000")
  .split(",")
  .map((c) => {
    const m = /^(\d+)x(\d+)$/.exec(c.trim());
    if (!m) throw new Error(`--configs: "${c}" is not TYPESxHOSTS (e.g. 1000x100)`);
    return { types: count("configs", m[1]), hosts: count("configs", m[2]) };
  });
const RUNS = count("runs", arg("runs", "3"));
const TICKS = count("ticks", arg("ticks", "30"));
const STEPS = process.env.BENCH_STEPS === "1";

const log = createLogger("bench", { level: "silent" });
const redis = await benchRedis();
const noop = async () => {};

/** commandstats as name -> calls, and the server's CPU time so far (ms, user + system). */
async function commandCalls(client) {
  const out = new Map();
  const text = await client.info("all");
  for (const line of text.split("\n")) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out.set(m[1], Number(m[2]));
  }
  const cpu = (name) => Number(new RegExp(`^${name}:([0-9.]+)`, "m").exec(text)?.[1] ?? 0);
  out.cpuMs = (cpu("used_cpu_user") + cpu("used_cpu_sys")) * 1000;
  return out;
}

const SCRIPT_CALLS = new Set(["evalsha", "eval", "evalsha_ro", "eval_ro", "fcall"]);

/** Commands between two commandstats readings: script calls, other commands sent, commands scripts ran. */
function commandDelta(before, after) {
  let scripts = 0;
  let direct = 0;
  for (const [name, calls] of after) {
    if (name === "info") continue;
    const d = calls - (before.get(name) ?? 0);
    if (SCRIPT_CALLS.has(name)) scripts += d;
    else direct += d;
  }
  return { scripts, direct, cpuMs: after.cpuMs - before.cpuMs };
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/**
 * The manager's tick: 1 s, 5 s from 5,000 types (a tick there takes about a
 * second on a shared 2-core machine; a per-type read that does not answer
 * within max(1 s, tickMs) skips its type for the tick, tick/per-type.ts).
 */
function tickMsFor(types) {
  return types >= 5000 ? 5000 : 1000;
}

async function oneRun(types, hosts) {
  const prefix = "ms";
  const config = parseConfig({
    prefix,
    jobTypes: Array.from({ length: types }, (_, i) => ({
      name: `type-${i}`,
      chunkSize: 100,
      cooldownSeconds: 0,
      parallel: { high: 1, medium: 2, low: 4 },
      launcher: { kind: "inline", job: noop },
    })),
    manager: { tickMs: tickMsFor(types) },
  });
  const client = connectRedis(redis.url, { daemon: true });
  const stats = connectRedis(redis.url);
  await client.flushall();
  await client.config("RESETSTAT");
  const keys = makeKeys(prefix);
  const queue = new BatchQueue({ redis: client, prefix, jobTypes: config.jobTypes });
  const registry = new HostRegistry(client, keys);
  const hostInfo = (i) => ({
    id: `sim-${i}`,
    hostname: `sim-${i}`,
    pid: i,
    slots: 16,
    running: {},
    jobTypes: null,
    version: VERSION,
    load: { loadAvg: 0.1 + (i % 10) / 100, cpu: 0.1, freeMemBytes: 8e9, totalMemBytes: 16e9 },
    startedAt: new Date().toISOString(),
    draining: false,
  });
  for (let t = 0; t < types; t += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, types - t) }, (_, k) =>
        queue.enqueue(
          `type-${t + k}`,
          Array.from({ length: 20 }, (_, i) => ({ payload: { i } })),
        ),
      ),
    );
  }
  const dispatcher = new Dispatcher(client, keys, "bench");
  const readerClient = connectRedis(redis.url, { daemon: true, autoPipelining: true });
  const reader = new BatchQueue({ redis: readerClient, prefix });
  const manager = new Manager({
    client,
    reader,
    keys,
    queue,
    registry,
    dispatcher,
    config,
    log,
    list: new RedisWorkerList(client, keys),
    history: new RedisWorkerHistory(client, keys),
    allocator: createAllocator("least-load"),
    refiller: new Refiller(queue, process.cwd(), log),
  });
  const beat = () => Promise.all(Array.from({ length: hosts }, (_, i) => registry.beat(hostInfo(i))));
  await beat();
  // the first tick loads the scripts and dispatches a worker to every slot (16 per host): timed apart;
  // a type it could not reserve for within the per-type deadline is skipped until its answer is in
  const first = await manager.tick();
  if (first.failed.length) throw new Error(`first tick: ${JSON.stringify(first.failed)}`);
  let warmup = 0;
  for (let r = first; r.skipped.length > 0; warmup++) {
    if (warmup === 20) throw new Error(`types still skipped after 20 ticks: ${JSON.stringify(r.skipped.slice(0, 3))}`);
    await beat();
    r = await manager.tick();
  }
  const times = [];
  const scripts = [];
  const direct = [];
  const cpu = [];
  const mine = [];
  for (let n = 0; n < TICKS; n++) {
    await beat();
    const before = await commandCalls(stats);
    const cpu0 = process.cpuUsage();
    const r = await manager.tick();
    const own = process.cpuUsage(cpu0);
    const after = await commandCalls(stats);
    if (r.failed.length || r.skipped.length) {
      const some = JSON.stringify({ failed: r.failed, skipped: r.skipped.slice(0, 3) });
      throw new Error(`tick ${n}: ${r.failed.length} steps failed, ${r.skipped.length} types skipped: ${some}`);
    }
    const d = commandDelta(before, after);
    times.push(r.durationMs);
    scripts.push(d.scripts);
    direct.push(d.direct);
    cpu.push(d.cpuMs);
    mine.push((own.user + own.system) / 1000);
    if (STEPS)
      console.error(
        `${types}x${hosts}`,
        n,
        r.durationMs.toFixed(1),
        d,
        JSON.stringify(Object.fromEntries(Object.entries(r.stepsMs).map(([k, v]) => [k, +v.toFixed(1)]))),
      );
  }
  const redisBytes = await usedMemory(stats);
  globalThis.gc?.();
  const heap = process.memoryUsage().heapUsed;
  await dispatcher.close();
  await client.flushall();
  await client.quit();
  await stats.quit();
  await readerClient.quit();
  times.sort((a, b) => a - b);
  scripts.sort((a, b) => a - b);
  direct.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  mine.sort((a, b) => a - b);
  return {
    p50: pct(times, 0.5),
    p95: pct(times, 0.95),
    max: times.at(-1),
    scripts: pct(scripts, 0.5),
    direct: pct(direct, 0.5),
    cpuMs: pct(cpu, 0.5),
    managerCpuMs: pct(mine, 0.5),
    redisBytes,
    heap,
    firstMs: first.durationMs,
    started: first.started,
    firstSkipped: first.skipped.length,
    warmup,
  };
}

const mb = (b) => `${(b / 1024 / 1024).toFixed(0)} MB`;
const rows = [];
for (const { types, hosts } of CONFIGS) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    runs.push(await oneRun(types, hosts));
    console.error(`${types} types × ${hosts} hosts, run ${i + 1}: p95 ${runs.at(-1).p95.toFixed(1)} ms`);
  }
  const byP95 = [...runs].sort((a, b) => a.p95 - b.p95);
  rows.push({ types, hosts, median: byP95[Math.floor((byP95.length - 1) / 2)], all: runs });
}
await redis.stop();

console.log(
  `\nManager tick, every type busy, ${TICKS} ticks per run after the first, median of ${RUNS} runs (by p95)\n`,
);
console.log(
  "| types × hosts (tickMs) | tick p50 | tick p95 | tick max | p95 of each run | script calls / tick | commands / tick (scripts' own included) | manager CPU / tick | Redis CPU / tick | Redis used_memory | manager heap | first tick (workers dispatched, types skipped) |",
);
console.log("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
for (const { types, hosts, median: m, all } of rows) {
  console.log(
    `| ${types.toLocaleString("en-US")} × ${hosts.toLocaleString("en-US")} (${tickMsFor(types)}) | ${m.p50.toFixed(1)} ms | ${m.p95.toFixed(1)} ms | ${m.max.toFixed(1)} ms | ${all.map((r) => r.p95.toFixed(1)).join(" / ")} | ${m.scripts} | ${m.direct} | ${m.managerCpuMs.toFixed(1)} ms | ${m.cpuMs.toFixed(1)} ms | ${mb(m.redisBytes)} | ${mb(m.heap)} | ${m.firstMs.toFixed(0)} ms (${m.started.toLocaleString("en-US")}, ${m.firstSkipped.toLocaleString("en-US")}) |`,
  );
}
