/**
 * The controls through the `batchjob` CLI against daemons running as real
 * processes (#10): SIGHUP reloads both daemons' config (a valid change takes
 * effect, a broken file is refused with one JSON log line and the old
 * config kept, a changed prefix is not applied and said so); `drain --all`
 * ends every worker daemon; pause/resume/drain usage errors exit 2 with a
 * clear message.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeKeys, RedisWorkerHistory } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { controlFor, FIXTURES, rawE2eConfig, testWorker, writeConfigFile } from "../harness/daemons.js";
import { redisUrl, waitFor } from "../harness/index.js";
import { runCli, spawnCli } from "../harness/processes.js";

/** The JSON log lines of a daemon's output with `msg` containing `text`. */
function logLines(output: string, text: string): Record<string, unknown>[] {
  return output
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => String(l.msg).includes(text));
}

describe("controls from the CLI", () => {
  it("SIGHUP reloads both daemons: a valid file takes effect, a broken one is refused and the old config kept", async () => {
    const raw = await rawE2eConfig();
    const prefix = raw.prefix as string;
    // one worker at a time: each run of 9 items is one history entry
    for (const t of raw.jobTypes as Record<string, unknown>[]) t.parallel = { high: 1, medium: 1, low: 1 };
    const file = await writeConfigFile(raw);
    const env = { REDIS_URL: redisUrl(), BATCHJOB_LOG_LEVEL: "info" };
    const c = controlFor({ ...(await import("@batchjob/core")).parseConfig(raw, "raw"), prefix });
    const keys = makeKeys(prefix);
    const w = spawnCli(["worker", "--config", file, "--host-id", `hup-${prefix}`], { env });
    const m = spawnCli(["manager", "--config", file], { env });
    await w.waitForOutput(/worker daemon started/);
    await m.waitForOutput(/manager started/);
    const history = new RedisWorkerHistory(c.client, keys);
    const runOnce = async (n: number) => {
      await c.queue.enqueue(
        "inline",
        Array.from({ length: 9 }, (_, i) => ({ payload: { i } })),
      );
      const [h] = await waitFor(`worker ${n} done`, async () => {
        const all = await history.list();
        return all.length === n && all;
      });
      return h;
    };
    // chunks of 10: one chunk
    expect(await runOnce(1)).toMatchObject({ chunks: 1, itemsDone: 9 });

    // a valid change: chunks of 3 (the worker's next workers; the manager plans by it); a new prefix is kept
    const first = (raw.jobTypes as Record<string, unknown>[])[0] as Record<string, unknown>;
    // the module path as writeConfigFile wrote it: absolute, in test/fixtures
    const inline = { ...first, launcher: { ...(first.launcher as object), module: join(FIXTURES, "behave.mjs") } };
    const changed = {
      ...raw,
      prefix: "elsewhere",
      jobTypes: [{ ...inline, chunkSize: 3 }],
    };
    writeFileSync(file, JSON.stringify(changed));
    w.kill("SIGHUP");
    m.kill("SIGHUP");
    await w.waitForOutput(/config reloaded/);
    await m.waitForOutput(/config reloaded/);
    for (const out of [w.stderr() + w.stdout(), m.stderr() + m.stdout()]) {
      const [kept] = logLines(out, "config reloaded");
      expect(kept).toMatchObject({ kept: ["prefix"], msg: expect.stringContaining("restart") });
    }
    await waitFor("the manager publishes the reloaded config", async () => {
      const published = JSON.parse((await c.client.get(keys.config)) ?? "{}");
      return published.jobTypes?.[0]?.chunkSize === 3 && published.prefix === prefix;
    });
    expect(await runOnce(2)).toMatchObject({ chunks: 3, itemsDone: 9 });

    // a broken file: refused, one JSON line naming the problem; the running config stays
    writeFileSync(file, JSON.stringify({ ...changed, prefix, jobTypes: [{ ...inline, chunkSize: -1 }] }));
    w.kill("SIGHUP");
    m.kill("SIGHUP");
    await w.waitForOutput(/config reload refused/);
    await m.waitForOutput(/config reload refused/);
    for (const out of [w.stderr() + w.stdout(), m.stderr() + m.stdout()]) {
      const [refused] = logLines(out, "config reload refused");
      expect(refused?.problems).toEqual([expect.stringContaining("jobTypes[0].chunkSize")]);
      expect(refused?.msg).toContain("jobTypes[0].chunkSize");
    }
    expect(await runOnce(3)).toMatchObject({ chunks: 3, itemsDone: 9 });
    const published = JSON.parse((await c.client.get(keys.config)) ?? "{}");
    expect(published.jobTypes[0].chunkSize).toBe(3);

    m.kill("SIGTERM");
    w.kill("SIGTERM");
    expect((await m.exited).code).toBe(0);
    expect((await w.exited).code).toBe(0);
    await c.close();
  }, 60_000);

  it("drain --all ends every worker daemon; unknown hosts and bad names are usage errors", async () => {
    const raw = await rawE2eConfig();
    const cfg = (await import("@batchjob/core")).parseConfig(raw, "raw");
    const env = { REDIS_URL: redisUrl(), BATCHJOB_PREFIX: cfg.prefix };
    // two hosts of their own (in one process, the default host id, hostname-pid, would be the same for both: the
    // first to drain would clear the one request the other waits for)
    const a = await testWorker(cfg, { hostId: `${cfg.prefix}-a` });
    const b = await testWorker(cfg, { hostId: `${cfg.prefix}-b` });
    const unknown = await runCli(["drain", "nope"], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no live worker host "nope"');
    expect(unknown.stderr).toContain(a.hostId);
    expect(unknown.stderr).toContain(b.hostId);
    const both = await runCli(["drain", "--all"], { env });
    expect(both.code).toBe(0);
    expect(both.stdout).toContain(`draining ${a.hostId}`);
    expect(both.stdout).toContain(`draining ${b.hostId}`);
    await Promise.all([a.closed, b.closed]);
    expect((await runCli(["drain", "--all"], { env })).stdout).toContain("nothing to drain");
    const usage = [
      [["drain"], "name the hosts to drain"],
      [["drain", "x", "--all"], "not both"],
      [["pause"], "name the job type"],
      [["pause", "a b"], "invalid job type name"],
      [["pause", "nosuch"], 'unknown job type "nosuch"'],
      [["resume", "nosuch"], 'unknown job type "nosuch"'],
    ] as const;
    const runs = await Promise.all(usage.map(([args]) => runCli([...args], { env })));
    usage.forEach(([args, text], i) => {
      expect([args, runs[i]?.code, runs[i]?.stderr]).toEqual([args, 2, expect.stringContaining(text)]);
    });
  }, 60_000);

  it("pause and resume say what they changed", async () => {
    const raw = await rawE2eConfig();
    const file = await writeConfigFile(raw);
    const env = { REDIS_URL: redisUrl() };
    const run = async (...args: string[]) => (await runCli([...args, "--config", file], { env })).stdout.trim();
    expect(await run("pause", "inline")).toMatch(/^paused inline: no new workers start/);
    expect(await run("pause", "inline")).toBe("inline was already paused");
    expect(await run("resume", "inline")).toMatch(/^resumed inline/);
    expect(await run("resume", "inline")).toBe("inline was not paused");
  });
});
