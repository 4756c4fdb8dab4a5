/** /metrics: parsable Prometheus text with each required metric and its labels, read from real Redis. */
import { HostRegistry, RedisWorkerList } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { fakeHost } from "../../../test/harness/daemons.js";
import { OUTCOMES, TICK_BUCKETS } from "../src/index.js";
import { killItems, parsePrometheus, sample, testServer } from "./serve.js";

/** A worker list entry of `jobType` on `hostId`. */
function worker(id: string, jobType: string, hostId: string) {
  const now = new Date().toISOString();
  return {
    id,
    jobType,
    hostId,
    hostname: hostId,
    pid: 1,
    launcher: "inline",
    reservationId: `r-${id}`,
    firstChunkId: null,
    currentChunkId: null,
    currentChunkSize: 0,
    createdAt: now,
    updatedAt: now,
    chunks: 0,
    itemsDone: 0,
    itemsFailed: 0,
    itemsRetried: 0,
  };
}

describe("http server: /metrics", () => {
  it("reports queue items, lifetime outcomes, workers, oldest pending age, hosts and the tick histogram", async () => {
    const ages: Record<string, number | null> = { mail: 4200, thumbs: null };
    const t = await testServer({
      metrics: { series: async () => [], oldestPendingAgeMs: async (type) => ages[type] ?? null },
    });
    // mail: 3 enqueued, 1 acked, 1 leased, 1 pending; thumbs: 2 dead
    await t.queue.enqueue("mail", [{ payload: 1 }, { payload: 2 }, { payload: 3 }]);
    const a = await t.queue.acquire("mail", { max: 1 });
    await t.queue.ack("mail", a.id, [a.items[0]?.id ?? ""]);
    await t.queue.acquire("mail", { max: 1 });
    await killItems(t.queue, "thumbs", 2);
    // two running mail workers against a target of 5; one live host, one gone
    const list = new RedisWorkerList(t.client, t.keys);
    await list.put(worker("w1", "mail", "h1"));
    await list.put(worker("w2", "mail", "h1"));
    const decision = { reason: "backlog", at: Date.now(), start: 3, stopTokens: 0, level: "low", target: 5 };
    await t.client.hset(t.keys.decisions, "mail", JSON.stringify(decision));
    const hosts = new HostRegistry(t.client, t.keys);
    await hosts.beat(fakeHost("h1"));
    await hosts.beat(fakeHost("h2"));
    await hosts.markGone("h2");
    t.server.observeTick(0.03);
    t.server.observeTick(0.7);

    const r = await t.get("/metrics");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const { samples, types } = parsePrometheus(await r.text());
    expect(types).toMatchObject({
      batchjob_queue_items: "gauge",
      batchjob_items_total: "counter",
      batchjob_workers: "gauge",
      batchjob_oldest_pending_age_seconds: "gauge",
      batchjob_hosts: "gauge",
      batchjob_manager_tick_seconds: "histogram",
    });
    const q = (type: string, state: string) => sample(samples, "batchjob_queue_items", { type, state });
    expect([q("mail", "pending"), q("mail", "leased"), q("mail", "delayed"), q("mail", "dead")]).toEqual([1, 1, 0, 0]);
    expect([q("thumbs", "pending"), q("thumbs", "dead")]).toEqual([0, 2]);
    const out = (type: string, outcome: string) => sample(samples, "batchjob_items_total", { type, outcome });
    expect([out("mail", "enqueued"), out("mail", "acquired"), out("mail", "acked")]).toEqual([3, 2, 1]);
    expect([out("thumbs", "enqueued"), out("thumbs", "died"), out("thumbs", "retried")]).toEqual([2, 2, 0]);
    for (const outcome of OUTCOMES) expect(out("mail", outcome), outcome).toBeTypeOf("number");
    expect(sample(samples, "batchjob_workers", { type: "mail", state: "running" })).toBe(2);
    expect(sample(samples, "batchjob_workers", { type: "mail", state: "target" })).toBe(5);
    expect(sample(samples, "batchjob_workers", { type: "thumbs", state: "running" })).toBe(0);
    expect(sample(samples, "batchjob_oldest_pending_age_seconds", { type: "mail" })).toBe(4.2);
    expect(sample(samples, "batchjob_oldest_pending_age_seconds", { type: "thumbs" })).toBe(0);
    expect(sample(samples, "batchjob_hosts", { state: "alive" })).toBe(1);
    expect(sample(samples, "batchjob_hosts", { state: "dead" })).toBe(1);
    expect(sample(samples, "batchjob_manager_tick_seconds_count")).toBe(2);
    expect(sample(samples, "batchjob_manager_tick_seconds_bucket", { le: "0.05" })).toBe(1);
    expect(sample(samples, "batchjob_manager_tick_seconds_bucket", { le: "1" })).toBe(2);
    expect(samples.filter((s) => s.name === "batchjob_manager_tick_seconds_bucket")).toHaveLength(
      TICK_BUCKETS.length + 1,
    );

    // a later scrape sees the change (gauges set afresh, nothing stale)
    await t.queue.retryDead("thumbs");
    const again = parsePrometheus(await (await t.get("/metrics")).text()).samples;
    expect(sample(again, "batchjob_queue_items", { type: "thumbs", state: "dead" })).toBe(0);
    expect(sample(again, "batchjob_queue_items", { type: "thumbs", state: "pending" })).toBe(2);
    await t.close();
  });

  it("without per-minute metrics: no oldest-age samples, the tick histogram registered with no observations", async () => {
    const t = await testServer({ metrics: undefined });
    await t.queue.enqueue("mail", [{ payload: 1 }]);
    const text = await (await t.get("/metrics")).text();
    const { samples, types } = parsePrometheus(text);
    expect(types.batchjob_oldest_pending_age_seconds).toBe("gauge");
    expect(samples.some((s) => s.name === "batchjob_oldest_pending_age_seconds")).toBe(false);
    expect(sample(samples, "batchjob_manager_tick_seconds_count")).toBe(0);
    // two servers in one process keep their own registries
    const other = await testServer();
    other.server.observeTick(1);
    const mine = parsePrometheus(await (await t.get("/metrics")).text()).samples;
    expect(sample(mine, "batchjob_manager_tick_seconds_count")).toBe(0);
    await other.close();
    await t.close();
  });

  it("counts a type spread over shards as the sum of its shards (#12)", async () => {
    const t = await testServer();
    t.queue.configure("spread", { shards: 3 });
    await t.queue.enqueue(
      "spread",
      Array.from({ length: 6 }, (_, i) => ({ payload: i })),
    );
    // one item acked from shard 2, one leased in shard 1: shard 0 alone would say 2 pending, 0 acked
    const two = await t.queue.acquire("spread#2", { max: 1 });
    await t.queue.ack("spread#2", two.id, [two.items[0]?.id ?? ""]);
    await t.queue.acquire("spread#1", { max: 1 });
    const { samples } = parsePrometheus(await (await t.get("/metrics")).text());
    const q = (state: string) => sample(samples, "batchjob_queue_items", { type: "spread", state });
    const out = (outcome: string) => sample(samples, "batchjob_items_total", { type: "spread", outcome });
    expect([q("pending"), q("leased")]).toEqual([4, 1]);
    expect([out("enqueued"), out("acquired"), out("acked")]).toEqual([6, 2, 1]);
    expect(sample(samples, "batchjob_oldest_pending_age_seconds", { type: "spread" })).toBeGreaterThanOrEqual(0);
    await t.close();
  });
});
