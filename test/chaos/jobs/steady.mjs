// The never-failing chaos job (inline or fork): each item takes payload.ms,
// is recorded in the sink, then reported ok. It says which item it works on
// (ctx.begin) and reports each result at once (ctx.report) where the worker
// offers them, and stops when ctx.signal aborts (lease lost, shutdown).
import { chunkEnded, chunkStarted, itemDone, pause } from "./sink.mjs";

export default async function work(batch, ctx) {
  await chunkStarted(
    ctx.chunkId,
    batch.items.map((i) => i.id),
  );
  const results = [];
  try {
    for (const item of batch.items) {
      ctx.begin?.(item.id);
      await pause(item.payload?.ms ?? 0, ctx.signal);
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
