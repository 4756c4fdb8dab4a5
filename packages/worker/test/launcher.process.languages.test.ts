/**
 * The process launcher running the worker loops of the Python and PHP helpers
 * (clients/python/batchjob_client/worker.py, clients/php/src/Worker.php) through the
 * fixtures fixtures/process/loop.py and loop.php: one process serves several chunks, a bad
 * item fails alone and the loop goes on, what the job prints reaches the log and not the
 * protocol, a crash charges only the running item, a per-chunk handler that raises fails
 * the rest of its chunk, a hang times out. Skipped, with the reason, without the interpreter.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ErrorCode } from "@batchjob/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLauncher } from "../src/launchers/create.js";
import type { Launcher, RunContext } from "../src/launchers/types.js";
import { settlementOf } from "../src/outcome.js";
import { fixture, jsonBatchOf } from "./fixtures/batches.js";
import { captureLog, logged } from "./fixtures/capture-log.js";

const CLIENTS = fileURLToPath(new URL("../../../clients/", import.meta.url));

/** Null when `command` runs; else why its tests are skipped. */
function missing(command: string, args: string[]): string | null {
  const r = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
  if (r.error) return `${command} cannot run (${r.error.message})`;
  return r.status === 0 ? null : `${command}: ${(r.stderr || r.stdout).trim()}`;
}

const languages = [
  {
    name: "Python",
    command: "/usr/bin/python3",
    script: "loop.py",
    env: { PYTHONPATH: `${CLIENTS}python`, PYTHONDONTWRITEBYTECODE: "1" },
    why: missing("/usr/bin/python3", ["-c", "import sys; sys.exit(sys.version_info < (3, 9))"]),
    throws: /^ValueError: bad item item-1 \(loop\.py:\d+ in handle\)$/,
  },
  {
    name: "PHP",
    command: "php",
    script: "loop.php",
    env: {},
    why: missing("php", ["-r", "exit(PHP_VERSION_ID >= 80200 ? 0 : 1);"]),
    throws: /^RuntimeException: bad item item-1 \(loop\.php:\d+\)$/,
  },
];

const launchers: Launcher[] = [];
afterEach(async () => {
  await Promise.all(launchers.splice(0).map((l) => l.close()));
});

for (const lang of languages) {
  const title = lang.why ? `${lang.name} worker loop (skipped: ${lang.why})` : `${lang.name} worker loop`;
  describe.skipIf(lang.why !== null)(title, () => {
    const { log, records } = captureLog();
    const ctx: RunContext = { signal: new AbortController().signal, log };
    const loop = async (args: string[] = [], timeoutMs = 20_000) => {
      const l = await createLauncher(
        { kind: "process", command: lang.command, args: [lang.script, ...args], env: lang.env, timeoutMs },
        { jobType: "test", baseDir: fixture("process"), log },
      );
      launchers.push(l);
      return l as Launcher & { pid: number | undefined };
    };

    it("serves several chunks from one process; a bad item fails alone; printed text goes to the log", async () => {
      records.length = 0;
      const launcher = await loop();
      const pids = new Set<number | undefined>();
      for (let i = 0; i < 3; i++) {
        const report = await launcher.run(
          jsonBatchOf([{ print: `hello ${i}` }, { throw: true }, { fail: "no email", retry: false }, {}]),
          ctx,
        );
        expect(report.results.get("item-0")).toEqual({ ok: true });
        expect(report.results.get("item-1")).toMatchObject({ ok: false, retry: true });
        expect(report.results.get("item-1")?.error).toMatch(lang.throws);
        expect(report.results.get("item-2")).toEqual({ ok: false, error: "no email", retry: false });
        expect(report.results.get("item-3")).toEqual({ ok: true });
        expect(report.unreported).toEqual({ ok: true });
        expect(report.fatal).toBeUndefined();
        pids.add(launcher.pid);
      }
      expect(pids.size).toBe(1);
      expect(logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT })).toEqual([]);
      // stderr is another pipe: its lines may arrive after the chunk's done line
      await vi.waitFor(() => {
        const stderr = logged(records, "warn", { stream: "stderr" }).map((r) => r.msg);
        expect(stderr.filter((m) => m?.startsWith("hello "))).toEqual(["hello 0", "hello 1", "hello 2"]);
        expect(stderr.filter((m) => m?.startsWith("batchjob: item item-1 failed"))).toHaveLength(3);
      });
    });

    it("on a crash mid-chunk charges only the running item; the next chunk gets a new process", async () => {
      const launcher = await loop();
      const batch = jsonBatchOf([{}, { crash: true }, {}]);
      const report = await launcher.run(batch, ctx);
      expect(report.fatal).toMatchObject({ reason: "crashed" });
      expect(report.fatal?.error).toMatch(/^worker process exited with code 3/);
      const s = settlementOf(batch, report, { giveBackUnreported: false });
      expect(s.ack).toEqual(["item-0"]);
      expect(s.fail.map((f) => f.id)).toEqual(["item-1"]);
      expect(s.requeue).toEqual(["item-2"]);
      expect((await launcher.run(jsonBatchOf([{}]), ctx)).unreported).toEqual({ ok: true });
    });

    it("per chunk: reported items settle, the item a raising handler was on is the one charged", async () => {
      const launcher = await loop(["chunk"]);
      const batch = jsonBatchOf([{}, {}, { throw: true }, {}]);
      const report = await launcher.run(batch, ctx);
      expect([...report.results.keys()]).toEqual(["item-0", "item-1"]);
      expect(report.unreported).toMatchObject({ ok: false, retry: true });
      expect((report.unreported as { error: string }).error).toMatch(/bad chunk at item-2/);
      expect(report.running).toBe("item-2");
      expect(report.fatal).toBeUndefined();
      expect((await launcher.run(jsonBatchOf([{}, {}]), ctx)).unreported).toEqual({ ok: true });
    });

    it("times out a hanging item and kills the process", async () => {
      const launcher = await loop([], 3000);
      const report = await launcher.run(jsonBatchOf([{}, { hang: true }]), ctx);
      expect(report.fatal).toEqual({ reason: "timeout", error: "timed out after 3000 ms" });
      expect(report.running).toBe("item-1");
      expect(launcher.pid).toBeUndefined();
    });
  });
}
