/**
 * The process launcher: one long-lived process of any language per worker (worker-process.ts),
 * fed chunks as JSON lines on stdin, answering with result, progress and done lines on stdout
 * (process-protocol.ts). Chunks run one at a time; for each:
 *   1. start a process if there is none (first chunk, or after a crash, a kill, a retirement) and wait
 *      for its ready line (at most max(timeoutMs, 30 s));
 *   2. write the chunk line; watch the timeout, ctx.signal and the process's RSS (/proc, every 100 ms);
 *      collect its running and result lines until its done line;
 *   3. at the done line, report; items without a result are done, or failed when the done line carries
 *      an error or a line broke the protocol. The process is retired (stdin closed) after `maxChunks`
 *      chunks, or when its RSS, or its RSS plus the largest growth of one chunk so far, passes
 *      `memoryLimitMb`; past 1.5 x memoryLimitMb mid-chunk its group is SIGKILLed (memory-limit);
 *   4. on a timeout its group gets SIGTERM, then SIGKILL 2 s later; if it exits mid-chunk, the chunk
 *      is reported crashed with what it reported and the item it was on. The next chunk gets a fresh process.
 * Also the `process` kind's definition (its options and factory).
 */
import { resolve } from "node:path";
import { type Batch, defaults, type Logger, z } from "@batchjob/core";
import { commonOptions, defineLauncher } from "./definition.js";
import { retireReason } from "./fork.js";
import { MemoryPoller, type ProcMemory, readProcMemory, resetPeak } from "./proc-memory.js";
import { encodeChunkLine, PROCESS_PROTOCOL } from "./process-protocol.js";
import {
  abortedUnreported,
  endReport,
  errorMessage,
  fatalReport,
  ResultCollector,
  UNREPORTED_OK,
  unreportedFailure,
} from "./results.js";
import { commandIssues, commandOptions } from "./spawn.js";
import type { ChunkReport, FatalEnd, Launcher, RunContext } from "./types.js";
import { type ProcessEvent, WorkerProcess } from "./worker-process.js";

const MEMORY_POLL_MS = 100;
const MB = 1024 * 1024;
/** A new process gets at least this long to say it is ready before its chunk times out. */
const START_MS = 30_000;
/** After SIGTERM on timeout, SIGKILL follows this much later. */
const KILL_GRACE_MS = 2000;
/** A process whose stdin was closed is SIGKILLed with its group after this long. */
const EXIT_GRACE_MS = 5000;
/** Mid-chunk, a process is killed past this multiple of memoryLimitMb (below it, it is retired after the chunk). */
export const MEMORY_KILL_FACTOR = 1.5;

export interface ProcessLauncherOptions {
  jobType: string;
  command: string;
  args: string[];
  /** Absolute working directory. */
  cwd: string;
  env?: Record<string, string>;
  timeoutMs: number;
  memoryLimitMb: number;
  /** The process is retired after this many chunks. @defaultValue no limit */
  maxChunks?: number;
  log: Logger;
  /** Interval of the RSS checks while a chunk runs. @defaultValue 100 */
  memoryPollMs?: number;
  /** How long a new process may take to say it is ready. @defaultValue max(timeoutMs, 30 s) */
  startTimeoutMs?: number;
}

export class ProcessLauncher implements Launcher {
  readonly kind = "process";
  readonly payloads = "json";
  private current: WorkerProcess | undefined;
  /** Every process not yet gone, retiring ones included: `close()` waits for them. */
  private readonly processes = new Set<WorkerProcess>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly limitBytes: number;
  /** The largest RSS growth of one chunk seen so far. */
  private maxGrowthBytes = 0;

  constructor(private readonly opts: ProcessLauncherOptions) {
    this.limitBytes = opts.memoryLimitMb * MB;
  }

  /** The pid of the current process, if one runs (for monitoring and tests). */
  get pid(): number | undefined {
    return this.current?.usable ? this.current.pid : undefined;
  }

  run(batch: Batch, ctx: RunContext): Promise<ChunkReport> {
    const report = this.queue.then(() => this.runOne(batch, ctx));
    this.queue = report.catch(() => {});
    return report;
  }

  async close(): Promise<void> {
    this.current = undefined;
    await Promise.all([...this.processes].map((p) => p.retire(EXIT_GRACE_MS)));
  }

  private start(): WorkerProcess {
    const { jobType, command, args, cwd, env, log } = this.opts;
    const proc = new WorkerProcess({
      jobType,
      command,
      args,
      cwd,
      ...(env ? { env } : {}),
      log,
      onIdleEvent: (p, event) => this.onIdleEvent(p, event),
    });
    this.processes.add(proc);
    void proc.closed.then(() => this.processes.delete(proc));
    this.current = proc;
    return proc;
  }

  /** Between chunks: an exit is noted; a line means the process is out of step, so it is replaced. */
  private onIdleEvent(proc: WorkerProcess, event: ProcessEvent): void {
    if (this.current === proc && event.kind === "exit") this.current = undefined;
    if (proc.dropped || event.kind === "ready") return;
    const fields = { jobType: this.opts.jobType, pid: proc.pid };
    if (event.kind === "exit") {
      this.opts.log.warn(fields, `${event.description} between chunks; the next chunk starts a new one`);
      return;
    }
    this.opts.log.warn(
      { ...fields, where: event.where },
      `worker process wrote ${event.line.kind === "bad" ? "a line that is not protocol" : `a ${event.line.kind} line`} between chunks: replacing it`,
    );
    this.drop(proc, "kill");
  }

  private drop(proc: WorkerProcess, how: "kill" | "terminate" | "retire"): void {
    if (this.current === proc) this.current = undefined;
    if (how === "kill") proc.kill();
    else if (how === "terminate") proc.terminate(KILL_GRACE_MS);
    else void proc.retire(EXIT_GRACE_MS);
  }

  /** Why `proc` should not take another chunk, after one that ended with its RSS at `rssBytes`. */
  private retirement(proc: WorkerProcess, rssBytes: number | undefined): string | undefined {
    const { maxChunks } = this.opts;
    if (maxChunks !== undefined && proc.chunks >= maxChunks)
      return `worker process ran maxChunks (${maxChunks}) chunks: restarting it`;
    if (rssBytes === undefined) return undefined;
    return retireReason(rssBytes, this.maxGrowthBytes, this.limitBytes, "worker process");
  }

  private runOne(batch: Batch, ctx: RunContext): Promise<ChunkReport> | ChunkReport {
    const results = new ResultCollector(batch, ctx.log);
    if (ctx.signal.aborted)
      return { results: results.finish(), unreported: abortedUnreported(ctx.signal), peakMemoryBytes: null };
    let proc: WorkerProcess;
    try {
      if (this.current && !this.current.usable) this.drop(this.current, "kill");
      proc = this.current ?? this.start();
    } catch (err) {
      return fatalReport(results, "crashed", `cannot start ${this.opts.command}: ${errorMessage(err)}`, null);
    }
    const pid = proc.pid;
    const { timeoutMs, memoryLimitMb, log, jobType } = this.opts;

    return new Promise<ChunkReport>((resolve) => {
      let poller: MemoryPoller | undefined;
      let startRss: number | undefined;
      let peakReset = false;
      /** The first line that broke the protocol: the unreported items fail with it. */
      let broken: string | undefined;
      const peak = () => poller?.peakBytes ?? null;
      const done = (report: ChunkReport) => {
        clearTimeout(timer);
        poller?.stop();
        ctx.signal.removeEventListener("abort", onAbort);
        proc.listener = undefined;
        proc.chunk = undefined;
        resolve(report);
      };
      const fatal = (reason: FatalEnd["reason"], error: string, how: "kill" | "terminate" = "kill") => {
        this.drop(proc, how);
        done(fatalReport(results, reason, error, peak()));
      };
      const onAbort = () => {
        this.drop(proc, "kill");
        done(endReport(results, abortedUnreported(ctx.signal), peak()));
      };
      const startMs = this.opts.startTimeoutMs ?? Math.max(timeoutMs, START_MS);
      const onTimeout = () => {
        if (proc.ready) fatal("timeout", `timed out after ${timeoutMs} ms`, "terminate");
        else fatal("timeout", `the worker process did not say it was ready within ${startMs} ms`, "terminate");
      };
      let timer = setTimeout(onTimeout, proc.ready ? timeoutMs : startMs);
      ctx.signal.addEventListener("abort", onAbort, { once: true });

      const send = () => {
        clearTimeout(timer);
        timer = setTimeout(onTimeout, timeoutMs);
        if (pid !== undefined) {
          // the chunk's growth is measured from a ready process; an idle one keeps the RSS its last chunk
          // ended with, so only a new process is read here (a /proc read is dear on some kernels)
          peakReset = resetPeak(pid);
          const first =
            proc.idleRss === undefined ? readProcMemory(pid) : { rssBytes: proc.idleRss, peakBytes: proc.idleRss };
          startRss = first?.rssBytes;
          const onSample = (m: ProcMemory) => {
            if (m.rssBytes > this.limitBytes * MEMORY_KILL_FACTOR) {
              const rssMb = Math.round(m.rssBytes / MB);
              fatal(
                "memory-limit",
                `worker process RSS ${rssMb} MB is above ${MEMORY_KILL_FACTOR} x memoryLimitMb ${memoryLimitMb}`,
              );
            }
          };
          poller = new MemoryPoller(pid, this.opts.memoryPollMs ?? MEMORY_POLL_MS, onSample, first);
        }
        proc.write(encodeChunkLine(batch));
      };

      const end = (error: unknown) => {
        proc.chunks++;
        const now = pid === undefined ? null : readProcMemory(pid);
        poller?.record(now);
        proc.idleRss = now?.rssBytes;
        if (now && startRss !== undefined) {
          const top = peakReset ? Math.max(now.peakBytes, now.rssBytes) : now.rssBytes;
          this.maxGrowthBytes = Math.max(this.maxGrowthBytes, top - startRss);
        }
        const retire = this.retirement(proc, now?.rssBytes);
        if (retire !== undefined) {
          const rssMb = now ? Math.round(now.rssBytes / MB) : undefined;
          log.info({ jobType, pid, rssMb, growthMb: Math.round(this.maxGrowthBytes / MB), memoryLimitMb }, retire);
          this.drop(proc, "retire");
        }
        const failure =
          broken ?? (error === undefined ? undefined : typeof error === "string" ? error : JSON.stringify(error));
        done(endReport(results, failure === undefined ? UNREPORTED_OK : unreportedFailure(failure), peak()));
      };

      proc.chunk = { log: ctx.log, chunkId: batch.id };
      proc.listener = (event) => {
        if (event.kind === "exit") return fatal("crashed", event.description);
        if (event.kind === "ready") return send();
        const { line, where } = event;
        if (line.kind === "running") results.begin(line.id, where);
        else if (line.kind === "result") results.add(line.value, where);
        else if (line.kind === "done") {
          if (line.chunkId === batch.id) return end(line.error);
          // out of step with the daemon: what it says next cannot be trusted
          broken ??= `${where}: done for chunk ${JSON.stringify(line.chunkId)} while chunk ${batch.id} ran`;
          results.warn(where, broken);
          this.drop(proc, "kill");
          done(endReport(results, unreportedFailure(broken), peak()));
        } else if (line.kind === "ready") {
          if (proc.ready) {
            broken ??= `${where}: a second ready line`;
            results.warn(where, "a second ready line");
          } else
            fatal(
              "crashed",
              `the worker process speaks protocol ${JSON.stringify(line.protocol)}, not ${PROCESS_PROTOCOL}`,
            );
        } else if (line.kind === "bad") {
          if (!proc.ready) {
            // before its ready line nothing was sent: a banner or a warning of its start
            results.warn(where, `before the ready line: ${line.problem}`);
            return;
          }
          broken ??= `the worker process broke the protocol (${where}): ${line.problem}`;
          results.warn(where, line.problem);
        }
      };
      if (proc.ready) send();
    });
  }
}

/** `process`: one long-lived process of any language per worker; chunks as JSON lines on stdin. */
export const processDefinition = defineLauncher({
  kind: "process",
  schema: z.strictObject({
    ...commandOptions,
    /** The process is restarted between chunks once its RSS passes this, killed mid-chunk past 1.5 times it. */
    memoryLimitMb: z.number().positive().default(defaults.launcher.memoryLimitMb),
    /** The process is restarted after this many chunks. @defaultValue no limit */
    maxChunks: z.int().min(1).optional(),
    timeoutMs: commonOptions.timeoutMs,
  }),
  create: (spec, ctx) =>
    new ProcessLauncher({
      jobType: ctx.jobType,
      command: spec.command,
      args: spec.args,
      cwd: resolve(ctx.baseDir, spec.cwd ?? "."),
      ...(spec.env ? { env: spec.env } : {}),
      timeoutMs: spec.timeoutMs,
      memoryLimitMb: spec.memoryLimitMb,
      ...(spec.maxChunks !== undefined ? { maxChunks: spec.maxChunks } : {}),
      log: ctx.log,
    }),
  check: commandIssues,
});

declare module "@batchjob/core" {
  /** Tells the type checker this kind's options (`LauncherSpec`, `LauncherInput`, `defineConfig`). */
  interface LauncherKinds {
    process: typeof processDefinition;
  }
}
