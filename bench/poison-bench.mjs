#!/usr/bin/env node
// Poison isolation benchmark: how many extra runs one poison item costs its
// healthy neighbours, with the worker's real attribution (outcome.js) on the
// real settle script, next to Spring Batch's fault-tolerant chunk (on a
// failure it rescans the chunk one item at a time: chunkSize extra runs).
// The job runs a chunk's items in order and reports results only at the end,
// so a crash at the poison item loses every result of the run. Per chunk
// size, averaged over poison positions spread through the chunk:
//   1. extra chunk runs after the failing one (bisection; scan: chunkSize),
//   2. healthy items executed again (bisection; scan),
//   3. the same when the job reports as it goes (ctx.begin(id), ctx.report): the culprit is known.
// Usage: node bench/poison-bench.mjs [--json]
import { Redis } from "ioredis";
import { BatchQueue } from "../packages/core/dist/index.js";
import { settlementOf } from "../packages/worker/dist/outcome.js";
import { benchRedis } from "./redis.mjs";

const asJson = process.argv.includes("--json");
const redis = await benchRedis();
const admin = new Redis(redis.url);
const policy = { maxAttempts: 1, maxReturns: 5, backoff: { type: "fixed", delayMs: 0, maxDelayMs: 0 } };

/** Runs one chunk of `size` items holding one poison item at `at` until every item is settled. */
async function isolate(size, at, begin) {
  await admin.flushall();
  const q = new BatchQueue({ redis: redis.url, defaultSettings: policy });
  const items = Array.from({ length: size }, (_, i) => ({ id: `i${i}`, payload: i }));
  await q.enqueue("t", items);
  const poison = `i${at}`;
  const executed = new Map();
  let runs = 0;
  for (;;) {
    const batch = await q.acquire("t", { max: size });
    if (batch.size === 0) break;
    runs++;
    // the job runs its items in order; at the poison item the process dies
    const results = new Map();
    let running;
    let crashed = false;
    for (const item of batch.items) {
      executed.set(item.id, (executed.get(item.id) ?? 0) + 1);
      if (begin) running = item.id;
      if (item.id === poison) {
        crashed = true;
        break;
      }
      if (begin) {
        results.set(item.id, { ok: true });
        running = undefined;
      }
    }
    const report = crashed
      ? {
          results,
          unreported: { ok: false, error: "child exited with code 1", retry: true },
          fatal: { reason: "crashed", error: "child exited with code 1" },
          peakMemoryBytes: null,
          ...(running ? { running } : {}),
        }
      : { results: new Map(), unreported: { ok: true }, peakMemoryBytes: null };
    await q.settle("t", batch.id, settlementOf(batch, report, { giveBackUnreported: false }));
  }
  const counts = await q.counts("t");
  if (counts.acked !== size - 1 || counts.dead !== 1) throw new Error(`unexpected end: ${JSON.stringify(counts)}`);
  let again = 0;
  for (const [id, n] of executed) if (id !== poison) again += n - 1;
  await q.close();
  return { extraRuns: runs - 1, again };
}

const rows = [];
for (const size of [10, 50, 100, 1000]) {
  const positions = [0, Math.floor(size / 4), Math.floor(size / 2), Math.floor((3 * size) / 4), size - 1];
  const sum = { extraRuns: 0, again: 0, beginRuns: 0, beginAgain: 0 };
  for (const at of positions) {
    const b = await isolate(size, at, false);
    const p = await isolate(size, at, true);
    sum.extraRuns += b.extraRuns;
    sum.again += b.again;
    sum.beginRuns += p.extraRuns;
    sum.beginAgain += p.again;
  }
  const n = positions.length;
  // Spring Batch's scan: chunkSize runs of one item; the items before the poison ran twice
  const scanAgain = positions.reduce((s, at) => s + at, 0) / n;
  rows.push({
    chunkSize: size,
    bisectRuns: sum.extraRuns / n,
    target: 2 * Math.log2(size),
    scanRuns: size,
    bisectAgain: sum.again / n,
    scanAgain,
    beginRuns: sum.beginRuns / n,
    beginAgain: sum.beginAgain / n,
  });
}
await admin.quit();
await redis.stop();

if (asJson) console.log(JSON.stringify(rows, null, 2));
else {
  const f = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  console.log(
    "| chunk | extra runs, bisection | target 2·log2(chunk) | extra runs, scan | healthy re-executed, bisection | healthy re-executed, scan | extra runs, job reports as it goes | re-executed, job reports as it goes |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(
      `| ${r.chunkSize} | ${f(r.bisectRuns)} | ${f(r.target)} | ${r.scanRuns} | ${f(r.bisectAgain)} | ${f(r.scanAgain)} | ${f(r.beginRuns)} | ${f(r.beginAgain)} |`,
    );
  }
}
