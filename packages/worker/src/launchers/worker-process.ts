/**
 * One long-lived worker process of the `process` launcher and what is known of it:
 *   1. spawned in its own process group, registered with the guardian (group-guard.ts), so a timeout
 *      or the daemon's death takes what it started too; BATCHJOB_JOB_TYPE and BATCHJOB_PROCESS_PROTOCOL set;
 *   2. stdout is cut into lines (spawn's LineSplitter) and parsed (process-protocol.ts); its ready line
 *      marks it ready, every other line goes to the listener of the chunk it runs;
 *   3. stderr lines are logged (warn, with the pid, and the chunk id while one runs);
 *   4. it is gone once it exited and its pipes closed (every line read), or it could not start.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type { Logger } from "@batchjob/core";
import { guardGroup } from "./group-guard.js";
import { PROCESS_PROTOCOL, type ProcessLine, parseProcessLine } from "./process-protocol.js";
import { errorCode, errorMessage } from "./results.js";
import { LineSplitter } from "./spawn.js";

/** Longer stdout lines break the protocol (results are small); longer stderr lines are cut. */
const MAX_LINE = 1024 * 1024;
const MAX_STDERR_LINE = 8 * 1024;
/** After the process exits, its pipes get this long to close (a grandchild may hold them). */
const PIPE_GRACE_MS = 1000;

export type ProcessEvent =
  | { kind: "ready" }
  | { kind: "line"; line: ProcessLine; where: string }
  | { kind: "exit"; description: string };

export interface WorkerProcessOptions {
  jobType: string;
  command: string;
  args: string[];
  cwd: string;
  env?: Record<string, string>;
  log: Logger;
  /** A line while no chunk runs (the listener is unset), or the exit of a process not dropped. */
  onIdleEvent: (proc: WorkerProcess, event: ProcessEvent) => void;
}

export class WorkerProcess {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly pid: number | undefined;
  /** Receives its events while a chunk runs. */
  listener: ((event: ProcessEvent) => void) | undefined;
  /** The log and chunk id of the chunk it runs, for its stderr lines. */
  chunk: { log: Logger; chunkId: string } | undefined;
  ready = false;
  gone = false;
  /** The launcher stopped using it on purpose: its exit is expected. */
  dropped = false;
  /** Chunks it has finished. */
  chunks = 0;
  /** Its RSS when its last chunk ended (it idles between chunks), if read. */
  idleRss: number | undefined;
  /** Resolves once it has exited and its pipes are closed. */
  readonly closed: Promise<void>;
  private lastStderr = "";
  private readonly unguard: (() => void) | undefined;

  /** Throws when the command cannot be spawned at all (a bad argument); ENOENT arrives as an exit event. */
  constructor(private readonly opts: WorkerProcessOptions) {
    const env = {
      ...process.env,
      ...opts.env,
      BATCHJOB_JOB_TYPE: opts.jobType,
      BATCHJOB_PROCESS_PROTOCOL: String(PROCESS_PROTOCOL),
    };
    this.proc = spawn(opts.command, opts.args, { cwd: opts.cwd, env, stdio: "pipe", detached: true });
    this.pid = this.proc.pid;
    this.unguard = this.pid === undefined ? undefined : guardGroup(this.pid, opts.log);

    const stdout = new LineSplitter(MAX_LINE, (text, n, overlong) => {
      const where = `stdout line ${n}`;
      const line: ProcessLine = overlong
        ? { kind: "bad", problem: `line longer than ${MAX_LINE} characters` }
        : parseProcessLine(text);
      if (line.kind === "blank") return;
      if (line.kind === "ready" && !this.ready && line.protocol === PROCESS_PROTOCOL) {
        this.ready = true;
        this.emit({ kind: "ready" });
      } else this.emit({ kind: "line", line, where });
    });
    const stderr = new LineSplitter(MAX_STDERR_LINE, (line) => {
      const text = line.trimEnd();
      if (text === "") return;
      this.lastStderr = text;
      const fields = { jobType: opts.jobType, pid: this.pid, stream: "stderr" };
      if (this.chunk) this.chunk.log.warn({ ...fields, chunkId: this.chunk.chunkId }, text);
      else opts.log.warn(fields, text);
    });
    this.proc.stdout.setEncoding("utf8").on("data", (chunk: string) => stdout.push(chunk));
    this.proc.stderr.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
    this.proc.stdin.on("error", (err) => {
      // EPIPE: it exited or closed stdin; its exit tells the rest
      if (errorCode(err) !== "EPIPE")
        opts.log.warn({ jobType: opts.jobType, pid: this.pid, err }, "cannot write to the worker process");
    });

    this.closed = new Promise<void>((resolve) => {
      const end = (description: string) => {
        if (this.gone) return;
        this.gone = true;
        this.unguard?.();
        resolve();
        this.emit({ kind: "exit", description });
      };
      let pipeTimer: NodeJS.Timeout | undefined;
      this.proc.on("error", (err) => {
        if (this.pid !== undefined) {
          opts.log.warn({ jobType: opts.jobType, pid: this.pid, err }, "worker process: process error");
          return;
        }
        end(`cannot start ${opts.command}: ${errorCode(err) ?? errorMessage(err)}`);
      });
      this.proc.on("exit", () => {
        pipeTimer = setTimeout(() => {
          this.proc.stdout.destroy();
          this.proc.stderr.destroy();
        }, PIPE_GRACE_MS);
      });
      this.proc.on("close", (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(pipeTimer);
        stdout.end();
        stderr.end();
        const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
        end(this.lastStderr ? `worker process ${how}: ${this.lastStderr}` : `worker process ${how}`);
      });
    });
  }

  /** Alive and not dropped: a chunk written now will be read. */
  get usable(): boolean {
    return !this.gone && !this.dropped && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  write(line: string): void {
    if (this.proc.stdin.writable) this.proc.stdin.write(line);
  }

  /** Signals its whole process group; the process alone when the group is gone. */
  signal(signal: NodeJS.Signals): void {
    if (this.gone && signal !== "SIGKILL") return;
    try {
      if (this.pid !== undefined) process.kill(-this.pid, signal);
    } catch {
      try {
        this.proc.kill(signal);
      } catch {
        // gone already
      }
    }
  }

  /** Asks it to exit by closing its stdin; its group is SIGKILLed if it is still there `graceMs` later. */
  retire(graceMs: number): Promise<void> {
    this.dropped = true;
    if (this.gone) return this.closed;
    this.proc.stdin.end();
    const force = setTimeout(() => this.signal("SIGKILL"), graceMs);
    return this.closed.finally(() => clearTimeout(force));
  }

  /** SIGTERM to its group now, SIGKILL `graceMs` later if it is still there. */
  terminate(graceMs: number): void {
    this.dropped = true;
    this.signal("SIGTERM");
    const force = setTimeout(() => this.signal("SIGKILL"), graceMs);
    void this.closed.finally(() => clearTimeout(force));
  }

  kill(): void {
    this.dropped = true;
    this.signal("SIGKILL");
  }

  private emit(event: ProcessEvent): void {
    if (this.listener) this.listener(event);
    else this.opts.onIdleEvent(this, event);
  }
}
