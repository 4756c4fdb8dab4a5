/**
 * The spawn launcher with real processes (Node fixtures, one Python job):
 * stdin document, JSON-line results, exit codes, signals, timeouts, bad
 * output, a command that does not exist, peak memory.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createLogger, ErrorCode, type LauncherSpec } from "@batchjob/core";
import { describe, expect, it, vi } from "vitest";
import { createLauncher } from "../src/launchers/create.js";
import type { RunContext } from "../src/launchers/types.js";
import { fixture, jsonBatchOf } from "./fixtures/batches.js";
import { captureLog, logged } from "./fixtures/capture-log.js";

const log = createLogger("test", { level: "silent" });
const MB = 1024 * 1024;
const hasProc = process.platform === "linux";

function probePython(): boolean {
  try {
    execFileSync("python3", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const hasPython = probePython();
if (!hasPython) console.warn("python3 not found: skipping the spawn test of a Python job");

type SpawnSpec = Extract<LauncherSpec, { kind: "spawn" }>;

async function spawnOf(script: string, fields: Partial<SpawnSpec> = {}, logger = log) {
  const spec: LauncherSpec = {
    kind: "spawn",
    command: process.execPath,
    args: [script],
    timeoutMs: 20_000,
    ...fields,
  };
  return createLauncher(spec, { jobType: "test", baseDir: fixture("spawn"), log: logger });
}

const ctx = (signal = new AbortController().signal, logger = log): RunContext => ({ signal, log: logger });

describe("spawn launcher", () => {
  it("writes the chunk to stdin and reads a result line per item", async () => {
    const launcher = await spawnOf("ok.mjs");
    const batch = jsonBatchOf([{ a: 1 }, { b: 2 }]);
    const report = await launcher.run(batch, ctx());
    await launcher.close();
    expect(launcher.kind).toBe("spawn");
    expect([...report.results.entries()]).toEqual([
      ["item-0", { ok: true }],
      ["item-1", { ok: true }],
    ]);
    expect(report.unreported).toEqual({ ok: true });
    expect(report.fatal).toBeUndefined();
  });

  it("runs in cwd (relative to baseDir) with the spec's env, the job type and the chunk id", async () => {
    const launcher = await spawnOf("env.mjs", {
      cwd: "..",
      env: { EXTRA: "from-spec" },
      args: ["spawn/env.mjs", "--flag"],
    });
    const batch = jsonBatchOf([{ n: 1 }]);
    const report = await launcher.run(batch, ctx());
    const seen = JSON.parse(report.results.get("item-0")?.error ?? "{}");
    expect(seen).toEqual({
      jobTypeEnv: "test",
      chunkIdEnv: batch.id,
      extra: "from-spec",
      cwd: dirname(fixture("spawn")),
      argv: ["--flag"],
      chunk: { chunkId: batch.id, jobType: "test", items: [{ id: "item-0", payload: { n: 1 }, attempts: 0 }] },
    });
  });

  it("keeps each item's own outcome in a partial failure; exit 0 leaves the rest ok", async () => {
    const launcher = await spawnOf("partial.mjs");
    const report = await launcher.run(
      jsonBatchOf([{}, { fail: "bad input", retry: false }, { fail: "busy", delayMs: 500 }, { skip: true }]),
      ctx(),
    );
    expect(report.results.get("item-0")).toEqual({ ok: true });
    expect(report.results.get("item-1")).toEqual({ ok: false, error: "bad input", retry: false });
    expect(report.results.get("item-2")).toEqual({ ok: false, error: "busy", delayMs: 500 });
    expect(report.results.has("item-3")).toBe(false);
    expect(report.unreported).toEqual({ ok: true });
  });

  it("fails items without a result with the exit code and the last stderr line", async () => {
    const { log: capture, records } = captureLog();
    const launcher = await spawnOf("exit-nonzero.mjs", {}, capture);
    const report = await launcher.run(jsonBatchOf([1, 2]), ctx(undefined, capture));
    expect(report.results.get("item-0")).toEqual({ ok: true });
    expect(report.unreported).toEqual({ ok: false, error: "exit code 3: something broke", retry: true });
    expect(report.fatal).toBeUndefined();
    expect(logged(records, "warn", { stream: "stderr" }).map((r) => r.msg)).toEqual(["warming up", "something broke"]);
  });

  it("reports crashed when the process is killed by a signal it was not sent, keeping reported results", async () => {
    const launcher = await spawnOf("crash.mjs");
    const report = await launcher.run(jsonBatchOf([1, 2]), ctx());
    expect(report.results.get("item-0")).toEqual({ ok: true });
    expect(report.fatal).toEqual({ reason: "crashed", error: "killed by SIGKILL" });
    expect(report.unreported).toEqual({ ok: false, error: "killed by SIGKILL", retry: true });
  });

  it("ignores lines that are not results, with their line numbers in BJ_ERR_LAUNCHER_OUTPUT warnings", async () => {
    const { log: capture, records } = captureLog();
    const launcher = await spawnOf("garbage.mjs", {}, capture);
    const report = await launcher.run(jsonBatchOf([1, 2]), ctx(undefined, capture));
    expect([...report.results.entries()]).toEqual([
      ["item-0", { ok: true }],
      ["item-1", { ok: false, error: "no newline at the end" }],
    ]);
    expect(report.unreported).toEqual({ ok: true });
    const warnings = logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT });
    expect(warnings.map((w) => (w.obj as { where: string }).where)).toEqual([
      "stdout line 1",
      "stdout line 3",
      "stdout line 4",
      "stdout line 5",
    ]);
    expect(warnings[0]?.msg).toContain("not JSON");
    expect(warnings[3]?.msg).toContain("unknown item id");
  });

  it("terminates the process on timeout and reports fatal timeout, keeping reported results", async () => {
    // 3 s: room for a Node start on a loaded 2-core machine before the job prints its first result
    const launcher = await spawnOf("slow.mjs", { timeoutMs: 3000 });
    const report = await launcher.run(jsonBatchOf([1, 2]), ctx());
    expect(report.results.get("item-0")).toEqual({ ok: true });
    expect(report.fatal).toEqual({ reason: "timeout", error: "timed out after 3000 ms" });
    expect(report.unreported).toEqual({ ok: false, error: "timed out after 3000 ms", retry: true });
  });

  it("on timeout also stops what the command started (its whole process group)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bj-group-"));
    const pidFile = join(dir, "grandchild.pid");
    const launcher = await spawnOf("", {
      command: "sh",
      args: ["-c", `sleep 30 & echo $! > ${pidFile}; wait`],
      timeoutMs: 300,
    });
    const report = await launcher.run(jsonBatchOf([1]), ctx());
    expect(report.fatal?.reason).toBe("timeout");
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    const alive = () => {
      try {
        process.kill(grandchild, 0);
        return true;
      } catch {
        return false;
      }
    };
    await vi.waitFor(() => expect(alive()).toBe(false), { timeout: 5000 });
  });

  it("SIGKILLs a process that ignores SIGTERM 2 s after the timeout", async () => {
    const { log: capture, records } = captureLog();
    const launcher = await spawnOf("slow.mjs", { timeoutMs: 3000, args: ["slow.mjs", "--ignore-term"] }, capture);
    const started = performance.now();
    const report = await launcher.run(jsonBatchOf([1]), ctx(undefined, capture));
    expect(report.fatal?.reason).toBe("timeout");
    expect(logged(records, "warn", { stream: "stderr" }).map((r) => r.msg)).toEqual(["running", "SIGTERM ignored"]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(5_000);
  });

  it("kills the process and returns when ctx.signal aborts", async () => {
    const abort = new AbortController();
    const { log: capture, records } = captureLog();
    // slow.mjs never ends and the timeout is out of reach: only the abort can end this run
    const launcher = await spawnOf("slow.mjs", { timeoutMs: 600_000 }, capture);
    const running = launcher.run(jsonBatchOf([1, 2]), ctx(abort.signal, capture));
    await vi.waitFor(() => expect(logged(records, "warn", { stream: "stderr" })).toHaveLength(1), { interval: 10 });
    abort.abort("lease lost");
    const report = await running;
    expect(report.results.get("item-0")).toEqual({ ok: true });
    expect(report.unreported).toEqual({ ok: false, error: "aborted: lease lost", retry: true });
    expect(report.fatal).toBeUndefined();
  });

  it("reports crashed when the command cannot be started", async () => {
    const launcher = await spawnOf("ok.mjs", { command: "batchjob-no-such-command" });
    const report = await launcher.run(jsonBatchOf([1]), ctx());
    expect(report.fatal).toEqual({ reason: "crashed", error: "cannot start batchjob-no-such-command: ENOENT" });
    expect(report.unreported).toMatchObject({ ok: false, retry: true });
    expect(report.peakMemoryBytes).toBeNull();
  });

  it("is not disturbed when the job exits without reading its stdin (EPIPE)", async () => {
    const launcher = await spawnOf("no-stdin.mjs");
    const big = "x".repeat(512 * 1024);
    const report = await launcher.run(jsonBatchOf([{ big }, { big }]), ctx());
    expect(report.unreported).toEqual({ ok: true });
    expect(report.fatal).toBeUndefined();
  });

  it.skipIf(!hasProc)("reports the peak RSS of the process", async () => {
    const launcher = await spawnOf("memory.mjs");
    const report = await launcher.run(jsonBatchOf([{ mb: 64, holdMs: 300 }]), ctx());
    expect(report.results.get("item-0")).toEqual({ ok: true });
    expect(report.peakMemoryBytes).toBeGreaterThan(64 * MB);
  });

  it.skipIf(!hasPython)("runs a job written in Python", async () => {
    const launcher = await spawnOf("job.py", { command: "python3" });
    const report = await launcher.run(jsonBatchOf([{}, { fail: "no such user", retry: false }]), ctx());
    expect(report.results.get("item-0")).toEqual({ ok: true });
    expect(report.results.get("item-1")).toEqual({ ok: false, error: "no such user", retry: false });
    expect(report.unreported).toEqual({ ok: true });
  });
});
