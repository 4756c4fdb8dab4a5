/**
 * Runs the tests of a client in another language (clients/python,
 * clients/php) as a child process against the run's Redis, under a fresh
 * key prefix (deleted after the test), and tells whether its interpreter is
 * here: a missing interpreter or Redis extension skips those tests with the
 * reason in their name, never fails them. Also runs a client as a service
 * would (test/fixtures/clients/produce.py, produce.php) for tests that feed
 * core's queues from those languages.
 */
import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freshPrefix, redisUrl } from "../harness/index.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Debian's python3-redis serves Debian's python3, which may not be the first python3 on PATH. */
export const PYTHON = "/usr/bin/python3";
export const PHP = "php";

/** The shared enqueue cases (test/fixtures/enqueue-cases.json). */
export const CASES = JSON.parse(readFileSync(`${ROOT}test/fixtures/enqueue-cases.json`, "utf8")) as {
  protocolVersion: number;
  cases: { name: string }[];
};

/** Null when `command args` exits 0; else why the tests that need it are skipped. */
export function missing(command: string, args: string[], what: string): string | null {
  const r = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
  if (r.error) return `${what}: ${command} cannot run (${r.error.message})`;
  return r.status === 0 ? null : `${what}: ${(r.stderr || r.stdout).trim().split("\n").pop()}`;
}

export const pythonMissing = () =>
  missing(PYTHON, ["-c", "import redis"], "no redis-py for /usr/bin/python3 (apt-get install python3-redis)");
export const phpMissing = () =>
  missing(
    PHP,
    ["-r", 'exit(extension_loaded("redis") && PHP_VERSION_ID >= 80200 ? 0 : 1);'],
    "no PHP 8.2+ with phpredis (apt-get install php-cli php-redis)",
  );

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command args` in `cwd` with the run's Redis and a fresh prefix in its environment. */
export function runClientTests(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd,
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
        env: {
          ...process.env,
          BATCHJOB_TEST_REDIS_URL: redisUrl(),
          BATCHJOB_TEST_PREFIX: freshPrefix(),
          PYTHONDONTWRITEBYTECODE: "1",
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Runs a producer fixture (`produce.py` or `produce.php`: `enqueue|counts|dead <job type>`, items as JSON on
 * stdin) on the run's Redis under `prefix`, and parses the JSON line it prints.
 */
export function produce(lang: "python" | "php", prefix: string, args: string[], input?: unknown): Promise<unknown> {
  const [command, script] = lang === "python" ? [PYTHON, "produce.py"] : [PHP, "produce.php"];
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      [`${ROOT}test/fixtures/clients/${script}`, ...args],
      {
        timeout: 60_000,
        env: { ...process.env, BATCHJOB_REDIS_URL: redisUrl(), BATCHJOB_PREFIX: prefix, PYTHONDONTWRITEBYTECODE: "1" },
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${script} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      },
    );
    child.stdin?.end(input === undefined ? "" : JSON.stringify(input));
  });
}
