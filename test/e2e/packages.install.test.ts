/**
 * The packed packages install and run outside this repository, as a user gets them:
 *   1. `pnpm pack` the five packages (workspace: versions become real ones),
 *   2. a fresh project in the OS temp folder installs the five tarballs with
 *      plain `npm install` (dependencies from the npm cache or registry),
 *   3. its config imports `@batchjob/core` from its own node_modules; `npx
 *      batchjob manager` and `worker` run it against a redis-server this test
 *      starts; `npx batchjob enqueue` and a script importing `@batchjob/core`
 *      enqueue; the project's job sees every item,
 *   4. a `.ts` config in a read-only folder with no node_modules (an
 *      /etc/batchjob) loads, `@batchjob/core` coming from the CLI's install,
 *   5. `npx batchjob demo --items 200` runs from the project.
 * Takes a minute or so: the install is most of it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BatchQueue } from "@batchjob/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshPrefix, type RedisServer, startRedisServer, track, waitFor } from "../harness/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PACKAGES = ["core", "http", "worker", "manager", "cli"];
const TYPE = "packed";

/** `pnpm` at the version the repository pins, as scripts/ensure-deps.mjs finds it. */
function pnpmCommand(): string[] {
  const wanted = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).packageManager.replace(/^pnpm@/, "");
  try {
    if (execFileSync("pnpm", ["--version"], { encoding: "utf8" }).trim() === wanted) return ["pnpm"];
  } catch {
    // not on PATH: npx fetches the pinned one
  }
  return ["npx", "--yes", `pnpm@${wanted}`];
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion in `cwd` (its output kept for the assertion messages). */
function run(command: string, args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv; uid?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: o.cwd,
      env: o.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      ...(o.uid !== undefined ? { uid: o.uid, gid: o.uid } : {}),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** True while any process of the group `pgid` runs. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `npx batchjob <args>` as a daemon, in its own process group (npx, its shell,
 * the daemon) so the test can tell when all of it has exited; tracked so a
 * failing test cannot leave it running.
 */
function startDaemon(cwd: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; log: () => string } {
  const child = spawn("npx", ["batchjob", ...args], { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`cannot start npx batchjob ${args.join(" ")}`);
  let log = "";
  child.stdout?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  track(
    `npx batchjob ${args.join(" ")} (process group ${pgid})`,
    () => groupAlive(pgid),
    async () => {
      process.kill(-pgid, "SIGKILL");
      await waitFor(`process group ${pgid} to exit`, () => !groupAlive(pgid), 10_000);
    },
  );
  return { child, log: () => log };
}

/**
 * SIGTERM to the whole group, as a terminal's Ctrl-C or systemd's control-group
 * stop does: npx hands a SIGTERM only to its shell, which dies without passing
 * it on. Waits until every process of the group has exited.
 */
async function stopDaemon(d: { child: ChildProcess; log: () => string }): Promise<void> {
  const pgid = d.child.pid as number;
  process.kill(-pgid, "SIGTERM");
  await waitFor(
    `npx batchjob (group ${pgid}) to exit after SIGTERM; its log: ${d.log().slice(-1000)}`,
    () => !groupAlive(pgid),
    30_000,
  );
}

const CONFIG = `import { defineConfig } from "@batchjob/core";

export default defineConfig({
  jobTypes: [
    {
      name: "${TYPE}",
      chunkSize: 20,
      parallel: { high: 1, medium: 2, low: 2 },
      cooldownSeconds: 0,
      launcher: { kind: "inline", module: "./jobs/record.mjs" },
    },
  ],
  worker: { slots: 2, heartbeatMs: 250, hostTtlMs: 5000 },
  manager: { tickMs: 100 },
});
`;

/** The project's job: appends each item's number to done.txt, so the test sees which items ran here. */
const JOB = `import { appendFileSync } from "node:fs";

export default function record(batch) {
  appendFileSync(new URL("../done.txt", import.meta.url), batch.items.map((i) => \`\${i.payload.n}\\n\`).join(""));
}
`;

/** A service's enqueue: core from the project's node_modules; caller ids, so a second run dedupes. */
const ENQUEUE_SCRIPT = `import { BatchQueue } from "@batchjob/core";

const queue = new BatchQueue({ redis: process.env.REDIS_URL, prefix: process.env.BATCHJOB_PREFIX });
const items = Array.from({ length: 40 }, (_, i) => ({ id: \`order-\${i}\`, payload: { n: 100 + i } }));
const r = await queue.enqueue("${TYPE}", items);
console.log(JSON.stringify({ added: r.added, deduped: r.deduped.length }));
await queue.close();
`;

/** The same deployment as a TypeScript config, for a read-only folder. */
const TS_CONFIG = `import { defineConfig, type BatchjobConfigInput } from "@batchjob/core";

const types: BatchjobConfigInput["jobTypes"] = [{ name: "from-etc", launcher: { kind: "inline", module: "./job.mjs" } }];
export default defineConfig({ prefix: "etc", jobTypes: types });
`;

describe("the packed packages outside the repository", () => {
  let dir: string;
  let project: string;
  let redis: RedisServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bj-packed-"));
    const packs = join(dir, "packs");
    mkdirSync(packs);
    const [pnpm, ...pnpmArgs] = pnpmCommand() as [string, ...string[]];
    for (const p of PACKAGES) {
      const r = await run(pnpm, [...pnpmArgs, "pack", "--pack-destination", packs], { cwd: join(ROOT, "packages", p) });
      expect(r.code, `pnpm pack of ${p}: ${r.stderr}`).toBe(0);
    }
    const tarballs = readdirSync(packs).map((f) => join(packs, f));
    expect(tarballs).toHaveLength(PACKAGES.length);

    project = join(dir, "service");
    mkdirSync(join(project, "jobs"), { recursive: true });
    writeFileSync(
      join(project, "package.json"),
      `${JSON.stringify({ name: "service", private: true, type: "module" })}\n`,
    );
    // plain npm: no workspace, no lockfile of ours; --prefer-offline takes the npm cache when it has them
    const install = await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...tarballs], {
      cwd: project,
    });
    expect(install.code, `npm install: ${install.stderr}`).toBe(0);
    writeFileSync(join(project, "batchjob.config.mjs"), CONFIG);
    writeFileSync(join(project, "jobs", "record.mjs"), JOB);
    writeFileSync(join(project, "enqueue.mjs"), ENQUEUE_SCRIPT);
    redis = await startRedisServer();
  }, 240_000);

  afterAll(async () => {
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("installs the packages with their dependencies, and no workspace: version left", () => {
    for (const p of PACKAGES) {
      const manifest = JSON.parse(readFileSync(join(project, "node_modules", "@batchjob", p, "package.json"), "utf8"));
      expect(JSON.stringify(manifest.dependencies ?? {})).not.toContain("workspace:");
      expect(manifest.engines.node).toBeTruthy();
    }
    // core's ioredis is a peer: the project has one copy, which npm installed for it
    expect(readdirSync(join(project, "node_modules"))).toContain("ioredis");
    // each shipped source map names sources that are shipped too
    const coreDir = join(project, "node_modules", "@batchjob", "core");
    const map = JSON.parse(readFileSync(join(coreDir, "dist", "batch-queue.js.map"), "utf8"));
    for (const source of map.sources as string[])
      expect(() => readFileSync(join(coreDir, "dist", source))).not.toThrow();
    // the dashboard's assets ship in @batchjob/http (it works offline)
    const httpDir = join(project, "node_modules", "@batchjob", "http");
    for (const asset of ["dashboard.js", "dashboard.css"])
      expect(readFileSync(join(httpDir, "assets", asset), "utf8").length).toBeGreaterThan(100);
  });

  it("enqueues by the CLI and by a script, runs manager and worker from the project; the project's job does every item", async () => {
    const prefix = freshPrefix();
    const env = { ...process.env, REDIS_URL: redis.url, BATCHJOB_PREFIX: prefix, BATCHJOB_LOG_LEVEL: "warn" };
    const check = await run("npx", ["batchjob", "config", "check", "batchjob.config.mjs"], { cwd: project, env });
    expect(check.code, check.stderr).toBe(0);

    // enqueued before the daemons start, so the second script run finds its ids still queued and dedupes them
    const lines = Array.from({ length: 60 }, (_, n) => JSON.stringify({ n })).join("\n");
    writeFileSync(join(project, "items.jsonl"), `${lines}\n`);
    const cli = await run("npx", ["batchjob", "enqueue", TYPE, "--file", "items.jsonl"], { cwd: project, env });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/enqueued 60/);
    const script = await run(process.execPath, ["enqueue.mjs"], { cwd: project, env });
    expect(script.code, script.stderr).toBe(0);
    expect(JSON.parse(script.stdout)).toEqual({ added: 40, deduped: 0 });
    const again = await run(process.execPath, ["enqueue.mjs"], { cwd: project, env });
    expect(JSON.parse(again.stdout)).toEqual({ added: 0, deduped: 40 });

    const manager = startDaemon(project, ["manager", "--config", "batchjob.config.mjs"], env);
    const worker = startDaemon(project, ["worker", "--config", "batchjob.config.mjs", "--host-id", "packed-1"], env);
    try {
      const queue = new BatchQueue({ redis: redis.url, prefix });
      try {
        await waitFor(
          "all 100 items acked",
          async () => {
            const c = await queue.counts(TYPE);
            return c.acked === 100 && c.pending + c.leased + c.delayed === 0;
          },
          60_000,
        );
      } finally {
        await queue.close();
      }
      const done = readFileSync(join(project, "done.txt"), "utf8").trim().split("\n").map(Number);
      expect(done.sort((a, b) => a - b)).toEqual([
        ...Array.from({ length: 60 }, (_, n) => n),
        ...Array.from({ length: 40 }, (_, i) => 100 + i),
      ]);
    } finally {
      await stopDaemon(worker);
      await stopDaemon(manager);
    }
    expect(worker.log()).not.toMatch(/"level":(50|60)/);
    expect(manager.log()).not.toMatch(/"level":(50|60)/);
  });

  it("loads a .ts config from a read-only folder without node_modules: core comes from the CLI's install", async () => {
    const etc = join(dir, "etc-batchjob");
    mkdirSync(etc);
    writeFileSync(join(etc, "batchjob.config.ts"), TS_CONFIG);
    writeFileSync(join(etc, "job.mjs"), "export default () => {};\n");
    const before = readdirSync(etc).sort();
    // read-only for the process that loads it: root ignores the mode bits, so as root it runs as nobody
    const asRoot = process.getuid?.() === 0;
    chmodSync(etc, 0o555);
    if (asRoot) for (const d of [dir, project]) chmodSync(d, 0o755);
    try {
      const bin = join(project, "node_modules", ".bin", "batchjob");
      const r = await run(bin, ["config", "check", join(etc, "batchjob.config.ts")], {
        cwd: project,
        env: { ...process.env, HOME: dir },
        ...(asRoot ? { uid: 65534 } : {}),
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^ok: .*batchjob\.config\.ts\n {2}1 job types: from-etc \(inline\)\n {2}prefix etc,/);
      expect(readdirSync(etc).sort()).toEqual(before);
    } finally {
      chmodSync(etc, 0o755);
    }
  });

  it("runs `batchjob demo` from the project, with the demo packed in the CLI", async () => {
    const env = { ...process.env, REDIS_URL: redis.url };
    const r = await run("npx", ["batchjob", "demo", "--items", "200"], { cwd: project, env });
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/200 items done in/);
    expect(r.stdout).toMatch(/stopped the manager, 2 workers\./);
  }, 120_000);
});
