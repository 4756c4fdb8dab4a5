/**
 * Input that cannot misbehave, through the real CLI: `config check` refuses
 * an overflowing timer, a duplicate job type name and a missing module,
 * command or folder, each by its path (and the worker refuses them at
 * start); `enqueue` refuses a number JSON cannot hold (1e400) naming its
 * line and path, and the type name `..`; `status` (and `history`) on corrupt
 * values in Redis show the rest, name each corrupt key on one line and exit 1.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, shardOfKey, shardQueue } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { controlFor, FIXTURES, rawE2eConfig, writeConfigFile } from "../harness/daemons.js";
import { freshPrefix, redisUrl } from "../harness/index.js";
import { runCli } from "../harness/processes.js";

/** `s` for a RegExp, as it is. */
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Writes `yaml` as a config file in a fresh folder; returns its path. */
function yamlConfig(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "bj-input-")), "batchjob.config.yaml");
  writeFileSync(path, yaml);
  return path;
}

async function setup() {
  const raw = await rawE2eConfig();
  const file = await writeConfigFile(raw);
  const config = parseConfig(raw);
  return { file, config, env: { REDIS_URL: redisUrl(), BATCHJOB_PREFIX: config.prefix } };
}

describe("config check: bounds, names and files", () => {
  it("refuses a timer above 2^31−1 ms (a 30-day timeout fires at once), naming its path", async () => {
    const file = yamlConfig(
      "jobTypes:\n  - name: slow\n    launcher: {kind: spawn, command: sh, timeoutMs: 2592000000}\nmanager:\n  tickMs: 2147483648\n",
    );
    const r = await runCli(["config", "check", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /jobTypes\[0\]\.launcher\.timeoutMs: at most 2147483647 ms \(about 24\.8 days\): a longer Node timer fires at once \(got 2592000000\)/,
    );
    expect(r.stderr).toMatch(/manager\.tickMs: at most 2147483647 ms .*\(got 2147483648\)/);
    expect(r.stdout).toBe("");
  });

  it("refuses a lease that one missed renewal would lose, naming both values", async () => {
    const file = yamlConfig("jobTypes:\n  - name: a\n    leaseMs: 900\n    launcher: {kind: spawn, command: sh}\n");
    const r = await runCli(["config", "check", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/jobTypes\[0\]\.leaseMs: a chunk lease of 900 ms is renewed every 300 ms.*\(got 900\)/);
  });

  it("refuses a duplicate job type name and the name '..', each by its path", async () => {
    const file = yamlConfig(
      "jobTypes:\n  - name: a\n    launcher: {kind: spawn, command: sh}\n  - name: '..'\n    launcher: {kind: spawn, command: sh}\n  - name: a\n    launcher: {kind: spawn, command: sh}\n",
    );
    const r = await runCli(["config", "check", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/jobTypes\[2\]\.name: duplicate job type name, already used by jobTypes\[0\] \(got "a"\)/);
    expect(r.stderr).toMatch(/jobTypes\[1\]\.name: '\.' and '\.\.' are not job type names/);
  });

  it("refuses a missing module, command or folder by its path; the worker refuses the types it serves at start", async () => {
    const file = yamlConfig(
      [
        "jobTypes:",
        "  - name: a",
        "    launcher: {kind: inline, module: ./x/y.mjs}",
        "  - name: b",
        "    launcher: {kind: spawn, command: ./bin/job.sh}",
        "  - name: c",
        "    launcher: {kind: spawn, command: batchjob-no-such-command}",
        "  - name: d",
        "    launcher: {kind: spawn, command: sh, cwd: ./work}",
        `  - name: e`,
        `    launcher: {kind: fork, module: ${join(FIXTURES, "behave.mjs")}}`,
        "    enqueuer: {module: ./refill.mjs, lowWatermark: 10}",
        "",
      ].join("\n"),
    );
    const dir = join(file, "..");
    const r = await runCli(["config", "check", file]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n").filter((l) => l.startsWith("  - "))).toEqual([
      `  - jobTypes[0].launcher.module: no such file ${join(dir, "x/y.mjs")}`,
      `  - jobTypes[1].launcher.command: no such file ${join(dir, "bin/job.sh")}`,
      expect.stringMatching(/^ {2}- jobTypes\[2\]\.launcher\.command: batchjob-no-such-command is not found on PATH/),
      `  - jobTypes[3].launcher.cwd: no such folder ${join(dir, "work")}`,
      `  - jobTypes[4].enqueuer.module: no such file ${join(dir, "refill.mjs")}`,
    ]);

    // the worker checks what it serves, enqueuers aside (they run in the manager)
    const env = { REDIS_URL: redisUrl(), BATCHJOB_PREFIX: freshPrefix() };
    const w = await runCli(["worker", "--config", file, "--job-types", "a,e"], { env });
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/jobTypes\[0\]\.launcher\.module: no such file .*x\/y\.mjs/);
    expect(w.stderr).not.toMatch(/jobTypes\[[1-4]\]/);
  });
});

describe("enqueue: numbers JSON cannot hold, and names", () => {
  it("refuses 1e400 (Infinity) naming the line and the path inside the payload; nothing is enqueued", async () => {
    const { env, config } = await setup();
    const r = await runCli(["enqueue", "inline"], { env, input: '{"a":1}\n\n{"a":{"b":[1,1e400]}}\n{"a":3}\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /line 3: payload\.a\.b\[1\] is Infinity, which JSON cannot hold \(it would be stored as null\) \(a number beyond ±1\.8e308, such as 1e400, reads as Infinity\); nothing was enqueued/,
    );
    const ids = await runCli(["enqueue", "inline", "--with-ids"], {
      env,
      input: '{"id":"k1","payload":1}\n{"id":"k2","payload":{"x":-1e400}}\n',
    });
    expect(ids.code).toBe(2);
    expect(ids.stderr).toMatch(/line 2: payload\.x is -Infinity/);
    const c = controlFor(config);
    expect((await c.queue.counts("inline")).total).toBe(0);
    await c.close();
  });

  it("--with-ids lines may carry a key: one key's items go to one shard of a sharded type, a bad key names its line", async () => {
    const raw = await rawE2eConfig();
    (raw.jobTypes as [Record<string, unknown>])[0].shards = 3;
    const file = await writeConfigFile(raw);
    const config = parseConfig(raw);
    const input = '{"key":"c-1","payload":1}\n{"key":"c-1","payload":2}\n{"id":"x","payload":3}\n';
    const r = await runCli(["enqueue", "inline", "--with-ids", "--config", file], {
      env: { REDIS_URL: redisUrl() },
      input,
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/enqueued 3 items to inline/);
    const c = controlFor(config);
    const shard = shardOfKey("c-1", 3);
    const pending = await c.client.lrange(c.keys.type(shardQueue("inline", shard)).pending, 0, -1);
    expect(pending.map((e) => e.split("\t")[1]).slice(0, 2)).toEqual(["1", "2"]);
    expect((await c.queue.counts("inline")).total).toBe(3);
    const bad = await runCli(["enqueue", "inline", "--with-ids", "--config", file], {
      env: { REDIS_URL: redisUrl() },
      input: '{"payload":1}\n{"key":7,"payload":2}\n',
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/line 2: key must be a string of 1 to 1024 characters, got 7; nothing was enqueued/);
    expect((await c.queue.counts("inline")).total).toBe(3);
    await c.close();
  });

  it.each([".", ".."])("refuses the job type name %j", async (name) => {
    const r = await runCli(["enqueue", name], { env: { REDIS_URL: redisUrl() }, input: "1\n" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid job type name "\.{1,2}": '\.' and '\.\.' are not job type names/);
  });
});

describe("status: corrupt values in Redis", () => {
  it("names a corrupt bj:config on one line, shows the rest and exits 1; no stack trace", async () => {
    const { env, config } = await setup();
    const c = controlFor(config);
    await c.queue.enqueue("inline", [{ payload: 1 }]);
    await c.client.set(c.keys.config, "{not json");
    const r = await runCli(["status"], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/TYPE\s+PENDING/);
    expect(r.stdout).toMatch(/inline\s+1\s/);
    expect(r.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        new RegExp(
          `^batchjob status: ${esc(c.keys.config)} is not valid JSON \\(.*\\): the job types it lists are not shown$`,
        ),
      ),
    ]);
    expect(r.stderr).not.toMatch(/SyntaxError|\n\s+at /);
    await c.close();
  });

  it("skips corrupt decisions, load, history, worker and host entries and type names, one line each", async () => {
    const { env, config } = await setup();
    const c = controlFor(config);
    const k = c.keys;
    await c.queue.enqueue("inline", [{ payload: 1 }]);
    await c.client.set(k.config, JSON.stringify({ jobTypes: [{ name: "forked" }, { name: ".." }] }));
    await c.client.hset(k.decisions, "inline", "[oops", "forked", JSON.stringify({ reason: 7 }));
    await c.client.set(k.load, JSON.stringify({ level: "extreme", value: 1, hosts: 1, at: 1 }));
    await c.client.lpush(k.history, "not json", JSON.stringify({ jobType: "inline" }));
    await c.client.hset(k.workers, "w1", "{");
    await c.client.zadd(k.hostBeats, Date.now(), "h1");
    await c.client.hset(k.hostInfo, "h1", "[]");
    await c.client.sadd(k.types, "bad name");
    await c.client.hset(k.alerts, "inline:longWait", "{");
    const text = await runCli(["status"], { env });
    expect(text.code).toBe(1);
    const lines = text.stderr.trim().split("\n");
    const expected = [
      new RegExp(`^batchjob status: ${esc(k.config)} names 1 job type that cannot be one, not shown: "\\.\\."$`),
      new RegExp(`^batchjob status: ${esc(k.types)} names 1 job type that cannot be one, not shown: "bad name"$`),
      new RegExp(
        `^batchjob status: ${esc(k.decisions)} field forked is not what batchjob writes: reason is not a string`,
      ),
      new RegExp(`^batchjob status: ${esc(k.decisions)} field inline is not valid JSON`),
      new RegExp(`^batchjob status: ${esc(k.load)} is not what batchjob writes: level is not high, medium or low`),
      new RegExp(`^batchjob status: ${esc(k.history)}: 2 of the newest 10 entries skipped`),
      new RegExp(`^batchjob status: ${esc(k.workers)}: 1 entry skipped; the first, w1: not JSON`),
      new RegExp(`^batchjob status: ${esc(k.hostInfo)}: 1 entry skipped; the first, h1: not an object`),
      new RegExp(
        `^batchjob status: ${esc(k.alerts)} field inline:longWait is not valid JSON.*: that alert is not shown$`,
      ),
    ];
    expect(lines).toHaveLength(expected.length);
    for (const e of expected)
      expect(
        lines.some((l) => e.test(l)),
        `${e}\n${text.stderr}`,
      ).toBe(true);
    // the rest is shown: both types, neither with a decision
    // PENDING, WAIT (none for forked; inline's item has waited since its enqueue), LEASED, DELAYED, DEAD, WORKERS
    expect(text.stdout).toMatch(/forked\s+0\s+-\s+0\s+0\s+0\s+0\/-\s+-/);
    expect(text.stdout).toMatch(/inline\s+1\s+\d+\.\d s\s+0\s+0\s+0\s+0\/-\s+-/);
    expect(text.stdout).toMatch(/load level unknown/);

    const json = await runCli(["status", "--json"], { env });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.problems).toHaveLength(expected.length);
    expect(report.load).toBeNull();
    expect(report.history).toEqual([]);
    expect(report.jobTypes.map((t: { name: string }) => t.name)).toEqual(["forked", "inline"]);

    const history = await runCli(["history"], { env });
    expect(history.code).toBe(1);
    expect(history.stdout).toBe("No finished workers yet.\n");
    expect(history.stderr).toMatch(
      new RegExp(
        `^batchjob history: ${esc(k.history)}: 2 of the newest 20 entries skipped; the first is not what batchjob writes: createdAt is not a string`,
      ),
    );
    await c.close();
  });
});
