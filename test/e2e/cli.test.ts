import { mkdtempSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { controlFor, rawE2eConfig, testManager, writeConfigFile } from "../harness/daemons.js";
import { closeClient, connect, redisUrl, waitFor } from "../harness/index.js";
import { CLI, runCli, runWatched, spawnCli, type WatchedRun } from "../harness/processes.js";

const SUBCOMMANDS = [
  "manager",
  "worker",
  "status",
  "dashboard",
  "enqueue",
  "history",
  "dead list",
  "dead retry",
  "dead purge",
  "pause",
  "resume",
  "drain",
  "config check",
  "acl",
  "demo",
];

async function setup() {
  const raw = await rawE2eConfig();
  const file = await writeConfigFile(raw);
  const config = parseConfig(raw);
  const env = { REDIS_URL: redisUrl(), BATCHJOB_PREFIX: config.prefix };
  return { raw, file, config, env };
}

describe("batchjob CLI: usage", () => {
  it.each(SUBCOMMANDS)("%s --help explains itself and exits 0", async (cmd) => {
    const r = await runCli([...cmd.split(" "), "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: batchjob ${cmd}`));
  });

  it("lists every command with no arguments (exit 2) and with --help (exit 0)", async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    for (const cmd of SUBCOMMANDS) expect(none.stdout).toContain(cmd);
    expect((await runCli(["--help"])).code).toBe(0);
  });

  it.each([
    [["frobnicate"], /unknown command "frobnicate"/],
    [["status", "--bogus"], /Unknown option '--bogus'/],
    [["worker", "--slots", "many"], /--slots must be an integer ≥ 1, got "many"/],
    [["dead"], /missing subcommand; use one of: list, retry, purge/],
    [["dead", "bury", "t"], /unknown subcommand "bury"/],
    [["dead", "purge", "t"], /--id ID \(repeatable\) or --all/],
    [["enqueue"], /name the job type/],
    [["enqueue", "bad type"], /invalid job type name/],
    [["manager", "--allocator", "random"], /--allocator must be round-robin or least-load/],
    [["manager", "--tick-ms", "3000000000"], /--tick-ms must be an integer from 50 to 2147483647, got "3000000000"/],
    [["enqueue", ".."], /invalid job type name "\.\.": '\.' and '\.\.' are not job type names/],
    [["status", "extra"], /unexpected argument "extra"/],
    [["dashboard", "--listen", "nowhere"], /--listen must be HOST:PORT/],
    [["manager", "--http", "80"], /--http must be HOST:PORT/],
  ])("%j is a usage error: clear message, exit 2", async (args, message) => {
    const r = await runCli(args, { env: { REDIS_URL: redisUrl() } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe("batchjob CLI: config", () => {
  it("config check accepts a good file and summarises it", async () => {
    const { file } = await setup();
    const r = await runCli(["config", "check", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: .*\n {2}2 job types: inline \(inline\), forked \(fork\)/);
  });

  it("config check prints each problem of a bad file with its path; the daemons refuse it with the same errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bj-bad-"));
    const bad = join(dir, "bad.yaml");
    writeFileSync(
      bad,
      "jobTypes:\n  - name: ok\n    launcher: {kind: spawn, command: php}\n  - name: 'no spaces'\n    chunkSize: 0\n    launcher: {kind: carrier-pigeon}\nmanager:\n  tickMs: 10\n",
    );
    const r = await runCli(["config", "check", bad]);
    expect(r.code).toBe(1);
    const expected = [
      /jobTypes\[1\]\.name: use 1 to 64 characters from A-Z a-z 0-9 \. _ - \(got "no spaces"\)/,
      /jobTypes\[1\]\.chunkSize: .*>=1 \(got 0\)/,
      /jobTypes\[1\]\.launcher\.kind: .*'inline' \| 'fork' \| 'spawn' \| 'process' \| 'http'/,
      /manager\.tickMs: .*>=50 \(got 10\)/,
    ];
    for (const e of expected) expect(r.stderr).toMatch(e);
    for (const cmd of ["worker", "manager"]) {
      const d = await runCli([cmd, "--config", bad], { env: { REDIS_URL: redisUrl() } });
      expect(d.code).toBe(1);
      for (const e of expected) expect(d.stderr).toMatch(e);
    }
  });

  it("names a missing file and an unknown file type", async () => {
    expect((await runCli(["config", "check", "/nope/x.json"])).stderr).toMatch(/cannot read the config: no such file/);
    const dir = mkdtempSync(join(tmpdir(), "bj-bad-"));
    writeFileSync(join(dir, "c.toml"), "");
    expect((await runCli(["config", "check", join(dir, "c.toml")])).stderr).toMatch(
      /unknown config file type "\.toml"/,
    );
  });

  it("loads a TypeScript config with defineConfig", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bj-ts-"));
    const core = join(process.cwd(), "packages/core/dist/index.js");
    writeFileSync(
      join(dir, "batchjob.config.ts"),
      `import { defineConfig } from ${JSON.stringify(core)};\nconst chunkSize: number = 25;\nexport default defineConfig({ jobTypes: [{ name: "typed", chunkSize, launcher: { kind: "inline", job: async () => {} } }] });\n`,
    );
    const r = await runCli(["config", "check", join(dir, "batchjob.config.ts")]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/1 job types: typed \(inline\)/);
  });
});

describe("batchjob CLI: queues", () => {
  it("enqueue reads JSON lines from stdin and a file, in bulk, and prints the count", async () => {
    const { env, config } = await setup();
    const r = await runCli(["enqueue", "inline"], { env, input: '{"a":1}\n\n{"a":2}\n"three"\n' });
    expect(r.stdout.trim()).toBe("enqueued 3 items to inline");
    const dir = mkdtempSync(join(tmpdir(), "bj-in-"));
    writeFileSync(join(dir, "in.jsonl"), '{"id":"k1","payload":{"a":1}}\n{"id":"k1","payload":{"a":2}}\n');
    const f = await runCli(["enqueue", "inline", "--file", join(dir, "in.jsonl"), "--with-ids"], { env });
    expect(f.stdout.trim()).toBe("enqueued 1 items to inline (1 deduped)");
    const c = controlFor(config);
    expect((await c.queue.counts("inline")).pending).toBe(4);
    await c.close();
  });

  it("enqueue with a bad line names its line number and enqueues nothing", async () => {
    const { env, config } = await setup();
    const r = await runCli(["enqueue", "inline"], { env, input: '{"a":1}\n{"a":2}\n{"a":\n{"a":4}\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line 3 is not JSON .*nothing was enqueued/);
    const w = await runCli(["enqueue", "inline", "--with-ids"], { env, input: '{"id":"x","payload":1}\n{"nope":1}\n' });
    expect(w.stderr).toMatch(/line 2: with --with-ids each line must be/);
    const c = controlFor(config);
    expect((await c.queue.counts("inline")).total).toBe(0);
    await c.close();
  });

  it("dead list, retry and purge", async () => {
    const { env, config } = await setup();
    const c = controlFor(config);
    await c.queue.enqueue(
      "inline",
      [1, 2, 3].map((n) => ({ id: `d${n}`, payload: { n } })),
    );
    const b = await c.queue.acquire("inline", { max: 3 });
    await c.queue.release("inline", b.id, ["d1", "d2", "d3"], { retry: false, error: "bad record" });
    const list = await runCli(["dead", "list", "inline", "--json"], { env });
    const items = JSON.parse(list.stdout) as { id: string; error: string; attempts: number }[];
    expect(items.map((i) => i.id).sort()).toEqual(["d1", "d2", "d3"]);
    expect(items[0]).toMatchObject({ error: "bad record", attempts: 1 });
    expect((await runCli(["dead", "list", "inline"], { env })).stdout).toMatch(
      /ID\s+DIED\s+ATTEMPTS\s+ERROR\s+PAYLOAD\n.*bad record/,
    );
    expect((await runCli(["dead", "retry", "inline", "--id", "d1"], { env })).stdout.trim()).toBe(
      "retried 1 dead items of inline",
    );
    expect((await runCli(["dead", "purge", "inline", "--all"], { env })).stdout.trim()).toBe(
      "purged 2 dead items of inline",
    );
    expect(await c.queue.counts("inline")).toMatchObject({ dead: 0, pending: 1 });
    await c.close();
  });

  it("status --json has the documented shape; history lists finished workers", async () => {
    const { env, config, file } = await setup();
    const w = spawnCli(["worker", "--config", file, "--host-id", "cli-host", "--slots", "2"], { env });
    const c = controlFor(config);
    await waitFor("the host", async () => (await c.client.zcard(c.keys.hostBeats)) === 1, 30_000);
    const m = await testManager(config);
    await runCli(["enqueue", "inline"], {
      env,
      input: Array.from({ length: 30 }, (_, i) => JSON.stringify({ i })).join("\n"),
    });
    await waitFor(
      "the queue to drain",
      async () => (await c.queue.counts("inline")).total === 0 && (await c.client.hlen(c.keys.workers)) === 0,
      30_000,
    );
    await m.tickNow();

    const r = await runCli(["status", "--json"], { env });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(Object.keys(s).sort()).toEqual([
      "at",
      "history",
      "hosts",
      "jobTypes",
      "leader",
      "load",
      "prefix",
      "problems",
    ]);
    expect(s.problems).toEqual([]);
    expect(s.prefix).toBe(config.prefix);
    expect(s.leader).toBe(m.managerId);
    expect(s.load).toMatchObject({ level: expect.stringMatching(/^(high|medium|low)$/), hosts: 1 });
    const inline = s.jobTypes.find((t: { name: string }) => t.name === "inline");
    expect(Object.keys(inline).sort()).toEqual([
      "acked",
      "alerts",
      "dead",
      "decision",
      "delayed",
      "died",
      "enqueued",
      "leased",
      "name",
      "oldestPendingAgeMs",
      "paused",
      "pending",
      "running",
      "target",
      "unavailable",
    ]);
    expect(inline).toMatchObject({
      unavailable: null,
      paused: false,
      pending: 0,
      leased: 0,
      acked: 30,
      enqueued: 30,
      running: 0,
      target: expect.any(Number),
    });
    expect(inline.decision.reason).toMatch(/queue empty/);
    // the fields and types of StatusReport as packages/cli/README.md documents them
    expect(s.load).toEqual({ level: expect.any(String), value: expect.any(Number), hosts: 1, at: expect.any(Number) });
    expect(inline.decision).toEqual({
      reason: expect.any(String),
      at: expect.any(Number),
      start: expect.any(Number),
      stopTokens: 0,
      level: s.load.level,
    });
    expect(inline.target).toBe(config.jobTypes[0]?.parallel[s.load.level as "high" | "medium" | "low"]);
    expect(s.hosts).toEqual([
      {
        id: "cli-host",
        hostname: expect.any(String),
        pid: w.child.pid,
        alive: true,
        beatAgeMs: expect.any(Number),
        slots: 2,
        running: {},
        load: {
          loadAvg: expect.any(Number),
          cpu: expect.any(Number),
          freeMemBytes: expect.any(Number),
          totalMemBytes: expect.any(Number),
        },
        draining: false,
        version: expect.any(String),
      },
    ]);
    // the manager may have run the 30 items with one or two workers
    expect(s.history.reduce((n: number, h: { itemsDone: number }) => n + h.itemsDone, 0)).toBe(30);
    for (const h of s.history)
      expect(h).toMatchObject({ jobType: "inline", hostId: "cli-host", exitReason: "drained" });

    const text = await runCli(["status"], { env });
    expect(text.stdout).toMatch(/TYPE\s+PENDING\s+WAIT\s+LEASED\s+DELAYED\s+DEAD\s+WORKERS\s+LAST DECISION/);
    expect(text.stdout).toMatch(/cli-host/);
    // a worker of another type, straight into the history: the filter and the limit must hold
    const { RedisWorkerHistory, historyItemOf } = await import("@batchjob/core");
    const now = new Date().toISOString();
    const other = {
      id: "x",
      jobType: "forked",
      hostId: "elsewhere",
      hostname: "e",
      pid: 1,
      launcher: "fork",
      reservationId: "r",
      firstChunkId: "c",
      currentChunkId: null,
      currentChunkSize: 0,
      createdAt: now,
      updatedAt: now,
      chunks: 0,
      itemsDone: 0,
      itemsFailed: 0,
      itemsRetried: 0,
    };
    await new RedisWorkerHistory(c.client, c.keys).add(
      historyItemOf(other, { exitReason: "drained", durationMs: 1, peakMemoryBytes: null }),
    );
    const h = JSON.parse((await runCli(["history", "--type", "inline", "--json"], { env })).stdout) as {
      jobType: string;
    }[];
    expect(h.length).toBe(s.history.length);
    expect(h.every((x) => x.jobType === "inline")).toBe(true);
    const limited = JSON.parse((await runCli(["history", "--limit", "1", "--json"], { env })).stdout) as {
      jobType: string;
    }[];
    expect(limited.map((x) => x.jobType)).toEqual(["forked"]);
    expect((await runCli(["history"], { env })).stdout).toMatch(/inline\s+cli-host/);

    await m.stop();
    w.kill("SIGTERM");
    expect((await w.exited).code).toBe(0);
    await c.close();
  }, 60_000);

  it("status --watch refreshes until Ctrl-C, then exits 0", async () => {
    const { env } = await setup();
    const p = spawnCli(["status", "--watch", "--interval", "1"], { env });
    await waitFor("two refreshes", () => (p.stdout().match(/refreshing every 1 s/g) ?? []).length >= 2, 30_000);
    p.kill("SIGINT");
    expect((await p.exited).code).toBe(0);
  });

  it("status says so when Redis cannot be reached", async () => {
    const r = await runCli(["status", "--redis", "redis://127.0.0.1:1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});

/**
 * Waits until every process the run started has ended (a guardian of spawned
 * jobs ends on its daemon's exit, a moment after it); fails naming those still
 * running. Only the run's own process tree is looked at, never all of /proc.
 */
async function expectNothingLeftRunning(run: WatchedRun): Promise<void> {
  try {
    await waitFor("the demo's processes to end", () => run.tree.leftovers().length === 0, 15_000);
  } catch {
    expect(run.tree.leftovers()).toEqual([]);
  }
}

describe("the main job", () => {
  it("npm run demo with a small item count exits 0 and leaves no process or key behind", async () => {
    const run = await runWatched("npm", ["run", "--silent", "demo", "--", "--items", "3000"], {
      env: { ...process.env, REDIS_URL: redisUrl(), BATCHJOB_LOG_LEVEL: "warn" },
      timeoutMs: 150_000,
    });
    expect(run.code).toBe(0);
    const r = run.stdout;
    expect(r).toMatch(/Summary from the worker history/);
    expect(r).toMatch(/2,999 items done/);
    expect(r).toMatch(/stopped the manager, 2 workers\./);
    // the watch saw what the demo runs: its manager and two workers, a fork child, a spawned job's guardian
    const seen = run.tree.seen();
    const demo = new Set(seen.filter((p) => /^\S*node \S*bin\.js demo\b/.test(p.argv)).map((p) => p.pid));
    const daemons = seen.filter((p) => demo.has(p.ppid)).map((p) => p.argv);
    expect(daemons.filter((a) => /bin\.js manager .*examples\/demo/.test(a))).toHaveLength(1);
    expect(daemons.filter((a) => /bin\.js worker .*examples\/demo/.test(a))).toHaveLength(2);
    expect(seen.some((p) => p.argv.includes("fork-child"))).toBe(true);
    expect(seen.some((p) => p.argv.includes("guardian"))).toBe(true);
    await expectNothingLeftRunning(run);
    const redis = connect();
    expect(await redis.keys("demo-*")).toEqual([]);
    expect(await redis.keys("{demo-*")).toEqual([]);
    await closeClient(redis);
  }, 180_000);

  it("starts and stops a private redis-server when REDIS_URL is not set", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, BATCHJOB_LOG_LEVEL: "warn" };
    delete env.REDIS_URL;
    const run = await runWatched(process.execPath, [CLI, "demo", "--items", "2000"], { env, timeoutMs: 150_000 });
    expect(run.code).toBe(0);
    const r = run.stdout;
    const port = /Redis redis:\/\/127\.0\.0\.1:(\d+) \(private/.exec(r)?.[1];
    expect(port).toBeDefined();
    expect(r).toMatch(/stopped the manager, 2 workers and Redis\./);
    // the private redis-server was a child of the demo, and it is gone: its port refuses connections
    const redisServer = new RegExp(`redis-server .*:${port}\\b|--port ${port}\\b`);
    expect(run.tree.seen().some((p) => redisServer.test(p.argv))).toBe(true);
    await expectNothingLeftRunning(run);
    const refused = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: "127.0.0.1", port: Number(port) });
      s.once("connect", () => {
        s.destroy();
        resolve(false);
      });
      s.once("error", () => resolve(true));
    });
    expect(refused).toBe(true);
  }, 180_000);

  it("says how to get Redis when there is none, and exits 1", async () => {
    const r = await runCli(["demo", "--items", "10"], {
      env: { REDIS_URL: "redis://127.0.0.1:1", PATH: "/nonexistent" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the demo needs Redis 6\.2 or newer: set REDIS_URL=.* or install redis-server/);
  });
});
