/** Real processes for end-to-end tests: the built `batchjob` CLI, tracked so a test cannot leave one running. */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { track } from "./index.js";

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
