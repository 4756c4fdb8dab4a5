/**
 * The processes a chaos scenario starts (daemons, and what they start in
 * turn), tracked so that every one of them is killed at the end:
 *   1. `spawn` starts a process with its output in a log file and tracks it;
 *   2. before a tracked process is killed, its descendants (fork children,
 *      spawned jobs) are noted with their start time, so orphans can be found again;
 *   3. `killAll` SIGKILLs every tracked process still alive and every noted
 *      descendant that is still the same process (pid and start time match).
 * Descendants are read from /proc/<pid>/task/<tid>/children: only this run's own tree.
 * `killEverything()` does the same at once for every group (the runner's SIGINT handler).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface Proc {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Resolves at exit. */
  exited: Promise<void>;
  alive(): boolean;
  logFile: string;
}

/** The start time of `pid` (field 22 of /proc/<pid>/stat), or null when it is gone. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) may hold spaces and parentheses: count from the last ")"
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** The direct children of `pid` (every thread's), from /proc. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Every descendant of `pid`, depth first. */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  for (const c of childrenOf(pid)) out.push(c, ...descendantsOf(c));
  return out;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return startTime(pid) !== null;
  } catch {
    return false;
  }
}

const groups = new Set<ProcessGroup>();

/** SIGKILLs every process of every group now, without waiting (for a signal handler). */
export function killEverything(): void {
  for (const g of groups) g.killNow();
}

export class ProcessGroup {
  private readonly procs: Proc[] = [];
  /** Descendants seen before their parent was killed: pid -> start time. */
  private readonly noted = new Map<number, string>();

  constructor(
    private readonly logDir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    groups.add(this);
  }

  /** Starts `command` with its stdout and stderr in `<logDir>/<name>.log`. */
  spawn(name: string, command: string, args: string[], env: Record<string, string> = {}): Proc {
    const logFile = join(this.logDir, `${name}.log`);
    const fd = openSync(logFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(command, args, { env: { ...this.env, ...env }, stdio: ["ignore", fd, fd] });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) throw new Error(`cannot start ${name}: ${command} ${args.join(" ")}`);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
    child.on("error", () => {});
    const proc: Proc = {
      name,
      pid: child.pid,
      child,
      exited,
      alive: () => child.exitCode === null && child.signalCode === null,
      logFile,
    };
    this.procs.push(proc);
    return proc;
  }

  /** Notes the descendants of `pid` (so they can be reaped even once orphaned). */
  noteDescendants(pid: number): number[] {
    const ds = descendantsOf(pid);
    for (const d of ds) {
      const t = startTime(d);
      if (t !== null) this.noted.set(d, t);
    }
    return ds;
  }

  /** Sends `signal` to a tracked process (its descendants noted first); resolves at exit for SIGKILL. */
  async kill(proc: Proc, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (!proc.alive()) return;
    this.noteDescendants(proc.pid);
    proc.child.kill(signal);
    if (signal === "SIGKILL") await proc.exited;
  }

  alive(): Proc[] {
    return this.procs.filter((p) => p.alive());
  }

  /** SIGKILLs everything this group started or saw, without waiting. */
  killNow(): void {
    for (const p of this.alive()) this.noteDescendants(p.pid);
    for (const p of this.alive()) {
      // a stopped process dies of SIGKILL too; SIGCONT first so nothing waits on it
      p.child.kill("SIGCONT");
      p.child.kill("SIGKILL");
    }
    for (const [pid, t] of this.noted) {
      if (startTime(pid) === t && isAlive(pid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
    }
    this.noted.clear();
  }

  /** SIGKILLs everything this group started or saw, and waits for the tracked ones. */
  async killAll(): Promise<void> {
    this.killNow();
    await Promise.all(this.procs.map((p) => p.exited));
  }

  /** Kills what is left and forgets the group. */
  async dispose(): Promise<void> {
    await this.killAll();
    groups.delete(this);
  }
}
