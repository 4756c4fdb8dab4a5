// The poison-mix job for the fork launcher: healthy items are done like the
// steady job's; an item with payload.poison does what its kind says, on every attempt:
//   crash-exit: process.exit(1)        crash-kill: SIGKILL of this process
//   throw: throws "poison throw <id>"   hang: never returns (the launcher's timeoutMs ends it)
//   memory: allocates until the launcher's memoryLimitMb kill (capped at 1 GiB, then hangs)
import { chunkEnded, chunkStarted, itemDone, pause } from "./sink.mjs";

const MB = 1024 * 1024;

async function misbehave(kind, id) {
  switch (kind) {
    case "crash-exit":
      process.exit(1);
      break;
    case "crash-kill":
      process.kill(process.pid, "SIGKILL");
      break;
    case "throw":
      throw new Error(`poison throw ${id}`);
    case "hang":
      await new Promise(() => {});
      break;
    case "memory": {
      const hog = [];
      while (hog.length < 64) {
        hog.push(Buffer.alloc(16 * MB, 1));
        await pause(20);
      }
      await new Promise(() => {});
      break;
    }
    default:
      throw new Error(`unknown poison kind ${kind} (item ${id})`);
  }
}

export default async function work(batch, ctx) {
  await chunkStarted(
    ctx.chunkId,
    batch.items.map((i) => i.id),
  );
  const results = [];
  try {
    for (const item of batch.items) {
      ctx.begin?.(item.id);
      const p = item.payload ?? {};
      if (p.poison) await misbehave(p.poison, item.id);
      await pause(p.ms ?? 0, ctx.signal);
      await itemDone(item.id);
      const r = { id: item.id, ok: true };
      ctx.report?.(r);
      results.push(r);
    }
  } finally {
    await chunkEnded(ctx.chunkId);
  }
  return { results };
}
