/**
 * `batchjob demo --keep` (#10 item 5): the demo prints the exact `batchjob
 * status --prefix ...` command (with REDIS_URL, its Redis not being the
 * default) and the URL of the dashboard it serves on loopback, keeps its daemons and keys after the work until Ctrl-C, and
 * then stops and cleans up as usual; every line it prints fits 80 columns.
 */
import { describe, expect, it } from "vitest";
import { closeClient, connect, redisUrl, waitFor } from "../harness/index.js";
import { runCli, spawnCli } from "../harness/processes.js";

describe("batchjob demo --keep", () => {
  it("keeps the daemons and keys until Ctrl-C; the printed status command shows them", async () => {
    const env = { REDIS_URL: redisUrl(), BATCHJOB_LOG_LEVEL: "warn", COLUMNS: "" };
    const demo = spawnCli(["demo", "--items", "300", "--keep"], { env });
    await demo.waitForOutput(/Press Ctrl-C to stop everything/, 120_000);
    const out = demo.stdout();
    // the exact command, REDIS_URL first (the test's Redis is not the default one)
    const hint = /REDIS_URL=(\S+) \\\n {4}batchjob status --prefix (\S+)/.exec(out);
    expect(hint?.[1]).toBe(redisUrl());
    const prefix = hint?.[2] ?? "";
    expect(prefix).toMatch(/^demo-\d+$/);
    expect(out).toContain("300 items done");
    // still running after the work: its hosts alive, its keys there; the command shows them
    const status = await runCli(["status", "--prefix", prefix, "--json"], { env: { REDIS_URL: redisUrl() } });
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout);
    expect(s.hosts.filter((h: { alive: boolean }) => h.alive)).toHaveLength(2);
    // the dashboard it serves on loopback shows the same run
    const dashboard = /or open the dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
    expect(dashboard).toBeDefined();
    const api = (await (await fetch(`${dashboard}api/status`)).json()) as { prefix: string; jobTypes: unknown[] };
    expect(api.prefix).toBe(prefix);
    expect(api.jobTypes.length).toBe(s.jobTypes.length);
    const redis = connect();
    expect((await redis.keys(`${prefix}:*`)).length).toBeGreaterThan(0);
    // Ctrl-C: the usual way out, exit 0, nothing left
    demo.kill("SIGINT");
    expect((await demo.exited).code).toBe(0);
    expect(demo.stdout()).toMatch(/stopped the manager, 2 workers\./);
    await waitFor("the demo's keys gone", async () => (await redis.keys(`${prefix}:*`)).length === 0);
    await closeClient(redis);
    const wide = demo
      .stdout()
      .split("\n")
      .filter((l) => [...l].length > 80);
    expect(wide).toEqual([]);
  }, 180_000);
});
