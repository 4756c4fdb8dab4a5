/**
 * The demo and its cleanup on a Redis Cluster: it runs to the end and deletes
 * every key it made on every master (one UNLINK per slot: never CROSSSLOT),
 * and when a master dies under it, it reports the error, still takes every
 * step of the way out, and exits; a SIGTERM then is honoured at once.
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../harness/index.js";
import { CLI, runWatched, spawnCli } from "../harness/processes.js";
import { type RedisCluster, startRedisCluster } from "../harness/redis-server.js";

let cluster: RedisCluster | undefined;
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

/** Every key matching `pattern` on every live master. */
async function keysOnMasters(c: RedisCluster, pattern: string): Promise<string[]> {
  const out: string[] = [];
  const masters = new Set((await c.ranges()).map((r) => r.master));
  for (const n of c.live().filter((x) => masters.has(x.port))) {
    const r = new Redis({ port: n.port, host: "127.0.0.1" });
    out.push(...(await r.keys(pattern)));
    r.disconnect();
  }
  return out;
}

describe("the demo on a cluster", () => {
  it("runs to the end and deletes its keys from every master", async () => {
    cluster = await startRedisCluster();
    const env = { ...process.env, REDIS_URL: cluster.url, BATCHJOB_LOG_LEVEL: "warn" };
    const run = await runWatched(process.execPath, [CLI, "demo", "--items", "2000"], { env, timeoutMs: 150_000 });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/1,999 items done|2,000 items done/);
    expect(run.stdout).toMatch(/stopped the manager, 2 workers\./);
    await waitFor("the demo's processes to end", () => run.tree.leftovers().length === 0, 15_000);
    expect(await keysOnMasters(cluster, "demo-*")).toEqual([]);
  }, 180_000);

  it("a master dying under it: the error is reported, every step of the way out taken, and it exits", async () => {
    cluster = await startRedisCluster();
    const c = cluster;
    const env = { REDIS_URL: c.url, BATCHJOB_LOG_LEVEL: "warn" };
    const demo = spawnCli(["demo", "--items", "200000"], { env });
    // the line is wrapped to 80 columns: a cluster URL of three nodes may put "keys" and "under" on two lines
    await demo.waitForOutput(/keys\s+under demo-\d+:/, 60_000);
    const victim = c.nodes[0];
    if (!victim) throw new Error("no node");
    await victim.kill("SIGKILL");
    // the demo fails (the cluster is down), takes its way out (stops its daemons, sweeps what it can) and ends
    const t0 = Date.now();
    const end = await Promise.race([
      demo.exited,
      new Promise<"running">((r) => setTimeout(() => r("running"), 45_000)),
    ]);
    if (process.env.TEST_VERBOSE)
      console.log(end, Date.now() - t0, demo.stdout().slice(-1500), demo.stderr().slice(-3000));
    if (end === "running") {
      // still running: a SIGTERM must end it now
      demo.kill("SIGTERM");
      const late = await Promise.race([demo.exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 5000))]);
      expect(late, "the demo ignored SIGTERM after an error").not.toBe("hung");
    }
    expect(end, "the demo did not end by itself after the error").not.toBe("running");
    expect(end).toMatchObject({ code: 1 });
    expect(demo.stdout()).toMatch(/stopped the manager, 2 workers/);
    expect(demo.stderr()).toMatch(/batchjob demo: /);
  }, 180_000);
});
