/**
 * The CLI in a terminal and in a pipe, through the real process: every
 * --help and the status and history tables fit 80 columns (long cells cut
 * with "…"), $COLUMNS widens them; host rows keep their order; colour only
 * when asked for and never with NO_COLOR; --version; `status` exits 3 when no
 * manager is leader or no worker host is alive; `status --watch --json` is
 * NDJSON; `status --watch | head -n 1` exits 0 quietly; on a terminal (a
 * pseudo-terminal from util-linux `script`) --watch draws on the alternate
 * screen with the cursor hidden and restores both on Ctrl-C.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { HostRegistry, historyItemOf, makeKeys, PausedTypes, RedisWorkerHistory, VERSION } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { fakeHost, testManager } from "../harness/daemons.js";
import { closeClient, connect, freshPrefix, redisUrl, track, waitFor } from "../harness/index.js";
import { CLI, runCli, spawnCli } from "../harness/processes.js";

/** The SGR and cursor escapes the CLI may write. */
const ESC = "\x1b";
const widest = (text: string) => Math.max(0, ...text.split("\n").map((l) => [...l].length));

/** An environment whose width and colour come from the test alone, whatever the shell running it exports. */
function envFor(prefix: string, over: Record<string, string> = {}): Record<string, string> {
  return { REDIS_URL: redisUrl(), BATCHJOB_PREFIX: prefix, COLUMNS: "", NO_COLOR: "", FORCE_COLOR: "0", ...over };
}

const SUBCOMMANDS = [
  [],
  ["manager"],
  ["worker"],
  ["status"],
  ["dashboard"],
  ["enqueue"],
  ["history"],
  ["dead", "list"],
  ["dead", "retry"],
  ["dead", "purge"],
  ["pause"],
  ["resume"],
  ["drain"],
  ["config", "check"],
  ["acl"],
  ["demo"],
];

/** A Redis with one job type, hosts and history whose names and messages are far too long for 80 columns. */
async function crowded(prefix: string) {
  const c = connect();
  const keys = makeKeys(prefix);
  const type = "thumbnails-for-the-product-catalogue-in-every-size";
  await runCli(["enqueue", type], { env: envFor(prefix), input: '{"a":1}\n{"a":2}\n' });
  const reason =
    "backlog 2 above minQueueEntries 1 and the cooldown of 30 s has passed, so one more worker starts on the least-loaded host";
  await c.hset(
    keys.decisions,
    type,
    JSON.stringify({ reason, at: Date.now(), start: 1, stopTokens: 0, level: "low", target: 3 }),
  );
  const hosts = new HostRegistry(c, keys);
  const longHost = "z-build-server-in-the-basement-rack-7-slot-12-0123456789";
  for (const id of [longHost, "a-host"]) await hosts.beat(fakeHost(id, { running: { [type]: 1 } }));
  // the registry lists by last beat: the long-named host beat first, so only a sort puts a-host first
  const now = Number((await c.time())[0]) * 1000;
  await c.zadd(keys.hostBeats, "XX", now - 2000, longHost, now - 1000, "a-host");
  const now2 = new Date().toISOString();
  const worker = {
    id: "w",
    jobType: type,
    hostId: longHost,
    hostname: "e",
    pid: 4242,
    launcher: "spawn",
    reservationId: "r",
    firstChunkId: "c",
    currentChunkId: null,
    currentChunkSize: 0,
    createdAt: now2,
    updatedAt: now2,
    chunks: 3,
    itemsDone: 123456,
    itemsFailed: 2,
    itemsRetried: 17,
  };
  await new RedisWorkerHistory(c, keys).add(
    historyItemOf(worker, {
      exitReason: "crashed",
      durationMs: 754_000,
      peakMemoryBytes: 300 * 1024 * 1024,
      error: "the job process exited with code 137 after the kernel's OOM killer chose it over the database",
    }),
  );
  return { c, type, reason, longHost };
}

describe("batchjob CLI in 80 columns", () => {
  it.each(SUBCOMMANDS)("%j --help fits 80 columns", async (...cmd) => {
    const r = await runCli([...cmd, "--help"], { env: { COLUMNS: "" } });
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(100);
    expect(widest(r.stdout), r.stdout).toBeLessThanOrEqual(80);
  });

  it("--version and -V print the package version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../packages/cli/package.json", import.meta.url), "utf8"));
    expect(pkg.version).toBe(VERSION);
    for (const flag of ["--version", "-V"]) {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${pkg.version}\n`);
    }
  });

  it("a paused type is marked PAUSED in the table (within 80 columns) and paused in --json", async () => {
    const prefix = freshPrefix();
    const env = envFor(prefix);
    await runCli(["enqueue", "mail"], { env, input: '{"a":1}\n' });
    await runCli(["enqueue", "thumbs"], { env, input: '{"a":1}\n' });
    const c = connect();
    await new PausedTypes(c, makeKeys(prefix)).pause("thumbs");
    const status = await runCli(["status"], { env });
    expect(widest(status.stdout), status.stdout).toBeLessThanOrEqual(80);
    // PENDING 1, WAIT (the item's age), LEASED 0, DELAYED 0, DEAD 0
    expect(status.stdout).toMatch(/^thumbs PAUSED\s+1\s+\d+\.\d s\s+0\s+0\s+0\s/m);
    expect(status.stdout).toMatch(/^mail\s+1\s/m);
    const json = JSON.parse((await runCli(["status", "--json"], { env })).stdout);
    expect(json.jobTypes.map((t: { name: string; paused: boolean }) => [t.name, t.paused])).toEqual([
      ["mail", false],
      ["thumbs", true],
    ]);
    await closeClient(c);
  });

  it("status and history fit 80 columns in a pipe, cutting the widest cells; $COLUMNS widens them; hosts by id", async () => {
    const prefix = freshPrefix();
    const { c, reason, longHost } = await crowded(prefix);
    const env = envFor(prefix);
    const status = await runCli(["status"], { env });
    expect(widest(status.stdout), status.stdout).toBeLessThanOrEqual(80);
    // every table is there, its long cells cut with an ellipsis
    expect(status.stdout).toMatch(/^TYPE\s+PENDING\s+WAIT\s+LEASED\s+DELAYED\s+DEAD\s+WORKERS\s+LAST DECISION$/m);
    expect(status.stdout).toMatch(/^thumbnails-\S*…\s+2\s+\d+\.\d s\s+0\s+0\s+0\s+0\/3\s+backlog 2 ab.*…$/m);
    expect(status.stdout).toMatch(/^HOST\s+HEARTBEAT\s+LOAD\s+CPU\s+FREE MEM\s+SLOTS\s+RUNNING$/m);
    expect(status.stdout).toMatch(/^FINISHED\s+TYPE\s+HOST\s+TOOK\s+DONE\s+FAIL\s+RETRY\s+PEAK MEM\s+REASON$/m);
    // times and sizes are never cut, nor numbers
    expect(status.stdout).toMatch(
      /^\d\d-\d\d \d\d:\d\d\s+thumb\S*…\s+z-bu\S*…\s+13 min\s+123456\s+2\s+17\s+300\.0 MiB\s+crash\S*…$/m,
    );
    expect(status.stdout).not.toContain(reason);
    // host rows by id: a-host first though it beat last
    const hostRows = status.stdout.split("\n").filter((l) => /^(a-host|z-build)/.test(l));
    expect(hostRows.map((l) => l.slice(0, 7))).toEqual(["a-host ", "z-build"]);
    const json = JSON.parse((await runCli(["status", "--json"], { env })).stdout);
    expect(json.hosts.map((h: { id: string }) => h.id)).toEqual(["a-host", longHost]);

    const history = await runCli(["history"], { env });
    expect(history.code).toBe(0);
    expect(widest(history.stdout), history.stdout).toBeLessThanOrEqual(80);
    expect(history.stdout).toMatch(/^\d\d-\d\d \d\d:\d\d\s+thumb\S*…\s+z-bu\S*…\s+13 min\s+123456\s/m);

    // $COLUMNS: wide enough, nothing is cut
    const wide = await runCli(["status"], { env: { ...env, COLUMNS: "400" } });
    expect(wide.stdout).toContain(reason);
    expect(wide.stdout).toContain(longHost);
    expect(wide.stdout).not.toContain("…");
    expect(widest(wide.stdout)).toBeGreaterThan(80);
    // no colour into a pipe
    expect(status.stdout + history.stdout + wide.stdout).not.toContain(ESC);
    await closeClient(c);
  });

  it("colours only when FORCE_COLOR asks for it, and never with NO_COLOR", async () => {
    const prefix = freshPrefix();
    const { c } = await crowded(prefix);
    const forced = await runCli(["status"], { env: envFor(prefix, { FORCE_COLOR: "1" }) });
    expect(forced.stdout).toContain(`${ESC}[31mcrash`);
    expect(forced.stdout).toContain(`${ESC}[1mTYPE`);
    // the colour does not count as width: the visible text still fits 80 columns
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping the SGR escapes the CLI wrote
    expect(widest(forced.stdout.replace(/\x1b\[[0-9;]*m/g, ""))).toBeLessThanOrEqual(80);
    const none = await runCli(["status"], { env: envFor(prefix, { FORCE_COLOR: "1", NO_COLOR: "1" }) });
    expect(none.stdout).not.toContain(ESC);
    expect(none.stdout).toMatch(/crashed/);
    await closeClient(c);
  });
});

describe("status as a probe", () => {
  it("exits 3 naming why when no manager is leader or no worker host is alive; --json too", async () => {
    const prefix = freshPrefix();
    const env = envFor(prefix);
    const empty = await runCli(["status"], { env });
    expect(empty.code).toBe(3);
    expect(empty.stdout).toMatch(/leader none/);
    expect(empty.stderr.trim().split("\n")).toEqual([
      "batchjob status: no leader: no manager holds the leader lease",
      "batchjob status: no live worker host",
    ]);
    const json = await runCli(["status", "--json"], { env });
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ prefix, leader: null, hosts: [] });

    // a manager leads, still no worker host
    const { rawE2eConfig } = await import("../harness/daemons.js");
    const { parseConfig } = await import("@batchjob/core");
    const raw = await rawE2eConfig();
    raw.prefix = prefix;
    const m = await testManager(parseConfig(raw));
    const c = connect();
    await waitFor("the leader lease", async () => (await c.get(makeKeys(prefix).leader)) === m.managerId);
    const led = await runCli(["status"], { env });
    expect(led.code).toBe(3);
    expect(led.stdout).toContain(`leader ${m.managerId}`);
    expect(led.stderr.trim()).toBe("batchjob status: no live worker host");
    await m.stop();
    await closeClient(c);
  });
});

describe("status --watch", () => {
  it("--json writes one JSON document a line, no escape codes even with colour forced; Ctrl-C exits 0", async () => {
    const prefix = freshPrefix();
    const p = spawnCli(["status", "--watch", "--json", "--interval", "1"], {
      env: envFor(prefix, { FORCE_COLOR: "1" }),
    });
    await waitFor("two documents", () => (p.stdout().match(/\n/g) ?? []).length >= 2, 30_000);
    p.kill("SIGINT");
    expect((await p.exited).code).toBe(0);
    const lines = p.stdout().split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ prefix, leader: null, problems: [] });
    expect(p.stdout()).not.toContain(ESC);
    expect(p.stderr()).toBe("");
  });

  it("`status --watch | head -n 1` exits 0 without a word on stderr", async () => {
    const prefix = freshPrefix();
    const sh = spawn(
      "bash",
      ["-o", "pipefail", "-c", `"${process.execPath}" "${CLI}" status --watch --interval 1 | head -n 1`],
      {
        env: { ...process.env, ...envFor(prefix) },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const r = await finished(sh, "status --watch | head -n 1");
    expect(r.stdout).toBe(`batchjob status  prefix ${prefix}  leader none\n`);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  const hasScript = (() => {
    try {
      execFileSync("script", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!hasScript)(
    "on a terminal: the alternate screen, cursor hidden, frames in place at its width; Ctrl-C restores it and exits 0",
    async () => {
      const prefix = freshPrefix();
      const { c, reason } = await crowded(prefix);
      // `exec`: the CLI replaces the shell, so Ctrl-C reaches the CLI alone whichever shell `script` runs ($SHELL,
      // or dash as /bin/sh, which a SIGINT would end before it could report anything); `-e` passes its exit code on
      const cmd = `stty cols 100 rows 40; exec "${process.execPath}" "${CLI}" status --watch --interval 1`;
      const tty = spawn("script", ["-qec", cmd, "/dev/null"], {
        env: { ...process.env, ...envFor(prefix), TERM: "xterm", SHELL: "/bin/sh" },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      tty.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
      });
      const done = finished(tty, "status --watch on a pseudo-terminal");
      await waitFor("two frames", () => (out.match(/refreshing every 1 s/g) ?? []).length >= 2, 30_000);
      tty.stdin?.write("\x03"); // Ctrl-C, as the terminal sends it
      const exit = await done;
      expect(exit.code).toBe(0);
      const screen = out;
      expect(screen.startsWith(`${ESC}[?1049h${ESC}[?25l${ESC}[H`)).toBe(true);
      // restored last: nothing drawn after the cursor is shown and the main screen is back
      expect(screen).toMatch(new RegExp(`${ESC}\\[\\?25h${ESC}\\[\\?1049l(\\r?\\n)?$`));
      // each frame from the top left, over the last: no clearing of the whole screen
      expect(screen).not.toContain(`${ESC}[2J`);
      expect(screen.split(`${ESC}[H`).length - 1).toBeGreaterThanOrEqual(2);
      // colour on a terminal; every line fits its 100 columns, and takes them (not 80)
      expect(screen).toContain(`${ESC}[1mTYPE`);
      const visible = screen
        // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping the escapes the CLI wrote
        .replace(/\x1b\[[0-9;]*m/g, "")
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the cursor and screen escapes end a line
        .replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, "\n")
        .replace(/\r/g, "");
      expect(widest(visible), visible).toBeLessThanOrEqual(100);
      expect(widest(visible), visible).toBeGreaterThan(80);
      expect(visible).toMatch(/backlog 2 above\b.*…/);
      expect(visible).not.toContain(reason);
      await closeClient(c);
    },
    60_000,
  );
});

/** Waits for a child this test started (tracked, so a failure cannot leave it running); its output and exit code. */
async function finished(child: ChildProcess, name: string) {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  track(
    `${name} (pid ${child.pid})`,
    () => child.exitCode === null && child.signalCode === null,
    async () => {
      child.kill("SIGKILL");
      await exited;
    },
  );
  const code = await exited;
  return { code, stdout, stderr };
}
