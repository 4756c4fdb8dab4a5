/**
 * Per-item progress (ctx.begin / ctx.report, their IPC messages, the spawn `{"running"}` line):
 * results reported before a thrown error, a crash, a timeout or a non-zero exit are kept, and the
 * item the job was on is named as `running`; a normal end names none.
 */
import { type Batch, createLogger, ErrorCode, type LauncherSpec, type WorkContext } from "@batchjob/core";
import { afterEach, describe, expect, it } from "vitest";
import { createLauncher } from "../src/launchers/create.js";
import type { Launcher, RunContext } from "../src/launchers/types.js";
import { batchOf, fixture, jsonBatchOf } from "./fixtures/batches.js";
import { captureLog, logged } from "./fixtures/capture-log.js";

const log = createLogger("test", { level: "silent" });
const ctx = (signal = new AbortController().signal, logger = log): RunContext => ({ signal, log: logger });
const launchers: Launcher[] = [];

afterEach(async () => {
  await Promise.all(launchers.splice(0).map((l) => l.close()));
});

async function launcherOf(spec: LauncherSpec, dir: "jobs" | "spawn", logger = log): Promise<Launcher> {
  const l = await createLauncher(spec, { jobType: "test", baseDir: fixture(dir), log: logger });
  launchers.push(l);
  return l;
}
const inline = (fields: Partial<Extract<LauncherSpec, { kind: "inline" }>> = {}, logger = log) =>
  launcherOf(
    { kind: "inline", module: "progress.mjs", export: "default", timeoutMs: 20_000, ...fields },
    "jobs",
    logger,
  );
const forked = (logger = log) =>
  launcherOf(
    { kind: "fork", module: "progress.mjs", export: "default", timeoutMs: 20_000, memoryLimitMb: 512 },
    "jobs",
    logger,
  );
const spawned = (args: string[] = []) =>
  launcherOf({ kind: "spawn", command: process.execPath, args: ["progress.mjs", ...args], timeoutMs: 20_000 }, "spawn");

const threeThenThrow = [{}, {}, {}, { throw: true }, {}];
const ok = { ok: true };

describe("inline: ctx.begin and ctx.report", () => {
  it("keeps the results reported before the job threw, and names the item it was on", async () => {
    const report = await (await inline()).run(batchOf(threeThenThrow), ctx());
    expect([...report.results.entries()]).toEqual([
      ["item-0", ok],
      ["item-1", ok],
      ["item-2", ok],
    ]);
    expect(report.running).toBe("item-3");
    expect(report.unreported).toEqual({ ok: false, error: "failed on item-3", retry: true });
    expect(report.fatal).toBeUndefined();
  });

  it("on timeout keeps the reported results, names the running item and ignores reports after the end", async () => {
    const { log: capture, records } = captureLog();
    const report = await (await inline({ timeoutMs: 200 }, capture)).run(
      batchOf([{}, { hang: true }, {}]),
      ctx(undefined, capture),
    );
    expect([...report.results.keys()]).toEqual(["item-0"]);
    expect(report.running).toBe("item-1");
    expect(report.fatal?.reason).toBe("timeout");
    // the job wakes on its aborted signal and reports item-1: too late, the report is made
    expect(logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT, where: "ctx.report" })[0]?.msg).toContain(
      "the chunk has already ended",
    );
    expect(report.results.has("item-1")).toBe(false);
  });

  it("on abort keeps the reported results and names the running item", async () => {
    const abort = new AbortController();
    const launcher = await inline({
      job: (batch: Batch, c: WorkContext) => {
        c.report({ id: batch.items[0]?.id ?? "", ok: true });
        c.begin(batch.items[1]?.id ?? "");
        queueMicrotask(() => abort.abort("lease lost"));
        return new Promise<void>(() => {});
      },
      module: undefined,
    });
    const report = await launcher.run(batchOf([1, 2, 3]), ctx(abort.signal));
    expect([...report.results.keys()]).toEqual(["item-0"]);
    expect(report.running).toBe("item-1");
    expect(report.unreported).toEqual({ ok: false, error: "aborted: lease lost", retry: true });
  });

  it("names no running item after a normal end, nor one whose result was reported", async () => {
    const launcher = await inline();
    const normal = await launcher.run(batchOf([{}, { begin: true }]), ctx());
    expect(normal.running).toBeUndefined();
    expect(normal.unreported).toEqual({ ok: true });
    // item-1 is begun and reported, then item-2 is begun and throws: item-2 is the one
    const threw = await launcher.run(batchOf([{}, {}, { throw: true }]), ctx());
    expect(threw.running).toBe("item-2");
  });

  it("warns about an unknown begun id and leaves no item running; the same result returned again is quiet", async () => {
    const { log: capture, records } = captureLog();
    const launcher = await inline({}, capture);
    const report = await launcher.run(
      batchOf([{ returned: true }, { returned: false }, { unknown: true, throw: true }]),
      ctx(undefined, capture),
    );
    expect(report.running).toBeUndefined();
    expect(report.unreported).toMatchObject({ ok: false, error: "failed on item-2" });
    const warnings = logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT });
    expect(warnings.map((w) => (w.obj as { where: string }).where)).toEqual(["ctx.begin"]);
    expect(warnings[0]?.msg).toContain('unknown item id "not-in-batch"');

    // reported ok, then returned ok: quiet; reported ok, then returned failed: the first counts, with a warning
    const again = await launcher.run(batchOf([{ returned: true }, { returned: false }]), ctx(undefined, capture));
    expect([...again.results.values()]).toEqual([ok, ok]);
    const second = logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT }).slice(1);
    expect(second.map((w) => w.msg)).toEqual([expect.stringContaining("second result for item item-1")]);
  });
});

describe("fork: begin and report messages over IPC", () => {
  it("keeps what the child reported before it SIGKILLed itself, and names the item it was on", async () => {
    const launcher = await forked();
    const report = await launcher.run(jsonBatchOf([{}, {}, {}, { crash: true }, {}]), ctx());
    expect([...report.results.entries()]).toEqual([
      ["item-0", ok],
      ["item-1", ok],
      ["item-2", ok],
    ]);
    expect(report.running).toBe("item-3");
    expect(report.fatal).toEqual({ reason: "crashed", error: "child killed by SIGKILL" });
    expect(report.unreported).toEqual({ ok: false, error: "child killed by SIGKILL", retry: true });
  });

  it("names the running item when the job throws, none after a normal end; returned results still count", async () => {
    const launcher = await forked();
    const threw = await launcher.run(jsonBatchOf(threeThenThrow), ctx());
    expect([...threw.results.keys()]).toEqual(["item-0", "item-1", "item-2"]);
    expect(threw.running).toBe("item-3");
    expect(threw.unreported).toEqual({ ok: false, error: "failed on item-3", retry: true });

    const normal = await launcher.run(jsonBatchOf([{ begin: true, returned: false }, { begin: true }]), ctx());
    expect(normal.running).toBeUndefined();
    expect([...normal.results.entries()]).toEqual([["item-0", { ok: false }]]);
    expect(normal.unreported).toEqual({ ok: true });
  });

  it("warns about a begun id that is not in the batch, forwarded from the child", async () => {
    const { log: capture, records } = captureLog();
    const launcher = await forked(capture);
    const report = await launcher.run(jsonBatchOf([{}, { unknown: true, crash: true }]), ctx(undefined, capture));
    expect(report.fatal?.reason).toBe("crashed");
    expect([...report.results.keys()]).toEqual(["item-0"]);
    expect(report.running).toBeUndefined();
    const warnings = logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT, where: "ctx.begin" });
    expect(warnings[0]?.msg).toContain('unknown item id "not-in-batch"');
  });
});

describe('spawn: the {"running": id} line', () => {
  it("keeps the result lines before a non-zero exit and names the item of the last running line", async () => {
    const report = await (await spawned()).run(jsonBatchOf([1, 2, 3, 4]), ctx());
    expect([...report.results.entries()]).toEqual([
      ["item-0", ok],
      ["item-1", { ok: false, error: "bad input", retry: false }],
    ]);
    expect(report.running).toBe("item-2");
    expect(report.unreported).toEqual({ ok: false, error: "exit code 1", retry: true });
    expect(report.fatal).toBeUndefined();
  });

  it("a result line for the running item clears it", async () => {
    const report = await (await spawned(["--finish-running"])).run(jsonBatchOf([1, 2, 3, 4]), ctx());
    expect(report.results.get("item-2")).toEqual(ok);
    expect(report.running).toBeUndefined();
    expect(report.unreported).toMatchObject({ ok: false, error: "exit code 1" });
  });

  it("warns about a running line whose id is not a string, with its line number", async () => {
    const { log: capture, records } = captureLog();
    const launcher = await createLauncher(
      { kind: "spawn", command: process.execPath, args: ["progress.mjs", "--bad-running"], timeoutMs: 20_000 },
      { jobType: "test", baseDir: fixture("spawn"), log: capture },
    );
    const report = await launcher.run(jsonBatchOf([1, 2, 3]), ctx(undefined, capture));
    expect(report.running).toBeUndefined();
    const warnings = logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT });
    expect(warnings.map((w) => (w.obj as { where: string }).where)).toEqual(["stdout line 3"]);
    expect(warnings[0]?.msg).toContain("running item id must be a non-empty string");
  });
});
