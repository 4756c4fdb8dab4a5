/**
 * The fork launcher: one long-lived Node child (fork-child.js) per launcher,
 * started on the first chunk and reused; chunks and results go over IPC.
 * Chunks run one at a time; for each:
 *   1. start a child if there is none (first chunk, or after a crash, a kill, a restart);
 *   2. send {type:"run"}; watch the timeout (counted from the child's "ready"), ctx.signal and
 *      the child's RSS (/proc, every 100 ms); collect the job's "begin" and "report" messages;
 *   3. on the result, report; past memoryLimitMb the child is SIGKILLed mid-chunk; after the chunk it
 *      is retired when its RSS, or its RSS plus the largest growth of one chunk so far, passes it;
 *   4. if the child exits mid-chunk, report crashed, with what the job reported and the item it was on;
 *      the next chunk gets a fresh child.
 * Also the `fork` kind's definition (its options and factory).
 */
import { type ChildProcess, fork } from "node:child_process";
import { resolve } from "node:path";
import { type Batch, defaults, type Logger, moduleFileProblem, z } from "@batchjob/core";
import { commonOptions, defineLauncher } from "./definition.js";
import { entryPath } from "./entry-path.js";
import type { ChildMessage, ParentMessage } from "./fork-child.js";
import { MemoryPoller, readProcMemory, resetPeak } from "./proc-memory.js";
import {
  abortedUnreported,
  endReport,
  errorMessage,
  fatalReport,
  ResultCollector,
  UNREPORTED_OK,
  unreportedFailure,
} from "./results.js";
import type { ChunkReport, FatalEnd, Launcher, RunContext } from "./types.js";

const MEMORY_POLL_MS = 100;
/** A child asked to exit (by disconnecting it) is SIGKILLed after this long. */
const EXIT_GRACE_MS = 5000;
const MB = 1024 * 1024;
/** A new child gets at least this long to import the job module before its chunk times out. */
const CHILD_START_MS = 30_000;

export interface ForkLauncherOptions {
  jobType: string;
  /** Absolute path of the job module. */
  module: string;
  export: string;
  timeoutMs: number;
  memoryLimitMb: number;
  log: Logger;
  /** Interval of the RSS checks while a chunk runs. @defaultValue 100 */
  memoryPollMs?: number;
}

/** fork-child.js next to this file, or under dist/ when this file runs from src/ (vitest). */
export function forkChildPath(): string {
  return entryPath("fork-child.js");
}

/**
 * Why a child that ended a chunk at `rssBytes` should be retired before the
 * next one, or undefined to keep it: above the limit already, or would pass
 * it if the next chunk grew it as much as the most any chunk has so far.
 * `who` names the process in the reason (the process launcher shares this rule).
 */
export function retireReason(
  rssBytes: number,
  maxGrowthBytes: number,
  limitBytes: number,
  who = "fork child",
): string | undefined {
  if (rssBytes > limitBytes) return `${who} is above memoryLimitMb after its chunk: restarting it`;
  if (rssBytes + maxGrowthBytes > limitBytes) {
    return `${who} would pass memoryLimitMb if its next chunk grew it as much as one has: restarting it`;
  }
  return undefined;
}

/** The daemon's Node flags minus the inspector's (a second debugger on the same port fails). */
function childExecArgv(): string[] {
  return process.execArgv.filter((a) => !/^--(inspect|debug)/.test(a));
}

type ChildEvent = { kind: "message"; msg: ChildMessage } | { kind: "exit"; description: string };

/** One child process and what the launcher tracks of it. */
class ForkChild {
  readonly proc: ChildProcess;
  readonly pid: number | undefined;
  /** Receives the child's messages and its exit while a chunk runs. */
  listener: ((event: ChildEvent) => void) | undefined;
  gone = false;
  /** The job module is imported: chunk timeouts start counting. */
  ready = false;
  /** The launcher stopped using it on purpose (killed, retired, closed): its exit is expected. */
  dropped = false;
  /** Resolves once the child has exited and its IPC channel is closed. */
  readonly closed: Promise<void>;
  private crashNote: string | undefined;

  constructor(path: string, args: string[], onGone: (child: ForkChild, description: string) => void) {
    // "advanced" (structured clone) IPC: payloads travel as JSON text without being escaped again
    this.proc = fork(path, args, {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv: childExecArgv(),
      serialization: "advanced",
    });
    this.pid = this.proc.pid;
    this.proc.on("message", (msg: ChildMessage) => {
      if (msg.type === "ready") this.ready = true;
      else if (msg.type === "crash") this.crashNote = msg.error;
      this.listener?.({ kind: "message", msg });
    });
    this.closed = new Promise<void>((resolve) => {
      const end = (description: string) => {
        if (this.gone) return;
        this.gone = true;
        resolve();
        onGone(this, description);
        this.listener?.({ kind: "exit", description });
      };
      // the end is "exit" plus a closed IPC channel, so that every message has been received
      // ("close" is not emitted at all once the parent has called disconnect())
      let exit: string | undefined;
      const maybeEnd = () => {
        if (exit !== undefined && !this.proc.connected) end(this.crashNote ? `${exit}: ${this.crashNote}` : exit);
      };
      this.proc.once("exit", (code: number | null, signal: NodeJS.Signals | null) => {
        exit = signal ? `child killed by ${signal}` : `child exited with code ${code}`;
        maybeEnd();
      });
      this.proc.once("disconnect", maybeEnd);
      // a failed start; later errors (a send to a dead child) are followed by "exit"
      this.proc.on("error", (err) => {
        if (this.pid === undefined) end(`cannot start the fork child: ${errorMessage(err)}`);
      });
    });
  }

  /** Alive and reachable: a chunk sent now will be received. */
  get usable(): boolean {
    return !this.gone && this.proc.connected && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  send(msg: ParentMessage): void {
    if (this.proc.connected) this.proc.send(msg);
  }

  kill(): void {
    if (!this.gone) this.proc.kill("SIGKILL");
  }

  /** Asks the child to exit (it does when disconnected); SIGKILL after EXIT_GRACE_MS. */
  retire(): Promise<void> {
    if (this.gone) return this.closed;
    if (this.proc.connected) this.proc.disconnect();
    const force = setTimeout(() => this.kill(), EXIT_GRACE_MS);
    return this.closed.finally(() => clearTimeout(force));
  }
}

export class ForkLauncher implements Launcher {
  readonly kind = "fork";
  // the child parses each payload and fails one that is not JSON alone (decode in fork-child.ts)
  readonly payloads = "text";
  private child: ForkChild | undefined;
  /** Every child not yet exited, retiring ones included: `close()` waits for them. */
  private readonly children = new Set<ForkChild>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly childPath = forkChildPath();
  private readonly limitBytes: number;
  /** The largest RSS growth of one chunk seen so far (peak during the chunk minus RSS at its start). */
  private maxGrowthBytes = 0;

  constructor(private readonly opts: ForkLauncherOptions) {
    this.limitBytes = opts.memoryLimitMb * MB;
  }

  /** The pid of the current child, if one runs (for monitoring and tests). */
  get pid(): number | undefined {
    return this.child?.usable ? this.child.pid : undefined;
  }

  run(batch: Batch, ctx: RunContext): Promise<ChunkReport> {
    const report = this.queue.then(() => this.runOne(batch, ctx));
    this.queue = report.catch(() => {});
    return report;
  }

  async close(): Promise<void> {
    this.child = undefined;
    await Promise.all(
      [...this.children].map((c) => {
        c.dropped = true;
        return c.retire();
      }),
    );
  }

  private start(): ForkChild {
    const child = new ForkChild(this.childPath, [this.opts.module, this.opts.export], (c, description) => {
      this.children.delete(c);
      if (this.child === c) this.child = undefined;
      if (!c.listener && !c.dropped) {
        this.opts.log.warn(
          { jobType: this.opts.jobType, pid: c.pid },
          `fork child ended between chunks: ${description}`,
        );
      }
    });
    this.children.add(child);
    this.child = child;
    return child;
  }

  /** Stops using `child`: SIGKILL (`kill`) or a graceful exit (`retire`). */
  private drop(child: ForkChild, how: "kill" | "retire"): void {
    if (this.child === child) this.child = undefined;
    child.dropped = true;
    if (how === "kill") child.kill();
    else void child.retire();
  }

  private runOne(batch: Batch, ctx: RunContext): Promise<ChunkReport> | ChunkReport {
    const results = new ResultCollector(batch, ctx.log);
    if (ctx.signal.aborted)
      return { results: results.finish(), unreported: abortedUnreported(ctx.signal), peakMemoryBytes: null };
    let child: ForkChild;
    try {
      if (this.child && !this.child.usable) this.drop(this.child, "kill");
      child = this.child ?? this.start();
    } catch (err) {
      return fatalReport(results, "crashed", `cannot start the fork child: ${errorMessage(err)}`, null);
    }
    const pid = child.pid;
    if (pid !== undefined) resetPeak(pid);
    // the chunk's growth is measured from a ready child (a new one: once its job module is imported)
    let startRss: number | undefined;
    let peakReset = false;
    const markStart = () => {
      if (pid === undefined) return;
      peakReset = resetPeak(pid);
      startRss = readProcMemory(pid)?.rssBytes;
    };
    if (child.ready) markStart();

    return new Promise<ChunkReport>((resolve) => {
      const { timeoutMs, memoryLimitMb, log, jobType } = this.opts;
      let poller: MemoryPoller | undefined;
      const done = (report: ChunkReport) => {
        clearTimeout(timer);
        poller?.stop();
        ctx.signal.removeEventListener("abort", onAbort);
        child.listener = undefined;
        resolve(report);
      };
      const fatal = (reason: FatalEnd["reason"], error: string) => {
        this.drop(child, "kill");
        done(fatalReport(results, reason, error, poller?.peakBytes ?? null));
      };
      const onAbort = () => {
        child.send({ type: "abort", chunkId: batch.id });
        this.drop(child, "kill");
        done(endReport(results, abortedUnreported(ctx.signal), poller?.peakBytes ?? null));
      };
      // a new child's start does not count against the chunk's timeoutMs; it has its own allowance
      const startMs = Math.max(timeoutMs, CHILD_START_MS);
      const onTimeout = () => {
        if (child.ready) fatal("timeout", `timed out after ${timeoutMs} ms`);
        else fatal("timeout", `timed out after ${startMs} ms loading the job module`);
      };
      let timer = setTimeout(onTimeout, child.ready ? timeoutMs : startMs);
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      if (pid !== undefined) {
        poller = new MemoryPoller(pid, this.opts.memoryPollMs ?? MEMORY_POLL_MS, (m) => {
          if (m.rssBytes > this.limitBytes) {
            fatal(
              "memory-limit",
              `child RSS ${Math.round(m.rssBytes / MB)} MB is above memoryLimitMb ${memoryLimitMb}`,
            );
          }
        });
      }

      child.listener = (event) => {
        if (event.kind === "exit") {
          done(fatalReport(results, "crashed", event.description, poller?.peakBytes ?? null));
          return;
        }
        const msg = event.msg;
        // every message is a moment the child is known alive: its peak so far is read then too
        if (pid !== undefined) poller?.record(readProcMemory(pid));
        if (msg.type === "ready") {
          clearTimeout(timer);
          timer = setTimeout(onTimeout, timeoutMs);
          markStart();
        } else if (msg.type === "begin") {
          if (msg.chunkId === batch.id) results.begin(msg.id, "ctx.begin");
        } else if (msg.type === "report") {
          if (msg.chunkId === batch.id) results.add(msg.result, "ctx.report");
        } else if (msg.type === "log") {
          if (msg.chunkId !== batch.id) return;
          if (typeof msg.obj === "string") ctx.log[msg.level](msg.obj);
          else ctx.log[msg.level]({ ...msg.obj, chunkId: batch.id }, msg.msg);
        } else if (msg.type === "init-error") {
          this.drop(child, "retire");
          done(fatalReport(results, "crashed", msg.error, null));
        } else if (msg.type === "result" && msg.chunkId === batch.id) {
          const now = pid === undefined ? null : readProcMemory(pid);
          const peakMemoryBytes = now ? Math.max(now.peakBytes, poller?.peakBytes ?? 0) : msg.rss;
          const rss = Math.max(now?.rssBytes ?? 0, msg.rss);
          if (startRss !== undefined) {
            const top = peakReset && now ? Math.max(now.peakBytes, rss) : rss;
            this.maxGrowthBytes = Math.max(this.maxGrowthBytes, top - startRss);
          }
          const retire = retireReason(rss, this.maxGrowthBytes, this.limitBytes);
          if (retire !== undefined) {
            const growthMb = Math.round(this.maxGrowthBytes / MB);
            log.info({ jobType, pid, rssMb: Math.round(rss / MB), growthMb, memoryLimitMb }, retire);
            this.drop(child, "retire");
          }
          // results first: items the child could not even decode come with an error
          if (msg.results !== undefined) results.addAll(msg.results, "results");
          const unreported = msg.error === undefined ? UNREPORTED_OK : unreportedFailure(msg.error);
          done(endReport(results, unreported, peakMemoryBytes));
        }
      };
      child.send({ type: "run", batch });
    });
  }
}

/** `fork`: one long-lived Node child per worker running a module's BatchJob, restarted past `memoryLimitMb`. */
export const forkDefinition = defineLauncher({
  kind: "fork",
  schema: z.strictObject({
    /** The job module, relative to the config file. */
    module: z.string().min(1),
    export: commonOptions.export,
    /** The child is restarted once its RSS passes this. */
    memoryLimitMb: z.number().positive().default(defaults.launcher.memoryLimitMb),
    timeoutMs: commonOptions.timeoutMs,
  }),
  create: (spec, ctx) =>
    new ForkLauncher({
      jobType: ctx.jobType,
      module: resolve(ctx.baseDir, spec.module),
      export: spec.export,
      timeoutMs: spec.timeoutMs,
      memoryLimitMb: spec.memoryLimitMb,
      log: ctx.log,
    }),
  check(spec, ctx) {
    const problem = moduleFileProblem(ctx.baseDir, spec.module);
    return problem ? [{ path: "module", message: problem }] : [];
  },
});

declare module "@batchjob/core" {
  /** Tells the type checker this kind's options (`LauncherSpec`, `LauncherInput`, `defineConfig`). */
  interface LauncherKinds {
    fork: typeof forkDefinition;
  }
}
