#!/usr/bin/env node
// Manager benchmark. Prints a markdown table of
//   1. manager tick time with 1,000 job types and 100 simulated hosts
//      (mean, p95, max over 30 ticks; 100 of the types have a backlog, then all 1,000)
//   2. time from a queue crossing minQueueEntries to its target workers
//      running, in ticks (a real worker daemon in this process)
// Usage: node bench/manager-bench.mjs
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
import { createAllocator, Dispatcher, Manager, Refiller, startManager } from "../packages/manager/dist/index.js";
import { startWorker } from "../packages/worker/dist/index.js";
import { benchRedis } from "./redis.mjs";

const log = createLogger("bench", { level: "silent" });
const redis = await benchRedis();
const noop = async () => {};

async function tickTime(busyTypes) {
  const TYPES = 1000;
  const HOSTS = 100;
  const config = parseConfig({
    prefix: "mb",
    jobTypes: Array.from({ length: TYPES }, (_, i) => ({
      name: `type-${i}`,
      chunkSize: 100,
      cooldownSeconds: 0,
      parallel: { high: 1, medium: 2, low: 4 },
      launcher: { kind: "inline", job: noop },
    })),
    manager: { tickMs: 1000 },
  });
  const client = connectRedis(redis.url, { daemon: true });
  const keys = makeKeys("mb");
  const queue = new BatchQueue({ redis: client, prefix: "mb", jobTypes: config.jobTypes });
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
  const every = TYPES / busyTypes;
  for (let t = 0; t < busyTypes; t++) {
    await queue.enqueue(
      `type-${t * every}`,
      Array.from({ length: 1000 }, (_, i) => ({ payload: { i } })),
    );
  }
  const dispatcher = new Dispatcher(client, keys, "bench");
  const readerClient = connectRedis(redis.url, { daemon: true, autoPipelining: true });
  const reader = new BatchQueue({ redis: readerClient, prefix: "mb" });
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
  const times = [];
  let started = 0;
  for (let n = 0; n < 31; n++) {
    await Promise.all(Array.from({ length: HOSTS }, (_, i) => registry.beat(hostInfo(i))));
    const r = await manager.tick();
    if (r.failed.length) throw new Error(JSON.stringify(r.failed));
    started += r.started;
    if (n > 0) times.push(r.durationMs); // the first tick loads scripts
    if (process.env.BENCH_STEPS)
      console.error(
        n,
        r.started,
        r.durationMs.toFixed(1),
        JSON.stringify(Object.fromEntries(Object.entries(r.stepsMs).map(([k, v]) => [k, +v.toFixed(1)]))),
      );
  }
  await dispatcher.close();
  await client.flushall();
  await client.quit();
  await readerClient.quit();
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return { mean, p95: times[Math.floor(times.length * 0.95)], max: times.at(-1), started };
}

async function timeToTarget() {
  const tickMs = 250;
  const config = parseConfig({
    prefix: "tt",
    jobTypes: [
      {
        name: "burst",
        chunkSize: 10,
        cooldownSeconds: 0,
        minQueueEntries: 100,
        parallel: { high: 4, medium: 4, low: 4 },
        launcher: {
          kind: "inline",
          job: async (batch) => {
            await new Promise((r) => setTimeout(r, 20 * batch.size));
          },
        },
      },
    ],
    worker: { heartbeatMs: 200, slots: 8 },
    manager: { tickMs, leaderLeaseMs: 3000 },
  });
  const worker = await startWorker({ config, redisUrl: redis.url, logger: log });
  const manager = await startManager({ config, redisUrl: redis.url, logger: log });
  const client = connectRedis(redis.url);
  const queue = new BatchQueue({ redis: client, prefix: "tt" });
  const list = new RedisWorkerList(client, makeKeys("tt"));
  const runs = [];
  for (let rep = 0; rep < 5; rep++) {
    await queue.enqueue(
      "burst",
      Array.from({ length: 99 }, () => ({ payload: {} })),
    );
    await new Promise((r) => setTimeout(r, tickMs * 2 + rep * 37)); // let ticks see 99 < 100, at varying phase
    if ((await list.list()).length !== 0) throw new Error("a worker started below minQueueEntries");
    const t0 = performance.now();
    await queue.enqueue("burst", [{ payload: {} }]);
    while ((await list.list()).length < 4) await new Promise((r) => setTimeout(r, 2));
    runs.push(performance.now() - t0);
    while ((await queue.counts("burst")).total > 0 || (await list.list()).length > 0)
      await new Promise((r) => setTimeout(r, 20));
  }
  await manager.stop();
  await worker.stop();
  await client.flushall();
  await client.quit();
  return { tickMs, runs };
}

const tick = await tickTime(100);
const tickAll = await tickTime(1000);
const ttt = await timeToTarget();
await redis.stop();
const worst = Math.max(...ttt.runs);
console.log("\n| measure | result | target |");
console.log("|---|---:|---:|");
for (const [t, busy] of [
  [tick, 100],
  [tickAll, 1000],
]) {
  console.log(
    `| manager tick, 1,000 job types (${busy} with a backlog), 100 hosts (mean / p95 / max of 30) | ${t.mean.toFixed(1)} / ${t.p95.toFixed(1)} / ${t.max.toFixed(1)} ms | ≤ 50 ms |`,
  );
}
console.log(
  `| queue crossing minQueueEntries → 4 target workers running (worst of 5, tick ${ttt.tickMs} ms) | ${worst.toFixed(0)} ms = ${(worst / ttt.tickMs).toFixed(2)} ticks | ≤ 2 ticks |`,
);
console.log(
  `\n(${tick.started} and ${tickAll.started} workers dispatched during the tick runs; crossing runs: ${ttt.runs.map((r) => r.toFixed(0)).join(", ")} ms)`,
);
