/**
 * Process checks scoped to the processes a test started, never a scan of all
 * /proc: a process's children come from /proc/<pid>/task/<tid>/children.
 * A tree watch samples the tree of a process the test started while it runs,
 * remembering every process seen by pid and start time (a reused pid is not
 * mistaken for it); after the run, `leftovers()` names those still running.
 * A zombie counts as gone: it runs nothing, and an orphan's may stay unreaped.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** /proc/<pid>/stat state: R, S, D, T (stopped), Z (zombie), ... */
  state: string;
  /** Clock ticks after boot: with the pid, the identity of a process. */
  startTime: string;
  argv: string;
}

/** What /proc says of `pid`, or null once it is gone (or on a system without /proc). */
export function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) may hold spaces and parentheses: the fields resume after the last ")"
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    let argv = "";
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    } catch {
      // gone meanwhile: the stat read is what counts
    }
    return {
      pid,
      ppid: Number(f[1]),
      pgid: Number(f[2]),
      state: f[0] ?? "?",
      startTime: f[19] ?? "?",
      argv,
    };
  } catch {
    return null;
  }
}

/** The children of `pid` (of all its threads); none once it is gone. */
export function childrenOf(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    try {
      const line = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (line) for (const c of line.split(/\s+/)) out.push(Number(c));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Every descendant of `pid` now (children, their children, ...), nearest first. */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const p = queue.shift() as number;
    if (out.includes(p)) continue;
    out.push(p);
    queue.push(...childrenOf(p));
  }
  return out;
}

const alive = (p: ProcInfo | null): p is ProcInfo => p !== null && p.state !== "Z" && p.state !== "X";

/** True while the process seen as `seen` runs (same pid and start time, not a zombie). */
export function stillRunning(seen: ProcInfo): boolean {
  const now = procInfo(seen.pid);
  return alive(now) && now.startTime === seen.startTime;
}

export interface TreeWatch {
  /** Every process seen in the tree so far (the root included). */
  seen(): ProcInfo[];
  /** Takes one more sample now. */
  sample(): void;
  /** Stops sampling (after a last sample). */
  stop(): void;
  /** The processes seen that still run, as "pid: argv". */
  leftovers(): string[];
}

/**
 * Samples the tree under `rootPid` every `everyMs` until stopped. Each sample
 * also walks under every process seen that still runs, so the children of a
 * process whose parent ended (an orphan) are still found. A process that is
 * born and orphaned between two samples is missed: keep `everyMs` short.
 */
export function watchTree(rootPid: number, everyMs = 20): TreeWatch {
  const seen = new Map<string, ProcInfo>();
  // the latest reading of each: a child seen between its fork and its exec still shows its parent's argv;
  // but not an empty argv: a process that is exiting has let go of its memory, cmdline reads "" (for longer
  // on a bigger binary, as Node 24's)
  const add = (pid: number) => {
    const p = procInfo(pid);
    if (!alive(p)) return;
    const key = `${pid}/${p.startTime}`;
    const before = seen.get(key);
    seen.set(key, p.argv === "" && before ? { ...p, argv: before.argv } : p);
  };
  const sample = () => {
    const roots = [rootPid, ...[...seen.values()].filter(stillRunning).map((p) => p.pid)];
    for (const r of new Set(roots)) {
      add(r);
      for (const d of descendantsOf(r)) add(d);
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    seen: () => [...seen.values()],
    sample,
    stop() {
      sample();
      clearInterval(timer);
    },
    leftovers: () => [...seen.values()].filter(stillRunning).map((p) => `${p.pid}: ${procInfo(p.pid)?.argv ?? p.argv}`),
  };
}
