/** Real processes for end-to-end tests: the built `batchjob` CLI, tracked so a test cannot leave one running. */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { track } from "./index.js";
import { stillRunning, type TreeWatch, watchTree } from "./process-tree.js";

export const CLI = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): void;
}

export function spawnCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string } = {},
): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, BATCHJOB_LOG_LEVEL: process.env.BATCHJOB_LOG_LEVEL ?? "warn", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const open = () => child.exitCode === null && child.signalCode === null;
  track(`batchjob ${args.join(" ")} (pid ${child.pid})`, open, async () => {
    child.kill("SIGKILL");
    await exited;
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal = "SIGTERM") => {
      child.kill(signal);
    },
    async waitForOutput(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = pattern.exec(out) ?? pattern.exec(err);
        if (m) return m[0];
        if (!open()) throw new Error(`process exited before printing ${pattern}: ${err.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stderr: ${err.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Runs the CLI to completion. */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string } = {},
) {
  const p = spawnCli(args, { ...options, input: options.input ?? "" });
  const { code } = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

export interface WatchedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The process tree seen while it ran (its daemons, their children, ...): `tree.leftovers()` after the exit. */
  tree: TreeWatch;
}

/**
 * Runs `command` to completion while watching its process tree, so the test
 * can check that nothing it started is left running (and nothing else: the
 * check never looks beyond the tree). Past `timeoutMs` the tree is killed.
 * Anything of the tree still running after the test is killed by `setup.ts`.
 */
export async function runWatched(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<WatchedRun> {
  const child = spawn(command, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`cannot start ${command}`);
  const tree = watchTree(child.pid);
  const running = () => tree.seen().filter(stillRunning);
  const killTree = () => {
    for (const p of running()) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  };
  track(
    `${command} ${args.join(" ")} (pid ${child.pid}) and its process tree`,
    () => running().length > 0,
    async () => {
      tree.stop();
      killTree();
    },
  );
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  // "close": it exited and its output ended (a process of its tree still holding the output keeps it open)
  const timeoutMs = options.timeoutMs ?? 120_000;
  let timedOut: string[] | undefined;
  const timer = setTimeout(() => {
    timedOut = running().map((p) => `${p.pid}: ${p.argv}`);
    killTree();
  }, timeoutMs);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (c, s) => resolve({ code: c, signal: s })),
  );
  clearTimeout(timer);
  tree.stop();
  if (timedOut)
    throw new Error(
      `${command} ${args.join(" ")} did not end within ${timeoutMs} ms; running then: ${timedOut.join("; ")}; stderr: ${err.slice(-2000)}`,
    );
  return { code, signal, stdout: out, stderr: err, tree };
}
