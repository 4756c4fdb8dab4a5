#!/usr/bin/env node
// The poison-mix job for the spawn launcher: reads the chunk
// {"chunkId","jobType","items":[{"id","payload","attempts"}]} on stdin; for each
// item prints {"running":id}, then either does it (recorded in the sink, then
// {"id","ok":true}) or, for payload.poison "exit", exits 1 with the item named on stderr.
// It exits when its worker daemon dies (a spawned job runs in its own process group).
import { chunkEnded, chunkStarted, closeSink, itemDone, pause } from "./sink.mjs";

const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid !== parent) process.exit(3);
}, 250);

let text = "";
process.stdin.setEncoding("utf8");
for await (const part of process.stdin) text += part;
const chunk = JSON.parse(text);
const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

await chunkStarted(
  chunk.chunkId,
  chunk.items.map((i) => i.id),
);
for (const item of chunk.items) {
  say({ running: item.id });
  const p = item.payload ?? {};
  if (p.poison === "exit") {
    await chunkEnded(chunk.chunkId);
    process.stderr.write(`poison exit ${item.id}\n`);
    process.exit(1);
  }
  await pause(p.ms ?? 0);
  await itemDone(item.id);
  say({ id: item.id, ok: true });
}
await chunkEnded(chunk.chunkId);
await closeSink();
clearInterval(watch);
