/**
 * The fork launcher with a real child process: reuse across chunks, results
 * over IPC, crash (kill -9 from outside and from the job), timeout, memory
 * limit, abort and a module that cannot be loaded.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, type LauncherSpec } from "@batchjob/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLauncher } from "../src/launchers/create.js";
import { ForkLauncher } from "../src/launchers/fork.js";
import { readProcMemory } from "../src/launchers/proc-memory.js";
import type { ChunkReport, RunContext } from "../src/launchers/types.js";
import { fixture, jsonBatchOf } from "./fixtures/batches.js";
import { captureLog, logged } from "./fixtures/capture-log.js";

const log = createLogger("test", { level: "silent" });
const hasProc = existsSync("/proc/self/status");
const MB = 1024 * 1024;
let launcher: ForkLauncher | undefined;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bj-fork-"));
});

afterEach(async () => {
  await launcher?.close();
  launcher = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function forkOf(module: string, fields: Partial<Extract<LauncherSpec, { kind: "fork" }>> = {}, logger = log) {
  const spec: LauncherSpec = {
    kind: "fork",
    module,
    export: "default",
    timeoutMs: 20_000,
    memoryLimitMb: 512,
    ...fields,
  };
  const created = await createLauncher(spec, { jobType: "test", baseDir: fixture("jobs"), log: logger });
  if (!(created instanceof ForkLauncher)) throw new Error("createLauncher did not build a ForkLauncher");
  launcher = created;
  return created;
}

const ctx = (signal = new AbortController().signal, logger = log): RunContext => ({ signal, log: logger });

/** Runs a chunk of the slow job and resolves once the job has started in the child. */
async function startSlow(
  l: ForkLauncher,
  signal?: AbortSignal,
): Promise<{ report: Promise<ChunkReport>; pid: number }> {
  const marker = join(dir, "started");
  const report = l.run(jsonBatchOf([{ marker }]), ctx(signal));
  await vi.waitFor(() => expect(existsSync(marker)).toBe(true), { timeout: 15_000, interval: 10 });
  const pid = l.pid;
  if (pid === undefined) throw new Error("no child pid while a chunk runs");
  return { report, pid };
}

describe("fork launcher", () => {
  it("starts one child lazily and reuses it for every chunk", async () => {
    const l = await forkOf("ok.mjs");
    expect(l.pid).toBeUndefined();
    const first = await l.run(jsonBatchOf([1, 2]), ctx());
    const pid = l.pid;
    const second = await l.run(jsonBatchOf([3]), ctx());
    expect(pid).toBeTypeOf("number");
    expect(pid).not.toBe(process.pid);
    expect(l.pid).toBe(pid);
    expect([...first.results.values()]).toEqual([{ ok: true }, { ok: true }]);
    expect(second.results.get("item-0")).toEqual({ ok: true });
    expect(second.unreported).toEqual({ ok: true });
    expect(second.peakMemoryBytes).toBeGreaterThan(10 * MB);
  });

  it("forwards the job's ctx.log lines to the chunk's logger", async () => {
    const { log: capture, records } = captureLog();
    const l = await forkOf("ok.mjs");
    const batch = jsonBatchOf([1, 2, 3]);
    await l.run(batch, ctx(undefined, capture));
    expect(logged(records, "info", { items: 3, chunkId: batch.id }).map((r) => r.msg)).toEqual(["ok job ran"]);
  });

  it("keeps each item's own outcome in a partial failure", async () => {
    const l = await forkOf("partial.mjs");
    const report = await l.run(jsonBatchOf([{}, { fail: "bad input", retry: false }, { skip: true }]), ctx());
    expect(report.results.get("item-0")).toEqual({ ok: true });
    expect(report.results.get("item-1")).toEqual({ ok: false, error: "bad input", retry: false });
    expect(report.results.has("item-2")).toBe(false);
    expect(report.unreported).toEqual({ ok: true });
  });

  it("fails every item, retried, when the job throws, and keeps the child", async () => {
    const l = await forkOf("throws.mjs");
    const report = await l.run(jsonBatchOf([1]), ctx());
    const pid = l.pid;
    expect(report.unreported).toEqual({ ok: false, error: "boom in chunk of 1", retry: true });
    expect(report.fatal).toBeUndefined();
    await l.run(jsonBatchOf([1]), ctx());
    expect(l.pid).toBe(pid);
  });

  it("reports crashed when the child is killed -9 mid-chunk, then runs the next chunk on a fresh child", async () => {
    const l = await forkOf("slow.mjs");
    const { report, pid } = await startSlow(l);
    process.kill(pid, "SIGKILL");
    const crashed = await report;
    expect(crashed.fatal).toEqual({ reason: "crashed", error: "child killed by SIGKILL" });
    expect(crashed.unreported).toEqual({ ok: false, error: "child killed by SIGKILL", retry: true });

    const next = await l.run(jsonBatchOf([{ ms: 0 }]), ctx());
    expect(next.fatal).toBeUndefined();
    expect(next.unreported).toEqual({ ok: true });
    expect(l.pid).toBeTypeOf("number");
    expect(l.pid).not.toBe(pid);
  });

  it("reports crashed when the job kills its own process", async () => {
    const l = await forkOf("crash.mjs");
    const report = await l.run(jsonBatchOf([{ crash: true }]), ctx());
    expect(report.fatal).toEqual({ reason: "crashed", error: "child killed by SIGKILL" });
    const next = await l.run(jsonBatchOf([{}]), ctx());
    expect(next.unreported).toEqual({ ok: true });
  });

  it("fails a payload that is not JSON alone, for good, even when the chunk then crashes; runs no job for none left", async () => {
    const l = await forkOf("crash.mjs");
    const corrupt = (b: ReturnType<typeof jsonBatchOf>, i: number) => {
      const item = b.items[i];
      if (item) item.payload = "{not json";
      return b;
    };
    const crashed = await l.run(corrupt(jsonBatchOf([{}, { crash: true }]), 0), ctx());
    expect(crashed.fatal).toEqual({ reason: "crashed", error: "child killed by SIGKILL" });
    expect(crashed.results.get("item-0")).toEqual({
      ok: false,
      error: "stored payload is not valid JSON",
      retry: false,
    });
    await l.close();
    // a chunk of nothing but such payloads: the job (one that always throws) is not called
    const t = await forkOf("throws.mjs");
    const report = await t.run(corrupt(jsonBatchOf([{}]), 0), ctx());
    expect(report.fatal).toBeUndefined();
    expect(report.unreported).toEqual({ ok: true });
    expect([...report.results.entries()]).toEqual([
      ["item-0", { ok: false, error: "stored payload is not valid JSON", retry: false }],
    ]);
  });

  it("reports crashed with the message of an uncaught exception", async () => {
    const l = await forkOf("uncaught.mjs");
    const report = await l.run(jsonBatchOf([1]), ctx());
    expect(report.fatal?.reason).toBe("crashed");
    expect(report.fatal?.error).toBe("child exited with code 1: uncaught exception: late boom");
  });

  it("SIGKILLs the child on timeout and reports fatal timeout", async () => {
    const l = await forkOf("slow.mjs", { timeoutMs: 300 });
    const { report, pid } = await startSlow(l);
    expect(await report).toMatchObject({
      fatal: { reason: "timeout", error: "timed out after 300 ms" },
      unreported: { ok: false, error: "timed out after 300 ms", retry: true },
    });
    await vi.waitFor(() => expect(readProcMemory(pid)).toBeNull(), { timeout: 5000, interval: 10 });
  });

  it.skipIf(!hasProc)("SIGKILLs a child above memoryLimitMb mid-chunk: fatal memory-limit", async () => {
    const l = await forkOf("memory-hog.mjs", { memoryLimitMb: 100 });
    const report = await l.run(jsonBatchOf([{ mb: 200, hold: true }]), ctx());
    expect(report.fatal?.reason).toBe("memory-limit");
    expect(report.fatal?.error).toMatch(/child RSS \d+ MB is above memoryLimitMb 100/);
    expect(report.unreported).toMatchObject({ ok: false, retry: true });
    expect(report.peakMemoryBytes).toBeGreaterThan(100 * MB);
  });

  it.skipIf(!hasProc)("restarts a child left above memoryLimitMb after a normal chunk", async () => {
    // no RSS check while the chunk runs (it would race the allocation): only the one after it
    const l = new ForkLauncher({
      jobType: "test",
      module: fixture("jobs/memory-hog.mjs"),
      export: "default",
      timeoutMs: 20_000,
      memoryLimitMb: 100,
      memoryPollMs: 3_600_000,
      log,
    });
    launcher = l;
    const report = await l.run(jsonBatchOf([{ mb: 150 }]), ctx());
    expect(report.fatal).toBeUndefined();
    expect(report.unreported).toEqual({ ok: true });
    expect(report.peakMemoryBytes).toBeGreaterThan(150 * MB);
    expect(l.pid).toBeUndefined(); // retired: the next chunk starts a fresh child

    const next = await l.run(jsonBatchOf([{ mb: 0 }]), ctx());
    expect(next.unreported).toEqual({ ok: true });
    expect(next.peakMemoryBytes).toBeLessThan(100 * MB);
  });

  it("returns at once when ctx.signal aborts and kills the child", async () => {
    const abort = new AbortController();
    const l = await forkOf("slow.mjs");
    const { report, pid } = await startSlow(l, abort.signal);
    abort.abort("shutting down");
    expect(await report).toMatchObject({ unreported: { ok: false, error: "aborted: shutting down", retry: true } });
    expect((await report).fatal).toBeUndefined();
    await vi.waitFor(() => expect(readProcMemory(pid)).toBeNull(), { timeout: 5000, interval: 10 });
  });

  it("reports crashed with the import error when the module cannot be loaded", async () => {
    const l = await forkOf("missing.mjs");
    const report = await l.run(jsonBatchOf([1]), ctx());
    expect(report.fatal?.reason).toBe("crashed");
    expect(report.fatal?.error).toMatch(/cannot import job module .*missing\.mjs/);
    expect(report.unreported).toMatchObject({ ok: false, retry: true });

    const notAJob = await forkOf("ok.mjs", { export: "notAJob" });
    const second = await notAJob.run(jsonBatchOf([1]), ctx());
    expect(second.fatal?.error).toMatch(/export "notAJob" of .*ok\.mjs is not a BatchJob/);
    await l.close();
  });

  it("close() stops the child and is idempotent", async () => {
    const l = await forkOf("ok.mjs");
    await l.run(jsonBatchOf([1]), ctx());
    const pid = l.pid;
    if (pid === undefined) throw new Error("no child");
    await l.close();
    await l.close();
    expect(l.pid).toBeUndefined();
    expect(readProcMemory(pid)).toBeNull();
  });
});
