/**
 * The CLI on redis-sentinel:// URLs (password-protected nodes): `config
 * check` accepts exactly what the daemons accept and refuses a malformed URL
 * naming what is wrong, with the password shown as ***; `enqueue` and
 * `status` work through the sentinels.
 */
import { connectRedis, makeKeys, parseConfig } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { rawE2eConfig, writeConfigFile } from "../harness/daemons.js";
import { closeClient, track, waitFor } from "../harness/index.js";
import { runCli, spawnCli } from "../harness/processes.js";
import { useSentinels } from "../harness/sentinel.js";

const SECRET = "cli-secret-pw";
const sentinels = useSentinels({ masterName: "bjcli", password: SECRET });

async function configWithUrl(url: string) {
  const raw = await rawE2eConfig();
  raw.redis = { url };
  return { raw, file: await writeConfigFile(raw) };
}

describe("the CLI on a redis-sentinel:// URL", () => {
  it("config check accepts it, and a worker daemon started on the same file runs on the master", async () => {
    const set = sentinels();
    const { raw, file } = await configWithUrl(`${set.url}?db=2`);
    const r = await runCli(["config", "check", file]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: /);

    const w = spawnCli(["worker", "--config", file, "--host-id", "sentinel-cli"], {
      env: { BATCHJOB_LOG_LEVEL: "info" },
    });
    const client = connectRedis(`${set.url}?db=2`, { daemon: true });
    client.on("error", () => {});
    track(
      "sentinel connection",
      () => client.status !== "end",
      () => closeClient(client),
    );
    const keys = makeKeys(parseConfig(raw).prefix);
    await w.waitForOutput(/worker daemon started/, 30_000);
    await waitFor(
      "the worker's heartbeat on the master",
      async () => (await client.zcard(keys.hostBeats)) === 1,
      30_000,
    );
    w.kill("SIGTERM");
    const ex = await w.exited;
    if (ex.code !== 0) process.stderr.write(`EXIT ${JSON.stringify(ex)}\nOUT ${w.stdout()}\nERR ${w.stderr()}\n`);
    expect(ex.code).toBe(0);
    expect(w.stdout() + w.stderr()).not.toContain(SECRET);
    await client.flushdb();
    await closeClient(client);
  }, 60_000);

  it("config check refuses a malformed one naming what is wrong, password hidden; the daemons refuse it with the same words", async () => {
    const bad = `redis-sentinel://:${SECRET}@127.0.0.1:26379,127.0.0.1:2637x/bjcli`;
    const { file } = await configWithUrl(bad);
    const expected =
      'redis.url: sentinel "127.0.0.1:2637x": the port must be a number from 1 to 65535 ' +
      '(got "redis-sentinel://:***@127.0.0.1:26379,127.0.0.1:2637x/bjcli")';
    const check = await runCli(["config", "check", file]);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(expected);
    for (const cmd of ["worker", "manager"]) {
      const d = await runCli([cmd, "--config", file]);
      expect(d.code).toBe(1);
      expect(d.stderr).toContain(expected);
    }
    // through REDIS_URL the same, and a URL on the command line is refused with the same words
    const good = await configWithUrl(sentinels().url);
    const env = await runCli(["config", "check", good.file], {
      env: { REDIS_URL: "redis-sentinel://127.0.0.1:26379" },
    });
    expect(env.code).toBe(1);
    expect(env.stderr).toContain("redis.url: name the master after the sentinels");
    const flag = await runCli(["status", "--redis", bad]);
    expect(flag.code).toBe(1);
    expect(flag.stderr.trim()).toBe(
      'batchjob status: redis URL redis-sentinel://:***@127.0.0.1:26379,127.0.0.1:2637x/bjcli: sentinel "127.0.0.1:2637x": the port must be a number from 1 to 65535',
    );
    for (const out of [check, env, flag]) expect(out.stdout + out.stderr).not.toContain(SECRET);
  }, 60_000);

  it("enqueue and status work through the sentinels", async () => {
    const set = sentinels();
    const env = { BATCHJOB_PREFIX: "clisentinel" };
    const e = await runCli(["enqueue", "viasentinel", "--redis", set.url], { env, input: '{"a":1}\n{"a":2}\n' });
    expect(e.stderr).toBe("");
    expect(e.stdout.trim()).toBe("enqueued 2 items to viasentinel");
    const s = await runCli(["status", "--json", "--redis", set.url], { env });
    // no manager and no worker run here: status says so and exits 3 (the probe's "not serving")
    expect(s.code).toBe(3);
    expect(s.stderr.trim().split("\n")).toEqual([
      "batchjob status: no leader: no manager holds the leader lease",
      "batchjob status: no live worker host",
    ]);
    const report = JSON.parse(s.stdout) as { jobTypes: { name: string; pending: number }[] };
    expect(report.jobTypes.find((t) => t.name === "viasentinel")?.pending).toBe(2);
    const client = connectRedis(set.url);
    await client.flushdb();
    await closeClient(client);
  }, 60_000);
});
