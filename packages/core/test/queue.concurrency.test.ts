import { describe, expect, it } from "vitest";
import { freshPrefix, redisUrl } from "../../../test/harness/index.js";
import { BatchQueue, connectRedis } from "../src/index.js";

describe("concurrent acquirers", () => {
  it("8 acquirers on 100,000 items: each item is acquired exactly once and all end acked", async () => {
    const prefix = freshPrefix();
    const N = 100_000;
    const producer = new BatchQueue({ redis: redisUrl(), prefix });
    const items = Array.from({ length: N }, (_, i) => ({ payload: i }));
    expect((await producer.enqueue("c", items)).added).toBe(N);

    const seen: string[][] = [];
    const consumers = Array.from({ length: 8 }, async (_, w) => {
      const q = new BatchQueue({ redis: connectRedis(redisUrl()), prefix });
      const mine: string[] = [];
      seen[w] = mine;
      const size = 50 + w * 37; // different chunk sizes interleave differently
      let batch = await q.acquire("c", { max: size, leaseMs: 120_000 });
      while (batch.size > 0) {
        for (const it of batch.items) mine.push(it.id);
        const r = await q.settle("c", batch.id, { ack: batch.items.map((i) => i.id) }, { max: size, leaseMs: 120_000 });
        expect(r.acked).toBe(batch.size);
        if (!r.next) break;
        batch = r.next;
      }
      await q.client.quit();
    });
    await Promise.all(consumers);

    const all = seen.flat();
    expect(all.length).toBe(N);
    expect(new Set(all).size).toBe(N);
    expect(seen.filter((s) => s.length > 0).length).toBeGreaterThan(1);
    const c = await producer.counts("c");
    expect(c).toMatchObject({ total: 0, pending: 0, leased: 0, acked: N, acquired: N, chunks: 0 });
    await producer.close();
  });
});
