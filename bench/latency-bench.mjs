#!/usr/bin/env node
// Latency benchmark (#12): how long from enqueue to the job starting, batchjob
// and BullMQ 6.7 side by side on the same Redis in the same run. Prints three
// markdown tables:
//   1. a lingering worker (one worker daemon in this process, one worker
//      dispatched as the manager does, idleMs long enough to linger through
//      the run) against a BullMQ Worker: single items, one at a time, each
//      enqueued a few ms after the previous one started (the worker is then
//      blocked on Redis again), and bursts of 10 items added in one call
//      (enqueue of 10 / addBulk of 10); p50/p95/p99/max of enqueue→start;
//   2. the same, prefetch off, for the share prefetch has in it;
//   3. no worker alive: a manager (default tickMs 1000, default cooldown 5 s)
//      and a worker daemon; each round waits until the worker left, then
//      enqueues one item at a random point of the tick: time to the job start.
// Start = the moment the job function is called (batchjob: the chunk's job,
// for every item of the chunk; BullMQ: the processor). Both clocks are this
// process's performance.now(); the enqueue time is taken before the call.
// Usage: node bench/latency-bench.mjs [--singles N] [--bursts N] [--cold N]
import { Queue, Worker } from "bullmq";
import { BatchQueue, connectRedis, createLogger, makeKeys, newId, parseConfig } from "../packages/core/dist/index.js";
import { Dispatcher, startManager } from "../packages/manager/dist/index.js";
import { startWorker } from "../packages/worker/dist/index.js";
import { benchRedis } from "./redis.mjs";

const args = process.argv.slice(2);
const arg = (name, d) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
const SINGLES = arg("--singles", 500);
const BURSTS = arg("--bursts", 100);
const BURST = 10;
const COLD = arg("--cold", 12);
const log = createLogger("bench", { level: "silent" });
const redis = await benchRedis();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A pause of 2–6 ms between two enqueues: the worker is back waiting on Redis when the next comes. */
const gap = () => sleep(2 + Math.random() * 4);

/** Start times of the items by their key, and waiters for them. */
function starts() {
  const at = new Map();
  const waiting = new Map();
  return {
    started(key) {
      const t = performance.now();
      at.set(key, t);
      waiting.get(key)?.(t);
      waiting.delete(key);
    },
    when(key) {
      if (at.has(key)) return Promise.resolve(at.get(key));
      return new Promise((r) => waiting.set(key, r));
    },
  };
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(ms) {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p95: pct(s, 95), p99: pct(s, 99), max: s[s.length - 1] };
}

/** Runs the pattern against `add(keys)` (enqueue or addBulk) and the start times the job records. */
async function pattern(add, st, tag) {
  const single = [];
  for (let i = 0; i < SINGLES; i++) {
    const key = `${tag}s${i}`;
    const t0 = performance.now();
    await add([key]);
    single.push((await st.when(key)) - t0);
    await gap();
  }
  const burst = [];
  for (let b = 0; b < BURSTS; b++) {
    const keys = Array.from({ length: BURST }, (_, i) => `${tag}b${b}.${i}`);
    const t0 = performance.now();
    await add(keys);
    for (const k of keys) burst.push((await st.when(k)) - t0);
    await gap();
  }
  return { single: summary(single), burst: summary(burst) };
}

async function batchjobLingering(prefetch) {
  const prefix = `lat${prefetch}`;
  const st = starts();
  const config = parseConfig({
    prefix,
    jobTypes: [
      {
        name: "lat",
        chunkSize: 100,
        idleMs: 600_000,
        prefetch,
        launcher: {
          kind: "inline",
          job: (batch) => {
            for (const item of batch.items) st.started(item.payload.k);
          },
        },
      },
    ],
    worker: { slots: 1, heartbeatMs: 1000 },
  });
  const client = connectRedis(redis.url, { daemon: true });
  await client.flushall();
  const queue = new BatchQueue({ redis: client, prefix });
  const daemon = await startWorker({ config, redisUrl: redis.url, logger: log, slots: 1 });
  const dispatcher = new Dispatcher(client, makeKeys(prefix), "bench");
  const reservationId = newId();
  await queue.reserve("lat", [reservationId]);
  await dispatcher.dispatch(daemon.hostId, { jobType: "lat", reservationId });
  // warm-up: the worker runs, then lingers
  await queue.enqueue("lat", [{ payload: { k: "warm" } }]);
  await st.when("warm");
  await sleep(50);
  const r = await pattern(
    (keys) =>
      queue.enqueue(
        "lat",
        keys.map((k) => ({ payload: { k } })),
      ),
    st,
    "bj",
  );
  await daemon.stop();
  await dispatcher.close();
  await client.quit();
  return r;
}

async function bullmq() {
  const st = starts();
  const connection = { url: redis.url };
  const q = new Queue("lat", { connection, prefix: "bull" });
  const w = new Worker(
    "lat",
    async (job) => {
      st.started(job.data.k);
    },
    { connection, prefix: "bull", concurrency: 50 },
  );
  await w.waitUntilReady();
  await q.add("j", { k: "warm" }, { removeOnComplete: true });
  await st.when("warm");
  await sleep(50);
  const r = await pattern(
    (keys) =>
      keys.length === 1
        ? q.add("j", { k: keys[0] }, { removeOnComplete: true })
        : q.addBulk(keys.map((k) => ({ name: "j", data: { k }, opts: { removeOnComplete: true } }))),
    st,
    "bull",
  );
  await w.close();
  await q.close();
  return r;
}

/** No worker alive: enqueue → job start through a manager tick and a dispatch (defaults: tickMs 1000, cooldown 5 s). */
async function cold() {
  const prefix = "cold";
  const st = starts();
  const config = parseConfig({
    prefix,
    jobTypes: [
      {
        name: "cold",
        idleMs: 0,
        launcher: {
          kind: "inline",
          job: (batch) => {
            for (const item of batch.items) st.started(item.payload.k);
          },
        },
      },
    ],
    worker: { slots: 1, heartbeatMs: 500 },
  });
  const client = connectRedis(redis.url, { daemon: true });
  await client.flushall();
  const queue = new BatchQueue({ redis: client, prefix });
  const keys = makeKeys(prefix);
  const daemon = await startWorker({ config, redisUrl: redis.url, logger: log, slots: 1 });
  const manager = await startManager({ config, redisUrl: redis.url, logger: log });
  const out = [];
  for (let i = 0; i < COLD; i++) {
    // no worker listed: the last one left
    while ((await client.hlen(keys.workers)) > 0) await sleep(5);
    await sleep(Math.random() * config.manager.tickMs);
    const t0 = performance.now();
    await queue.enqueue("cold", [{ payload: { k: `c${i}` } }]);
    out.push((await st.when(`c${i}`)) - t0);
  }
  await manager.stop();
  await daemon.stop();
  await client.quit();
  return { ...summary(out), tickMs: config.manager.tickMs, cooldownSeconds: config.jobTypes[0].cooldownSeconds };
}

const f = (ms) => `${ms.toFixed(2)} ms`;
const rows = [];
const bull = await bullmq();
const on = await batchjobLingering("auto");
const off = await batchjobLingering(false);
const coldRun = await cold();
await redis.stop();

console.log(
  `\nenqueue → job start, ${SINGLES} single items (one at a time) and ${BURSTS} bursts of ${BURST} (one call each)\n`,
);
console.log("| pattern | measure | batchjob, lingering worker | BullMQ 6.7 Worker | ratio |");
console.log("|---|---|---:|---:|---:|");
for (const [name, key] of [
  ["single items", "single"],
  [`bursts of ${BURST}`, "burst"],
]) {
  for (const p of ["p50", "p95", "p99", "max"]) {
    rows.push([name, p, on[key][p], bull[key][p]]);
    console.log(
      `| ${name} | ${p} | ${f(on[key][p])} | ${f(bull[key][p])} | ${(on[key][p] / bull[key][p]).toFixed(2)}× |`,
    );
  }
}
console.log("\nthe same with prefetch off (the lingering worker)\n");
console.log("| pattern | p50 | p95 | p99 | max |");
console.log("|---|---:|---:|---:|---:|");
for (const [name, key] of [
  ["single items", "single"],
  [`bursts of ${BURST}`, "burst"],
]) {
  const s = off[key];
  console.log(`| ${name} | ${f(s.p50)} | ${f(s.p95)} | ${f(s.p99)} | ${f(s.max)} |`);
}
console.log(
  `\nno worker alive: first enqueue → job start through the manager (tickMs ${coldRun.tickMs}, cooldownSeconds ${coldRun.cooldownSeconds}), ${coldRun.n} rounds\n`,
);
console.log("| p50 | p95 | max | bound: 1 tick + 50 ms |");
console.log("|---:|---:|---:|---:|");
console.log(`| ${f(coldRun.p50)} | ${f(coldRun.p95)} | ${f(coldRun.max)} | ${f(coldRun.tickMs + 50)} |`);
