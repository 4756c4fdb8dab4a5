/** The inline launcher: results, failures, timeout, abort and module loading, run in this process. */
import { createLogger, ErrorCode, LauncherFailedError, type LauncherSpec, type WorkContext } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { createLauncher } from "../src/launchers/create.js";
import { batchOf, fixture } from "./fixtures/batches.js";
import { captureLog, logged } from "./fixtures/capture-log.js";

const log = createLogger("test", { level: "silent" });
const baseDir = fixture("jobs");

function inline(fields: Partial<Extract<LauncherSpec, { kind: "inline" }>>): LauncherSpec {
  return { kind: "inline", export: "default", timeoutMs: 10_000, ...fields };
}

async function launcherFor(spec: LauncherSpec, logger = log) {
  return createLauncher(spec, { jobType: "test", baseDir, log: logger });
}

describe("inline launcher", () => {
  it("reports every item of a module job and the daemon's peak RSS", async () => {
    const launcher = await launcherFor(inline({ module: "ok.mjs" }));
    const batch = batchOf([1, 2, 3]);
    const report = await launcher.run(batch, { signal: new AbortController().signal, log });
    await launcher.close();
    expect(launcher.kind).toBe("inline");
    expect([...report.results.entries()]).toEqual(batch.items.map((i) => [i.id, { ok: true }]));
    expect(report.unreported).toEqual({ ok: true });
    expect(report.fatal).toBeUndefined();
    expect(report.peakMemoryBytes).toBeGreaterThan(10 * 1024 * 1024);
  });

  it("its peak memory counts what the job allocates while it runs", async () => {
    const MB = 1024 * 1024;
    const job = async () => {
      const hold = Buffer.alloc(96 * MB, 1); // touched pages: resident
      await new Promise((r) => setTimeout(r, 250)); // past a memory sample
      return { results: [], held: hold.length };
    };
    const before = process.memoryUsage.rss();
    const report = await (await launcherFor(inline({ job }))).run(batchOf([1]), {
      signal: new AbortController().signal,
      log,
    });
    // half of what it held, as room for the garbage collector giving pages back meanwhile
    expect(report.peakMemoryBytes).toBeGreaterThan(before + 48 * MB);
  });

  it("takes a named export, and a job that returns nothing leaves every item to unreported ok", async () => {
    const launcher = await launcherFor(inline({ module: "./ok.mjs", export: "asObject" }));
    const report = await launcher.run(batchOf([1, 2]), { signal: new AbortController().signal, log });
    expect(report.results.size).toBe(0);
    expect(report.unreported).toEqual({ ok: true });
  });

  it("keeps each item's own outcome in a partial failure", async () => {
    const launcher = await launcherFor(inline({ module: "partial.mjs" }));
    const batch = batchOf([{}, { fail: "bad input", retry: false }, { fail: "busy", delayMs: 5000 }, { skip: true }]);
    const report = await launcher.run(batch, { signal: new AbortController().signal, log });
    expect(report.results.get("item-0")).toEqual({ ok: true });
    expect(report.results.get("item-1")).toEqual({ ok: false, error: "bad input", retry: false });
    expect(report.results.get("item-2")).toEqual({ ok: false, error: "busy", delayMs: 5000 });
    expect(report.results.has("item-3")).toBe(false);
    expect(report.unreported).toEqual({ ok: true });
  });

  it("fails every item, retried, when the job throws", async () => {
    const launcher = await launcherFor(inline({ module: "throws.mjs" }));
    const report = await launcher.run(batchOf([1, 2]), { signal: new AbortController().signal, log });
    expect(report.results.size).toBe(0);
    expect(report.unreported).toEqual({ ok: false, error: "boom in chunk of 2", retry: true });
    expect(report.fatal).toBeUndefined();
  });

  it("fails every item when a job given in code throws synchronously", async () => {
    const job = () => {
      throw new Error("sync boom");
    };
    const launcher = await launcherFor(inline({ job }));
    const report = await launcher.run(batchOf([1]), { signal: new AbortController().signal, log });
    expect(report.unreported).toEqual({ ok: false, error: "sync boom", retry: true });
  });

  it("ignores unknown ids and malformed entries with a BJ_ERR_LAUNCHER_OUTPUT warning", async () => {
    const { log: capture, records } = captureLog();
    const launcher = await launcherFor(inline({ module: "bad-results.mjs" }), capture);
    const report = await launcher.run(batchOf([1, 2]), { signal: new AbortController().signal, log: capture });
    expect([...report.results.entries()]).toEqual([["item-0", { ok: true }]]);
    expect(report.unreported).toEqual({ ok: true });
    const warnings = logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT });
    expect(warnings.map((w) => (w.obj as { where: string }).where)).toEqual([
      "results[1]",
      "results[2]",
      "results[3]",
      "results[4]",
      "results[5]",
      "results[6]",
    ]);
    expect(warnings[1]?.msg).toContain("unknown item id");
  });

  it("times out: stops waiting, aborts the job's signal, reports fatal timeout", async () => {
    let jobSignal: AbortSignal | undefined;
    const job = (_batch: unknown, ctx: WorkContext) => {
      jobSignal = ctx.signal;
      return new Promise<void>(() => {});
    };
    const launcher = await launcherFor(inline({ job, timeoutMs: 100 }));
    const report = await launcher.run(batchOf([1]), { signal: new AbortController().signal, log });
    expect(report.fatal).toEqual({ reason: "timeout", error: "timed out after 100 ms" });
    expect(report.unreported).toEqual({ ok: false, error: "timed out after 100 ms", retry: true });
    expect(jobSignal?.aborted).toBe(true);
  });

  it("returns at once when ctx.signal aborts, and aborts the job's signal", async () => {
    let jobSignal: AbortSignal | undefined;
    const abort = new AbortController();
    const job = (_batch: unknown, ctx: WorkContext) => {
      jobSignal = ctx.signal;
      queueMicrotask(() => abort.abort(new Error("lease lost")));
      return new Promise<void>(() => {});
    };
    const launcher = await launcherFor(inline({ job }));
    const report = await launcher.run(batchOf([1]), { signal: abort.signal, log });
    expect(report.unreported).toEqual({ ok: false, error: "aborted: lease lost", retry: true });
    expect(report.fatal).toBeUndefined();
    expect(jobSignal?.aborted).toBe(true);
  });

  it("rejects with LauncherFailedError naming the module and export when the export is not a BatchJob", async () => {
    const failure = launcherFor(inline({ module: "ok.mjs", export: "notAJob" }));
    await expect(failure).rejects.toBeInstanceOf(LauncherFailedError);
    await expect(failure).rejects.toThrow(/export "notAJob" of .*ok\.mjs is not a BatchJob/);
  });

  it("rejects with LauncherFailedError naming the path when the module cannot be imported", async () => {
    const failure = launcherFor(inline({ module: "missing.mjs" }));
    await expect(failure).rejects.toThrow(/cannot import job module .*missing\.mjs/);
    await expect(failure).rejects.toMatchObject({ code: ErrorCode.LAUNCHER_FAILED });
  });
});
