/**
 * The Redis the demo runs on: REDIS_URL when it answers, else a private
 * redis-server from PATH on a free port (persistence off, stopped at the
 * end), else a message saying how to get Redis.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { connectRedis, RedisUnavailableError, redactUrl } from "@batchjob/core";

export interface DemoRedis {
  url: string;
  private: boolean;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

async function answers(url: string, tries: number): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const c = connectRedis(url);
    c.on("error", () => {});
    try {
      await c.ping();
      c.disconnect();
      return true;
    } catch {
      c.disconnect();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return false;
}

export async function redisForDemo(env: NodeJS.ProcessEnv, say: (s: string) => void): Promise<DemoRedis> {
  if (env.REDIS_URL) {
    if (await answers(env.REDIS_URL, 1)) return { url: env.REDIS_URL, private: false, stop: async () => {} };
    say(`REDIS_URL=${redactUrl(env.REDIS_URL)} does not answer; trying a private redis-server instead.`);
  }
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
  } catch {
    throw new RedisUnavailableError(
      "the demo needs Redis 6.2 or newer: set REDIS_URL=redis://host:port to one, or install redis-server " +
        "(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis; or: docker run -p 6379:6379 redis:7) and run it again.",
    );
  }
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  if (!(await answers(url, 50))) {
    child.kill("SIGKILL");
    throw new RedisUnavailableError(`a private redis-server on port ${port} did not start`);
  }
  return {
    url,
    private: true,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
