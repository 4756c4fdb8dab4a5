/**
 * `batchjob demo`, the main job: a live run of the whole system.
 *   1. find Redis (REDIS_URL, else a private redis-server, else say how),
 *   2. start one manager and two worker daemons as separate processes on
 *      the demo's config (inline, fork and spawn job types): examples/demo in
 *      the repository, demo/ in the packed CLI (copied there by `prepack`),
 *   3. say how to look from another terminal (`batchjob status --prefix
 *      ...`), enqueue the items (200,000 by default) and show live progress,
 *   4. when every queue is drained, print a summary from the worker history;
 *      with `--keep`, leave the daemons running and the keys in place until
 *      Ctrl-C, so `status` can be tried on them,
 *   5. stop everything (SIGTERM, then wait), delete the demo's keys (per
 *      master and slot: on a cluster too); Ctrl-C takes the same way out, a
 *      second Ctrl-C (or SIGTERM) kills the daemons and exits at once. Every
 *      step of the way out runs even when one before it failed. Nothing is
 *      left running.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BatchQueue,
  connectRedis,
  deleteMatching,
  type JobTypeConfig,
  type Keys,
  makeKeys,
  type RedisClient,
  RedisWorkerHistory,
  RedisWorkerList,
  redactUrl,
  type WorkerListItem,
} from "@batchjob/core";
import { type BatchjobHttpServer, startHttpServer } from "@batchjob/http";
import { bool, int } from "../args.js";
import type { Command } from "../command.js";
import { loadConfigFile } from "../config-file.js";
import { redisForDemo } from "../demo-redis.js";
import { renderLookHint, renderProgress, renderSummary, type TypeProgress } from "../demo-view.js";
import { wrapWords } from "../terminal.js";

/** The repository's examples/demo when run from the repository, else the copy packed with the CLI. */
function demoConfigPath(): string {
  const inRepo = fileURLToPath(new URL("../../../../examples/demo/batchjob.config.mjs", import.meta.url));
  return existsSync(inRepo) ? inRepo : fileURLToPath(new URL("../../demo/batchjob.config.mjs", import.meta.url));
}
const BIN = fileURLToPath(new URL("../bin.js", import.meta.url));
/** Share of the items per job type. */
const SHARE: Record<string, number> = { checksums: 0.5, renders: 0.3, "legacy-export": 0.2 };

interface Daemon {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** 2. Starts one daemon (`batchjob <args>`) as a child process, its output in `<logDir>/<name>.log`. */
function startDaemon(name: string, args: string[], env: NodeJS.ProcessEnv, logDir: string, configPath: string): Daemon {
  const log = createWriteStream(join(logDir, `${name}.log`));
  const child = spawn(process.execPath, [BIN, ...args, "--config", configPath], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return { name, child, exited };
}

/** 3. Enqueues `total` items shared between the job types; returns the items per type. */
async function enqueueShares(queue: BatchQueue, types: JobTypeConfig[], total: number): Promise<Map<string, number>> {
  const targets = new Map<string, number>();
  let offset = 0;
  for (const [i, t] of types.entries()) {
    const n = i === types.length - 1 ? total - offset : Math.floor(total * (SHARE[t.name] ?? 0));
    targets.set(t.name, n);
    for (let from = 0; from < n; from += 20_000) {
      const size = Math.min(20_000, n - from);
      await queue.enqueue(
        t.name,
        Array.from({ length: size }, (_, k) => ({ payload: { n: offset + from + k } })),
      );
    }
    offset += n;
  }
  return targets;
}

interface Watch {
  client: RedisClient;
  keys: Keys;
  queue: BatchQueue;
  types: JobTypeConfig[];
  targets: Map<string, number>;
  daemons: Daemon[];
  logDir: string;
  started: number;
  interrupted: () => boolean;
  out: (text: string) => void;
  /** Columns each line fits. */
  width: () => number;
}

/** One reading of every type's progress, the load level and the live hosts. */
async function readProgress(w: Watch, workers: WorkerListItem[]): Promise<TypeProgress[]> {
  const decisions = await w.client.hgetall(w.keys.decisions);
  return Promise.all(
    w.types.map(async (t) => ({
      name: t.name,
      launcher: t.launcher.kind,
      total: w.targets.get(t.name) ?? 0,
      counts: await w.queue.counts(t.name),
      running: workers.filter((x) => x.jobType === t.name).length,
      target: decisions[t.name] ? (JSON.parse(decisions[t.name] as string) as { target: number }).target : null,
    })),
  );
}

/** 3. Shows progress until every queue is drained (or Ctrl-C); a daemon that exits is an error. */
async function watchProgress(w: Watch): Promise<TypeProgress[]> {
  const tty = process.stdout.isTTY === true;
  const list = new RedisWorkerList(w.client, w.keys);
  let lastPlain = 0;
  for (;;) {
    const [workers, loadRaw, hosts] = await Promise.all([
      list.list(),
      w.client.get(w.keys.load),
      w.client.zcard(w.keys.hostBeats),
    ]);
    const view = await readProgress(w, workers);
    const level = loadRaw ? (JSON.parse(loadRaw) as { level: string }).level : "-";
    const text = renderProgress(view, level, hosts, performance.now() - w.started, w.width());
    if (tty) w.out(`\x1b[2J\x1b[H${text}`);
    else if (performance.now() - lastPlain > 2000) {
      w.out(text);
      lastPlain = performance.now();
    }
    const busy = view.some((t) => t.counts.pending + t.counts.leased + t.counts.delayed > 0) || workers.length > 0;
    if (!busy || w.interrupted()) return view;
    const dead = w.daemons.find((d) => d.child.exitCode !== null);
    if (dead)
      throw new Error(`the ${dead.name} daemon exited (code ${dead.child.exitCode}); see ${w.logDir}/${dead.name}.log`);
    await new Promise((r) => setTimeout(r, tty ? 250 : 500));
  }
}

/**
 * 4. `--keep`: the work is done; the daemons keep running and the keys stay
 * until Ctrl-C (or SIGTERM). Returns when interrupted, or throws when a
 * daemon exits meanwhile.
 */
async function keepRunning(w: Watch): Promise<void> {
  while (!w.interrupted()) {
    const dead = w.daemons.find((d) => d.child.exitCode !== null);
    if (dead)
      throw new Error(`the ${dead.name} daemon exited (code ${dead.child.exitCode}); see ${w.logDir}/${dead.name}.log`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Kills every daemon still running at once (SIGKILL). */
function killAll(daemons: Daemon[]): void {
  for (const d of daemons) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill("SIGKILL");
}

/** 5. Stops the daemons: SIGTERM, SIGKILL after 15 s. */
async function stopDaemons(daemons: Daemon[]): Promise<void> {
  for (const d of daemons) if (d.child.exitCode === null) d.child.kill("SIGTERM");
  const timeout = setTimeout(() => killAll(daemons), 15_000);
  await Promise.all(daemons.map((d) => d.exited));
  clearTimeout(timeout);
}

/**
 * 5. The way out, each step on its own so a failing one (a cluster node
 * down) cannot keep the others from running: stop the daemons, delete the
 * demo's keys from a shared Redis (every key starts with the prefix, the
 * BullMQ inboxes too), close the connection (dropped if it does not close
 * within 2 s), stop a private Redis. Returns what failed.
 */
async function wayOut(o: {
  daemons: Daemon[];
  client: RedisClient;
  keys: Keys;
  redis: { private: boolean; stop(): Promise<void> };
}): Promise<string[]> {
  const failed: string[] = [];
  const step = async (what: string, run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (err) {
      failed.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  await step("stopping the daemons", () => stopDaemons(o.daemons));
  if (!o.redis.private) await step("deleting the demo's keys", () => deleteMatching(o.client, `${o.keys.prefix}:*`));
  await step("closing the Redis connection", async () => {
    const dropped = new Promise<void>((r) => setTimeout(r, 2000).unref());
    await Promise.race([o.client.quit().catch(() => undefined), dropped]);
    o.client.disconnect();
  });
  await step("stopping the private Redis", () => o.redis.stop());
  return failed;
}

export const demoCommand: Command = {
  name: "demo",
  summary: "run the whole system live: a manager, two workers, 200,000 items on three launchers",
  help: `Usage: batchjob demo [--items N] [--keep]

Starts Redis (REDIS_URL when it answers, else a private redis-server from
PATH), one manager and two worker daemons as separate processes, with the job
types of the demo config shipped with the CLI (demo/batchjob.config.mjs; in
the repository examples/demo) (inline, fork and spawn launchers);
enqueues N items, shows a progress bar per job type, the workers running
against the manager's target and the load level; then prints a summary from
the worker history (items per second, workers run, peak memory per worker)
and stops everything. Daemon logs go to a temp folder named at the start.
It prints the 'batchjob status --prefix ...' command that shows the run
from another terminal (with REDIS_URL when its Redis is not the default).

Options:
  --items N            items to enqueue (default 200000)
  --keep               when the work is done, keep the daemons running and
                       the keys in place until Ctrl-C (then stop and clean
                       up as usual, exit 0): time to try 'batchjob status'
  -h, --help           this help`,
  flags: { items: { type: "string" }, keep: { type: "boolean" } },
  maxPositionals: 0,
  async run(p, io) {
    const total = int(p, "items", { min: 1 }) ?? 200_000;
    const keep = bool(p, "keep");
    const width = () => io.term.width();
    const say = io.out;
    /** A sentence wrapped to the terminal's width. */
    const sayWrapped = (text: string) => say(wrapWords(text, width()).join("\n"));
    const redis = await redisForDemo(io.env, say);
    const prefix = `demo-${process.pid}`;
    const logDir = mkdtempSync(join(tmpdir(), "batchjob-demo-"));
    const env = {
      ...io.env,
      REDIS_URL: redis.url,
      BATCHJOB_PREFIX: prefix,
      BATCHJOB_LOG_LEVEL: io.env.BATCHJOB_LOG_LEVEL ?? "info",
    };
    const configPath = demoConfigPath();
    const { config } = await loadConfigFile(configPath, env);
    sayWrapped(
      `Redis ${redactUrl(redis.url)}${redis.private ? " (private, stopped at the end)" : ""}; keys under ${prefix}:; logs in ${logDir}`,
    );
    const client = connectRedis(redis.url);
    client.on("error", () => {});
    const keys = makeKeys(prefix);
    const queue = new BatchQueue({ redis: client, prefix });
    // the dashboard of the run, on loopback (no token needed there), while the demo runs
    let dashboard: BatchjobHttpServer | undefined;
    try {
      dashboard = await startHttpServer({ listen: "127.0.0.1:0", source: { client, keys, queue, config } });
    } catch (err) {
      sayWrapped(`(no dashboard: ${(err as Error).message})`);
    }
    say(renderLookHint(prefix, redis.url, width(), dashboard?.url));

    const daemons: Daemon[] = [];
    let interrupted = false;
    // the first signal takes the way out; a second one (the way out is stuck) kills everything and exits
    const onSignal = (sig: NodeJS.Signals) => {
      if (!interrupted) {
        interrupted = true;
        return;
      }
      killAll(daemons);
      void redis.stop();
      process.exit(sig === "SIGINT" ? 130 : 143);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const started = performance.now();
    try {
      daemons.push(startDaemon("manager", ["manager"], env, logDir, configPath));
      for (const n of [1, 2])
        daemons.push(startDaemon(`worker-${n}`, ["worker", "--host-id", `demo-worker-${n}`], env, logDir, configPath));
      for (let i = 0; i < 100 && (await client.zcard(keys.hostBeats)) < 2; i++)
        await new Promise((r) => setTimeout(r, 100));
      const targets = await enqueueShares(queue, config.jobTypes, total);
      sayWrapped(
        `enqueued ${total.toLocaleString("en-US")} items: ${[...targets].map(([k, v]) => `${k} ${v.toLocaleString("en-US")}`).join(", ")}`,
      );
      say("");
      const watch: Watch = {
        client,
        keys,
        queue,
        types: config.jobTypes,
        targets,
        daemons,
        logDir,
        started,
        out: io.out,
        width,
        interrupted: () => interrupted,
      };
      const view = await watchProgress(watch);
      const elapsed = performance.now() - started;
      if (interrupted) {
        say("\ninterrupted: stopping the daemons");
        return 130;
      }
      const history = await new RedisWorkerHistory(client, keys).list({ limit: 10_000 });
      say(`\n${renderProgress(view, "-", 0, elapsed, width()).split("\n").slice(2).join("\n")}\n`);
      say(renderSummary(view, history, elapsed, width()));
      if (keep) {
        say("");
        sayWrapped(
          `--keep: the work is done; the manager and ${daemons.length - 1} workers keep running and the keys under ${prefix}: stay. Press Ctrl-C to stop everything and clean up.`,
        );
        say(renderLookHint(prefix, redis.url, width(), dashboard?.url));
        await keepRunning(watch);
      }
      return 0;
    } finally {
      await dashboard?.close().catch(() => undefined);
      const failed = await wayOut({ daemons, client, keys, redis });
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      say(`stopped the manager, ${daemons.length - 1} workers${redis.private ? " and Redis" : ""}.`);
      for (const f of failed) io.err(`batchjob demo: ${f}`);
    }
  },
};
