#!/usr/bin/env node
// End-to-end benchmark: one worker daemon (4 workers) draining a queue of
// no-op items through the inline and fork launchers, at chunk 100 and 1000,
// next to BullMQ's Worker (no-op processor, concurrency 50) on the same Redis
// in the same run. Prints a markdown table.
// Usage: node bench/worker-bench.mjs [--items N]
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchQueue, connectRedis, createLogger, makeKeys, newId, parseConfig } from "../packages/core/dist/index.js";
import { Dispatcher } from "../packages/manager/dist/index.js";
import { startWorker } from "../packages/worker/dist/index.js";
import { benchRedis, bullmqProcessingRate, fmt, ratio } from "./redis.mjs";

const args = process.argv.slice(2);
const at = args.indexOf("--items");
const N = at >= 0 ? Number(args[at + 1]) : 100_000;
const WORKERS = 4;
const PAYLOAD = { user: 12345, action: "resize", file: "x".repeat(58) };
const log = createLogger("bench", { level: "silent" });
const redis = await benchRedis();
const dir = mkdtempSync(join(tmpdir(), "bj-bench-"));
writeFileSync(join(dir, "noop.mjs"), "export default function noop() {}\n");

async function bullRate(n) {
  const c = connectRedis(redis.url);
  await c.flushall();
  await c.quit();
  return bullmqProcessingRate(redis.url, n, PAYLOAD);
}

async function batchjobRate(kind, chunkSize, n) {
  const prefix = `wb${kind}${chunkSize}`;
  const launcher =
    kind === "inline" ? { kind, module: "./noop.mjs" } : { kind, module: "./noop.mjs", timeoutMs: 60_000 };
  const config = parseConfig({
    prefix,
    jobTypes: [{ name: "bench", chunkSize, leaseMs: 60_000, launcher }],
    worker: { slots: WORKERS, heartbeatMs: 1000 },
  });
  const client = connectRedis(redis.url, { daemon: true });
  await client.flushall();
  const queue = new BatchQueue({ redis: client, prefix });
  const items = Array.from({ length: n }, () => ({ payload: PAYLOAD }));
  for (let i = 0; i < n; i += 50_000) await queue.enqueue("bench", items.slice(i, i + 50_000));
  const daemon = await startWorker({ config, baseDir: dir, redisUrl: redis.url, logger: log, slots: WORKERS });
  const dispatcher = new Dispatcher(client, makeKeys(prefix), "bench");
  const t = performance.now();
  for (let w = 0; w < WORKERS; w++) {
    // as the manager starts a worker: a reservation, dispatched; the worker acquires its chunks itself
    const reservationId = newId();
    await queue.reserve("bench", [reservationId]);
    await dispatcher.dispatch(daemon.hostId, { jobType: "bench", reservationId });
  }
  while ((await queue.counts("bench")).total > 0) await new Promise((r) => setTimeout(r, 5));
  const s = (performance.now() - t) / 1000;
  const acked = (await queue.counts("bench")).acked;
  if (acked !== n) throw new Error(`acked ${acked} of ${n}`);
  await daemon.stop();
  await dispatcher.close();
  await client.quit();
  return n / s;
}

const bull = await bullRate(Math.min(N, 50_000));
const rows = [];
for (const [kind, chunk] of [
  ["inline", 100],
  ["inline", 1000],
  ["fork", 100],
  ["fork", 1000],
]) {
  const rate = await batchjobRate(kind, chunk, N);
  rows.push([`${kind}, chunk ${chunk}, ${WORKERS} workers on one daemon`, rate]);
}
await redis.stop();
console.log(`\n${fmt(N)} no-op items end to end (enqueued first; time from the first dispatch to the queue empty)\n`);
console.log("| measure | batchjob | BullMQ 6.7 Worker (concurrency 50) | ratio |");
console.log("|---|---:|---:|---:|");
for (const [m, r] of rows) console.log(`| ${m} | ${fmt(r)} items/s | ${fmt(bull)} items/s | ${ratio(r, bull)} |`);
