/**
 * The process launcher with a Node worker process speaking the protocol by hand
 * (fixtures/process/loop.mjs): one process serves many chunks, results and progress lines,
 * a crash mid-chunk charges only the running item and the next chunk gets a new process,
 * a timeout kills the process group, maxChunks and memory retire it between chunks, a line
 * that breaks the protocol fails the chunk without acking, its kind's options and their errors.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, ErrorCode, type LauncherSpec, parseJobType } from "@batchjob/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { issuesOf } from "../../../test/harness/config-issues.js";
import { builtinLaunchers } from "../src/index.js";
import { createLauncher } from "../src/launchers/create.js";
import { ProcessLauncher } from "../src/launchers/process.js";
import type { ChunkReport, RunContext } from "../src/launchers/types.js";
import { settlementOf } from "../src/outcome.js";
import { fixture, jsonBatchOf } from "./fixtures/batches.js";
import { captureLog, logged } from "./fixtures/capture-log.js";

const log = createLogger("test", { level: "silent" });
const hasProc = existsSync("/proc/self/status");
const launchers: ProcessLauncher[] = [];
const ctx = (signal = new AbortController().signal, logger = log): RunContext => ({ signal, log: logger });

afterEach(async () => {
  await Promise.all(launchers.splice(0).map((l) => l.close()));
});

type ProcessSpec = Extract<LauncherSpec, { kind: "process" }>;

async function nodeLoop(
  fields: Partial<ProcessSpec> = {},
  logger = log,
  args: string[] = [],
): Promise<ProcessLauncher> {
  const spec: LauncherSpec = {
    kind: "process",
    command: process.execPath,
    args: ["loop.mjs", ...args],
    timeoutMs: 20_000,
    memoryLimitMb: 512,
    ...fields,
  };
  const l = await createLauncher(spec, { jobType: "test", baseDir: fixture("process"), log: logger });
  expect(l).toBeInstanceOf(ProcessLauncher);
  launchers.push(l as ProcessLauncher);
  return l as ProcessLauncher;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

const ok = { ok: true };

describe("process launcher", () => {
  it("serves several chunks from one process, with each item's result", async () => {
    const launcher = await nodeLoop();
    const pids: (number | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      const report = await launcher.run(jsonBatchOf([{}, { fail: "bad input", retry: false }, {}]), ctx());
      expect([...report.results.entries()]).toEqual([
        ["item-0", ok],
        ["item-1", { ok: false, error: "bad input", retry: false }],
        ["item-2", ok],
      ]);
      expect(report.unreported).toEqual({ ok: true });
      expect(report.fatal).toBeUndefined();
      expect(report.running).toBeUndefined();
      pids.push(launcher.pid);
    }
    expect(pids[0]).toBeGreaterThan(1);
    expect(new Set(pids).size).toBe(1);
    const pid = pids[0] as number;
    await launcher.close();
    expect(alive(pid)).toBe(false);
  });

  it("on a crash mid-chunk keeps the results, charges only the running item, and restarts the process", async () => {
    const launcher = await nodeLoop();
    await launcher.run(jsonBatchOf([{}]), ctx());
    const first = launcher.pid;
    const batch = jsonBatchOf([{}, { crash: true }, {}, {}]);
    const report = await launcher.run(batch, ctx());
    expect(report.results.get("item-0")).toEqual(ok);
    expect(report.running).toBe("item-1");
    // the error ends with the process's last stderr line (the fixture's "took chunk <id>")
    expect(report.fatal).toEqual({
      reason: "crashed",
      error: `worker process exited with code 3: took chunk ${batch.id}`,
    });
    const s = settlementOf(batch, report, { giveBackUnreported: false });
    expect(s.ack).toEqual(["item-0"]);
    expect(s.fail.map((f) => [f.id, f.how])).toEqual([["item-1", "running when its chunk failed"]]);
    expect(s.requeue).toEqual(["item-2", "item-3"]);

    const next = await launcher.run(jsonBatchOf([{}]), ctx());
    expect(next.results.get("item-0")).toEqual(ok);
    expect(launcher.pid).not.toBe(first);
  });

  it("starts a new process for the next chunk when one dies between chunks", async () => {
    const { log: capture, records } = captureLog();
    const launcher = await nodeLoop({}, capture);
    await launcher.run(jsonBatchOf([{}]), ctx(undefined, capture));
    const first = launcher.pid as number;
    process.kill(first, "SIGKILL");
    await vi.waitFor(() =>
      expect(
        logged(records, "warn").some((r) =>
          /^worker process killed by SIGKILL.* between chunks; the next chunk starts a new one$/.test(r.msg ?? ""),
        ),
      ).toBe(true),
    );
    expect(launcher.pid).toBeUndefined();
    expect((await launcher.run(jsonBatchOf([{}]), ctx(undefined, capture))).unreported).toEqual({ ok: true });
    expect(launcher.pid).not.toBe(first);
  });

  it.skipIf(!hasProc)("on timeout kills the process's whole group and names the running item", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bj-process-"));
    const pidFile = join(dir, "grandchild.pid");
    const launcher = await nodeLoop({ timeoutMs: 3000 });
    const report = await launcher.run(jsonBatchOf([{}, { grandchild: pidFile }, {}]), ctx());
    expect(report.fatal).toEqual({ reason: "timeout", error: "timed out after 3000 ms" });
    expect(report.results.get("item-0")).toEqual(ok);
    expect(report.running).toBe("item-1");
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    await vi.waitFor(() => expect(alive(grandchild)).toBe(false), { timeout: 10_000, interval: 20 });
  });

  it("retires the process after maxChunks chunks", async () => {
    const { log: capture, records } = captureLog();
    const launcher = await nodeLoop({ maxChunks: 2 }, capture);
    for (let i = 0; i < 5; i++) {
      const report = await launcher.run(jsonBatchOf([{}]), ctx(undefined, capture));
      expect(report.unreported).toEqual({ ok: true });
    }
    // the pid that took each chunk, from the stderr line the fixture writes per chunk (stderr may
    // reach the log after the chunk's result line on stdout: wait for the fifth)
    const stderrPids = () => logged(records, "warn", { stream: "stderr" }).map((r) => (r.obj as { pid: number }).pid);
    await vi.waitFor(() => expect(stderrPids()).toHaveLength(5), { timeout: 5000 });
    const pids = stderrPids();
    expect(pids[0]).toBe(pids[1]);
    expect(pids[2]).toBe(pids[3]);
    expect(new Set([pids[0], pids[2], pids[4]]).size).toBe(3);
    expect(logged(records, "info").map((r) => r.msg)).toEqual([
      "worker process ran maxChunks (2) chunks: restarting it",
      "worker process ran maxChunks (2) chunks: restarting it",
    ]);
  });

  it("fails the chunk when a line breaks the protocol: nothing unreported is acked", async () => {
    const { log: capture, records } = captureLog();
    const launcher = await nodeLoop({}, capture);
    const batch = jsonBatchOf([{}, { garbage: true }, {}]);
    const report = await launcher.run(batch, ctx(undefined, capture));
    expect([...report.results.entries()]).toEqual([
      ["item-0", ok],
      ["item-2", ok],
    ]);
    expect(report.unreported).toEqual({
      ok: false,
      error: 'the worker process broke the protocol (stdout line 5): not JSON: {"id":"item-1","ok":tr',
      retry: true,
    });
    // it went on to item-2 after the broken line, so item-1 is the one item left without a result
    expect(report.fatal).toBeUndefined();
    const s = settlementOf(batch, report, { giveBackUnreported: false });
    expect(s.ack).toEqual(["item-0", "item-2"]);
    expect(s.fail.map((f) => [f.id, f.error])).toEqual([["item-1", (report.unreported as { error: string }).error]]);
    expect(logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT })).toHaveLength(1);
    // the process goes on with the next chunk
    const pid = launcher.pid;
    expect((await launcher.run(jsonBatchOf([{}]), ctx())).unreported).toEqual({ ok: true });
    expect(launcher.pid).toBe(pid);
  });

  it("fails the chunk and replaces the process when its done line names another chunk", async () => {
    const launcher = await nodeLoop();
    const report = await launcher.run(jsonBatchOf([{}, { otherDone: true }]), ctx());
    expect(report.unreported).toMatchObject({ ok: false, retry: true });
    expect((report.unreported as { error: string }).error).toMatch(/done for chunk "some-other-chunk" while chunk/);
    expect(launcher.pid).toBeUndefined();
    expect((await launcher.run(jsonBatchOf([{}]), ctx())).unreported).toEqual({ ok: true });
  });

  it("replaces a process that writes between chunks", async () => {
    const { log: capture, records } = captureLog();
    const launcher = await nodeLoop({}, capture, ["--stray"]);
    const replaced = () =>
      logged(records, "warn").filter(
        (r) => r.msg === "worker process wrote a result line between chunks: replacing it",
      );
    await launcher.run(jsonBatchOf([{}]), ctx(undefined, capture));
    await vi.waitFor(() => expect(replaced()).toHaveLength(1));
    expect((await launcher.run(jsonBatchOf([{}]), ctx(undefined, capture))).unreported).toEqual({ ok: true });
    const pids = logged(records, "warn", { stream: "stderr" }).map((r) => (r.obj as { pid: number }).pid);
    expect(pids).toHaveLength(2);
    expect(pids[1]).not.toBe(pids[0]);
  });

  it("ignores lines before the ready line, refuses another protocol, times out a process never ready", async () => {
    const { log: capture, records } = captureLog();
    const banner = await nodeLoop({}, capture, ["--banner"]);
    expect((await banner.run(jsonBatchOf([{}]), ctx(undefined, capture))).unreported).toEqual({ ok: true });
    expect(logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT })[0]?.msg).toContain("before the ready line");

    const other = await nodeLoop({}, log, ["--protocol", "2"]);
    expect((await other.run(jsonBatchOf([{}]), ctx())).fatal).toEqual({
      reason: "crashed",
      error: "the worker process speaks protocol 2, not 1",
    });

    const never = new ProcessLauncher({
      jobType: "test",
      command: process.execPath,
      args: [fixture("process/loop.mjs"), "--no-ready"],
      cwd: fixture("process"),
      timeoutMs: 20_000,
      memoryLimitMb: 512,
      startTimeoutMs: 500,
      log,
    });
    launchers.push(never);
    expect((await never.run(jsonBatchOf([{}]), ctx())).fatal).toEqual({
      reason: "timeout",
      error: "the worker process did not say it was ready within 500 ms",
    });
  });

  it("kills the process when ctx.signal aborts, and reports a command that cannot start", async () => {
    const abort = new AbortController();
    const launcher = await nodeLoop();
    const running = launcher.run(jsonBatchOf([{}, { hang: true }]), ctx(abort.signal));
    await vi.waitFor(() => expect(launcher.pid).toBeDefined());
    abort.abort("lease lost");
    const report: ChunkReport = await running;
    expect(report.unreported).toEqual({ ok: false, error: "aborted: lease lost", retry: true });
    expect(report.fatal).toBeUndefined();

    const missing = await nodeLoop({ command: "batchjob-no-such-command" });
    expect((await missing.run(jsonBatchOf([{}]), ctx())).fatal).toEqual({
      reason: "crashed",
      error: "cannot start batchjob-no-such-command: ENOENT",
    });
  });
});

describe.skipIf(!hasProc)("process launcher memory", () => {
  it("retires a process that grows across chunks between chunks", async () => {
    const { log: capture, records } = captureLog();
    const launcher = await nodeLoop({ memoryLimitMb: 160 }, capture);
    for (let i = 0; i < 6; i++) {
      const report = await launcher.run(jsonBatchOf([{ mb: 30 }]), ctx(undefined, capture));
      expect(report.fatal).toBeUndefined();
      expect(report.unreported).toEqual({ ok: true });
      expect(report.peakMemoryBytes).toBeGreaterThan(30 * 1024 * 1024);
    }
    const retired = logged(records, "info").filter((r) =>
      /^worker process (would pass|is above) memoryLimitMb/.test(r.msg ?? ""),
    );
    expect(retired.length).toBeGreaterThanOrEqual(1);
    for (const r of retired) expect((r.obj as { rssMb: number }).rssMb).toBeLessThanOrEqual(160 * 1.5);
  });

  it("kills a process far over memoryLimitMb mid-chunk, naming the item it was on", async () => {
    const launcher = new ProcessLauncher({
      jobType: "test",
      command: process.execPath,
      args: [fixture("process/loop.mjs")],
      cwd: fixture("process"),
      timeoutMs: 60_000,
      memoryLimitMb: 100,
      memoryPollMs: 20,
      log,
    });
    launchers.push(launcher);
    const report = await launcher.run(jsonBatchOf([{}, { mb: 200, hold: true }, {}]), ctx());
    expect(report.fatal?.reason).toBe("memory-limit");
    expect(report.fatal?.error).toMatch(/^worker process RSS \d+ MB is above 1.5 x memoryLimitMb 100$/);
    expect(report.running).toBe("item-1");
    expect(report.results.get("item-0")).toEqual(ok);
  });
});

describe("process launcher options", () => {
  const jobType = (launcher: unknown) => parseJobType({ name: "a", launcher }, "job type", builtinLaunchers);

  it("fill their defaults", () => {
    expect(jobType({ kind: "process", command: "php", args: ["worker.php"] }).launcher).toEqual({
      kind: "process",
      command: "php",
      args: ["worker.php"],
      memoryLimitMb: 512,
      timeoutMs: 300_000,
    });
  });

  it("name the path of a bad option", () => {
    expect(issuesOf(() => jobType({ kind: "process" }))).toEqual([{ path: "launcher.command", message: "required" }]);
    const bad = issuesOf(() => jobType({ kind: "process", command: "php", maxChunks: 0, memoryLimitMb: -1 }));
    expect(bad.map((i) => i.path).sort()).toEqual(["launcher.maxChunks", "launcher.memoryLimitMb"]);
  });
});
