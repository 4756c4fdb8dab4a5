/**
 * The daemon's side of the guardian (guardian.ts): spawned jobs die with the daemon.
 *   1. the first guarded group starts one guardian for this process, in its own session and unref'd
 *      with its stdin pipe, so it never keeps the daemon alive;
 *   2. `guardGroup(pgid)` sends "+<pgid>"; its release sends "-<pgid>" once the group is empty
 *      (a grandchild left behind keeps it guarded);
 *   3. when this process ends, any way, the guardian's stdin closes and it SIGKILLs what is still guarded.
 * A guardian that died is started again by the next guarded group, and told every group still guarded.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";
import type { Logger } from "@batchjob/core";
import { entryPath } from "./entry-path.js";
import { errorMessage } from "./results.js";

/** A released group that still has members is checked this often until it is empty. */
const EMPTY_CHECK_MS = 1000;

const guarded = new Set<number>();
let guardian: ChildProcess | undefined;

/** The pid of this process's guardian, while one runs (for tests and monitoring). */
export function guardianPid(): number | undefined {
  return guardian?.exitCode === null && guardian.signalCode === null ? guardian.pid : undefined;
}

function startGuardian(log: Logger): ChildProcess | undefined {
  const warn = (problem: string) =>
    log.warn({ guarded: guarded.size }, `guardian of spawned jobs: ${problem}; they may outlive a killed daemon`);
  let proc: ChildProcess;
  try {
    proc = spawn(process.execPath, [entryPath("guardian.js")], {
      stdio: ["pipe", "ignore", "ignore"],
      // its own session (no terminal's signals reach it); "/" pins no folder of the daemon's
      detached: true,
      cwd: "/",
    });
  } catch (err) {
    warn(`cannot start it: ${errorMessage(err)}`);
    return undefined;
  }
  proc.unref();
  (proc.stdin as Socket | null)?.unref();
  // EPIPE once it is gone: "exit" below forgets it and the next guard starts another
  proc.stdin?.on("error", () => {});
  proc.on("error", (err) => warn(`cannot start it: ${errorMessage(err)}`));
  proc.on("exit", (code, signal) => {
    if (guardian === proc) guardian = undefined;
    if (guarded.size > 0) warn(`it ended (${signal ?? `exit code ${code}`})`);
  });
  // a new guardian learns every group still guarded
  for (const pgid of guarded) proc.stdin?.write(`+${pgid}\n`);
  return proc;
}

function tell(line: string): void {
  if (guardian?.stdin?.writable) guardian.stdin.write(`${line}\n`);
}

/** True while process group `pgid` has a member. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function forgetWhenEmpty(pgid: number): void {
  if (groupAlive(pgid)) {
    setTimeout(() => forgetWhenEmpty(pgid), EMPTY_CHECK_MS).unref();
    return;
  }
  guarded.delete(pgid);
  tell(`-${pgid}`);
}

/**
 * Guards the process group `pgid` (a job spawned detached: its pid) until the returned
 * release is called and the group is empty. Not on Windows (no process groups to kill).
 */
export function guardGroup(pgid: number, log: Logger): () => void {
  if (process.platform === "win32") return () => {};
  guarded.add(pgid);
  if (guardian?.stdin?.writable) tell(`+${pgid}`);
  else guardian = startGuardian(log);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    forgetWhenEmpty(pgid);
  };
}
