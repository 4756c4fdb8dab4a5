/**
 * Spawned jobs die with their daemon: a stand-in daemon (fixtures/spawn-host.mjs, on the build)
 * spawns a job whose process group hangs with a grandchild; after a kill -9 of that daemon its
 * guardian SIGKILLs the group. A daemon that ends normally is not kept alive and ends its guardian.
 * Process checks read only the pids these tests' own processes recorded.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fixture } from "./fixtures/batches.js";

const onLinux = process.platform === "linux";
/** Target: the job's whole process group is gone this long after the kill -9 of the daemon. */
const GONE_WITHIN_MS = 2000;
let dir: string;
let host: ChildProcess | undefined;
const recorded: number[] = [];

/** Alive and not a zombie: /proc/<pid>/stat, state after the command name. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function startHost(after: "stay" | "exit", script: string): { exited: Promise<void> } {
  const proc = spawn(process.execPath, [fixture("spawn-host.mjs"), dir, after, "sh", "-c", script], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  host = proc;
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  return { exited };
}

/** Waits for `file` in the test's folder and returns the pids written in it (space-separated). */
async function pidsIn(file: string): Promise<number[]> {
  const path = join(dir, file);
  await vi.waitFor(() => expect(existsSync(path)).toBe(true), { timeout: 15_000, interval: 10 });
  const pids = readFileSync(path, "utf8").trim().split(/\s+/).map(Number);
  for (const p of pids) expect(p).toBeGreaterThan(1);
  recorded.push(...pids);
  return pids;
}

async function expectAllGone(pids: number[], withinMs: number): Promise<void> {
  await vi.waitFor(() => expect(pids.filter(alive)).toEqual([]), { timeout: withinMs, interval: 10 });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bj-guardian-"));
});

afterEach(() => {
  // whatever a failed test left behind
  if (host?.exitCode === null && host.signalCode === null) host.kill("SIGKILL");
  for (const pid of recorded.splice(0)) {
    if (alive(pid)) process.kill(pid, "SIGKILL");
  }
  host = undefined;
  rmSync(dir, { recursive: true, force: true });
});

// the job: sh with a background grandchild, both waiting forever, their pids written atomically
const hanging = `sleep 1000 & echo "$$ $!" > pids.tmp && mv pids.tmp pids; wait`;

describe.skipIf(!onLinux)("spawn launcher guardian", () => {
  it("kills the job's whole process group, a hanging one, when its daemon is killed -9", async () => {
    const { exited } = startHost("stay", hanging);
    const job = await pidsIn("pids");
    const [guardian] = await pidsIn("guardian.pid");
    expect(job.every(alive)).toBe(true);
    expect(alive(guardian ?? 0)).toBe(true);

    host?.kill("SIGKILL");
    await exited;
    await expectAllGone(job, GONE_WITHIN_MS);
    // its work done, the guardian ends too
    await expectAllGone([guardian ?? 0], GONE_WITHIN_MS);
  });

  it("keeps guarding a group whose leader ended but a grandchild lives on", async () => {
    const { exited } = startHost(
      "stay",
      `sleep 1000 </dev/null >/dev/null 2>&1 & echo "$!" > pids.tmp && mv pids.tmp pids`,
    );
    const [grandchild] = await pidsIn("pids");
    await vi.waitFor(() => expect(existsSync(join(dir, "ended"))).toBe(true), { timeout: 15_000, interval: 10 });
    expect(alive(grandchild ?? 0)).toBe(true);

    host?.kill("SIGKILL");
    await exited;
    await expectAllGone([grandchild ?? 0], GONE_WITHIN_MS);
  });

  it("does not keep a daemon alive, and ends with a daemon that exits normally", async () => {
    startHost("exit", "true");
    const [guardian] = await pidsIn("guardian.pid");
    // the host returns from its script with the guardian running: nothing may hold its event loop
    await vi.waitFor(() => expect(host?.exitCode).toBe(0), { timeout: 15_000, interval: 10 });
    await expectAllGone([guardian ?? 0], GONE_WITHIN_MS);
  });
});
