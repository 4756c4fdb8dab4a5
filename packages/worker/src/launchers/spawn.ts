/**
 * The spawn launcher: one process per chunk, in any language.
 *   1. spawn the command, in its own process group guarded by group-guard.ts (it dies with the daemon),
 *      with BATCHJOB_JOB_TYPE and BATCHJOB_CHUNK_ID in its environment;
 *   2. write the chunk to stdin as one JSON document and close it;
 *   3. read JSON lines on stdout, log stderr lines, sample VmHWM every 50 ms. A line is a result
 *      {"id","ok","error"?,"retry"?,"delayMs"?}, or progress {"running":"<id>"}: the job now works on
 *      that item, which alone is blamed if the process then fails before that item's result line;
 *   4. at exit, items without a result follow the exit code. A timeout sends SIGTERM, then SIGKILL 2 s later.
 * Also the `spawn` kind's definition (its options and factory).
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import {
  type Batch,
  type ConfigIssue,
  commandProblem,
  folderProblem,
  type LauncherCheckContext,
  type Logger,
  z,
} from "@batchjob/core";
import { commonOptions, defineLauncher } from "./definition.js";
import { guardGroup } from "./group-guard.js";
import { MemoryPoller } from "./proc-memory.js";
import {
  abortedUnreported,
  encodeChunk,
  endReport,
  errorCode,
  errorMessage,
  fatalReport,
  ResultCollector,
  UNREPORTED_OK,
  unreportedFailure,
} from "./results.js";
import type { ChunkReport, Launcher, RunContext } from "./types.js";

const MEMORY_POLL_MS = 50;
/** After SIGTERM on timeout, SIGKILL follows this much later. */
const KILL_GRACE_MS = 2000;
/** After the process exits, its pipes get this long to close (a grandchild may hold them). */
const PIPE_GRACE_MS = 1000;
/** Longer stdout lines are ignored (results are small); longer stderr lines are cut. */
const MAX_LINE = 1024 * 1024;
const MAX_STDERR_LINE = 8 * 1024;

export interface SpawnLauncherOptions {
  jobType: string;
  command: string;
  args: string[];
  /** Absolute working directory. */
  cwd: string;
  env?: Record<string, string>;
  timeoutMs: number;
  log: Logger;
}

/** Splits a text stream into lines; `onLine` gets each with its 1-based number. */
export class LineSplitter {
  private buf = "";
  private count = 0;
  private overlong = false;

  constructor(
    private readonly max: number,
    private readonly onLine: (line: string, n: number, overlong: boolean) => void,
  ) {}

  push(chunk: string): void {
    const parts = (this.buf + chunk).split("\n");
    this.buf = parts.pop() ?? "";
    for (const p of parts) this.emit(p);
    if (this.buf.length > this.max) {
      this.overlong = true;
      this.buf = this.buf.slice(0, this.max);
    }
  }

  end(): void {
    if (this.buf !== "") this.emit(this.buf);
    this.buf = "";
  }

  private emit(line: string): void {
    this.count++;
    const overlong = this.overlong || line.length > this.max;
    this.overlong = false;
    this.onLine(line.length > this.max ? line.slice(0, this.max) : line, this.count, overlong);
  }
}

/** What one stdout line says: nothing (blank), a result entry, progress, or a problem. */
export type StdoutLine =
  | { kind: "blank" }
  | { kind: "result"; value: unknown }
  | { kind: "running"; id: unknown }
  | { kind: "bad"; problem: string };

/**
 * Parses one stdout line. A JSON object with "running" and no "id" is
 * progress `{"running":"<id>"}`; any other JSON value is a result entry, for
 * ResultCollector to check; text that is not JSON is a problem. Pure.
 */
export function parseStdoutLine(line: string): StdoutLine {
  const text = line.trim();
  if (text === "") return { kind: "blank" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "bad", problem: `not JSON: ${text.slice(0, 120)}` };
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value) && "running" in value && !("id" in value)) {
    return { kind: "running", id: (value as { running: unknown }).running };
  }
  return { kind: "result", value };
}

/** Feeds stdout line `n` to `results`: a result, the item begun, or a warning. */
export function readStdoutLine(results: ResultCollector, line: string, n: number, overlong: boolean): void {
  const where = `stdout line ${n}`;
  const parsed: StdoutLine = overlong
    ? { kind: "bad", problem: `line longer than ${MAX_LINE} characters` }
    : parseStdoutLine(line);
  if (parsed.kind === "bad") results.warn(where, parsed.problem);
  else if (parsed.kind === "running") results.begin(parsed.id, where);
  else if (parsed.kind === "result") results.add(parsed.value, where);
}

/** Signals the child's whole process group; the child alone when the group is gone. */
function killGroup(proc: ChildProcessWithoutNullStreams, signal: NodeJS.Signals): void {
  try {
    if (proc.pid !== undefined) process.kill(-proc.pid, signal);
    else proc.kill(signal);
  } catch {
    proc.kill(signal);
  }
}

export class SpawnLauncher implements Launcher {
  readonly kind = "spawn";
  readonly payloads = "json";

  constructor(private readonly opts: SpawnLauncherOptions) {}

  async run(batch: Batch, ctx: RunContext): Promise<ChunkReport> {
    const results = new ResultCollector(batch, ctx.log);
    if (ctx.signal.aborted)
      return { results: results.finish(), unreported: abortedUnreported(ctx.signal), peakMemoryBytes: null };
    const { command, args, cwd, timeoutMs } = this.opts;
    const env = { ...process.env, ...this.opts.env, BATCHJOB_JOB_TYPE: batch.jobType, BATCHJOB_CHUNK_ID: batch.id };
    let proc: ChildProcessWithoutNullStreams;
    try {
      // its own process group, so a timeout or abort also stops what it started (sh -c ..., workers)
      proc = spawn(command, args, { cwd, env, stdio: "pipe", detached: true });
    } catch (err) {
      const error = `cannot start ${command}: ${errorCode(err) ?? errorMessage(err)}`;
      return fatalReport(results, "crashed", error, null);
    }

    return new Promise<ChunkReport>((resolve) => {
      const pid = proc.pid;
      const unguard = pid === undefined ? undefined : guardGroup(pid, this.opts.log);
      const poller = pid === undefined ? undefined : new MemoryPoller(pid, MEMORY_POLL_MS);
      let stoppedBy: "timeout" | "abort" | undefined;
      let startError: string | undefined;
      let lastStderr = "";
      let killTimer: NodeJS.Timeout | undefined;
      let pipeTimer: NodeJS.Timeout | undefined;
      let finished = false;

      const stdout = new LineSplitter(MAX_LINE, (line, n, overlong) => readStdoutLine(results, line, n, overlong));
      const stderr = new LineSplitter(MAX_STDERR_LINE, (line) => {
        const text = line.trimEnd();
        if (text === "") return;
        lastStderr = text;
        ctx.log.warn({ jobType: batch.jobType, chunkId: batch.id, pid, stream: "stderr" }, text);
      });

      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (finished) return;
        finished = true;
        stdout.end();
        stderr.end();
        poller?.stop();
        clearTimeout(timer);
        clearTimeout(killTimer);
        clearTimeout(pipeTimer);
        ctx.signal.removeEventListener("abort", onAbort);
        unguard?.();
        const peak = poller?.peakBytes ?? null;
        if (startError !== undefined) return resolve(fatalReport(results, "crashed", startError, null));
        if (stoppedBy === "timeout")
          return resolve(fatalReport(results, "timeout", `timed out after ${timeoutMs} ms`, peak));
        if (stoppedBy === "abort") return resolve(endReport(results, abortedUnreported(ctx.signal), peak));
        if (signal) return resolve(fatalReport(results, "crashed", `killed by ${signal}`, peak));
        if (code === 0) return resolve(endReport(results, UNREPORTED_OK, peak));
        const error = lastStderr ? `exit code ${code}: ${lastStderr}` : `exit code ${code}`;
        resolve(endReport(results, unreportedFailure(error), peak));
      };

      const timer = setTimeout(() => {
        stoppedBy = "timeout";
        killGroup(proc, "SIGTERM");
        killTimer = setTimeout(() => killGroup(proc, "SIGKILL"), KILL_GRACE_MS);
      }, timeoutMs);
      const onAbort = () => {
        stoppedBy ??= "abort";
        killGroup(proc, "SIGKILL");
      };
      ctx.signal.addEventListener("abort", onAbort, { once: true });

      proc.on("error", (err) => {
        if (pid !== undefined) {
          ctx.log.warn({ jobType: batch.jobType, chunkId: batch.id, pid, err }, "spawned job: process error");
          return;
        }
        const code = errorCode(err);
        const noCwd = code === "ENOENT" && !existsSync(cwd) ? ` (no such cwd ${cwd})` : "";
        startError = `cannot start ${command}: ${code ?? errorMessage(err)}${noCwd}`;
        finish(null, null);
      });
      proc.on("exit", () => {
        pipeTimer = setTimeout(() => {
          proc.stdout.destroy();
          proc.stderr.destroy();
        }, PIPE_GRACE_MS);
      });
      proc.on("close", finish);
      proc.stdout.setEncoding("utf8").on("data", (chunk: string) => stdout.push(chunk));
      proc.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
      proc.stdin.on("error", (err) => {
        // EPIPE: the job exited or closed stdin without reading everything; its exit code decides
        if (errorCode(err) !== "EPIPE") {
          ctx.log.warn({ jobType: batch.jobType, chunkId: batch.id, pid, err }, "spawned job: cannot write its stdin");
        }
      });
      if (pid !== undefined) proc.stdin.end(encodeChunk(batch));
    });
  }

  async close(): Promise<void> {}
}

/** The options of a launcher that runs a command (spawn, process); `commandIssues` checks them. */
export const commandOptions = {
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  /** Working directory, relative to the config file. @defaultValue the config file's folder */
  cwd: z.string().optional(),
  /** Added to the daemon's environment; the values are secret (API tokens). */
  env: z.record(z.string(), z.string().meta({ secret: true })).optional(),
};

/** `spawn`: any command, one process per chunk; the chunk on stdin, results as JSON lines on stdout. */
export const spawnDefinition = defineLauncher({
  kind: "spawn",
  schema: z.strictObject({
    ...commandOptions,
    timeoutMs: commonOptions.timeoutMs,
  }),
  create: (spec, ctx) =>
    new SpawnLauncher({
      jobType: ctx.jobType,
      command: spec.command,
      args: spec.args,
      cwd: resolve(ctx.baseDir, spec.cwd ?? "."),
      env: spec.env,
      timeoutMs: spec.timeoutMs,
      log: ctx.log,
    }),
  check: commandIssues,
});

/**
 * The check of a launcher that runs a command (spawn, process): its `cwd` is
 * a folder, and its command exists there or, as a name, in the PATH of the
 * job's environment.
 */
export function commandIssues(
  spec: { command: string; cwd?: string | undefined; env?: Record<string, string> | undefined },
  ctx: LauncherCheckContext,
): ConfigIssue[] {
  const noCwd = spec.cwd === undefined ? undefined : folderProblem(ctx.baseDir, spec.cwd);
  if (noCwd) return [{ path: "cwd", message: noCwd }];
  const cwd = resolve(ctx.baseDir, spec.cwd ?? ".");
  const noCommand = commandProblem(spec.command, cwd, { ...ctx.env, ...spec.env });
  return noCommand ? [{ path: "command", message: noCommand }] : [];
}

declare module "@batchjob/core" {
  /** Tells the type checker this kind's options (`LauncherSpec`, `LauncherInput`, `defineConfig`). */
  interface LauncherKinds {
    spawn: typeof spawnDefinition;
  }
}
