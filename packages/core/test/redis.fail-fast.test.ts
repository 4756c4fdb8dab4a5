/**
 * CLI and API connections fail fast, in one line naming the URL (password
 * hidden) and the reason, against real servers that refuse, freeze or
 * authenticate; the connection recovers once Redis is back, and a command
 * its caller was told had failed is never sent later.
 */
import { describe, expect, it } from "vitest";
import { closeClient, freePort, startRedisServer, track, waitFor } from "../../../test/harness/index.js";
import { startSentinels } from "../../../test/harness/sentinel.js";
import { BatchQueue, connectRedis, ErrorCode, type RedisClient, RedisUnavailableError } from "../src/index.js";

/** A fail-fast client (closed after the test). */
function failFast(url: string, commandTimeoutMs?: number): RedisClient {
  const c = connectRedis(url, commandTimeoutMs ? { commandTimeoutMs } : {});
  track(
    `fail-fast connection to ${url}`,
    () => c.status !== "end",
    () => closeClient(c),
  );
  return c;
}

async function failure(p: Promise<unknown>): Promise<RedisUnavailableError> {
  const err = await p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RedisUnavailableError);
  expect((err as RedisUnavailableError).code).toBe(ErrorCode.REDIS_UNAVAILABLE);
  expect((err as Error).message).not.toMatch(/\n/);
  return err as RedisUnavailableError;
}

describe("a fail-fast connection", () => {
  it("BatchQueue on a URL nothing listens on: enqueue and counts fail with one line naming the URL and the reason", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const queue = new BatchQueue({ redis: url });
    track(
      "BatchQueue on a dead port",
      () => queue.client.status !== "end",
      () => queue.close(),
    );
    const expected = `cannot reach Redis at ${url}: connect ECONNREFUSED 127.0.0.1:${port}`;
    expect((await failure(queue.enqueue("t", [{ payload: 1 }]))).message).toBe(expected);
    expect((await failure(queue.counts("t"))).message).toBe(expected);
    await queue.close();
  }, 20_000);

  it("a wrong or missing password: authentication failed, the password never shown", async () => {
    const server = await startRedisServer();
    try {
      const admin = connectRedis(server.url);
      await admin.config("SET", "requirepass", "right-one");
      await closeClient(admin);
      const wrong = failFast(`redis://:not-it@127.0.0.1:${server.port}`);
      const e1 = await failure(wrong.ping());
      expect(e1.message).toMatch(
        new RegExp(
          `^cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${server.port}: authentication failed \\(WRONGPASS`,
        ),
      );
      expect(e1.message).not.toContain("not-it");
      const none = failFast(`redis://127.0.0.1:${server.port}`);
      expect((await failure(none.set("k", "v"))).message).toMatch(/authentication failed \(NOAUTH/);
      const right = failFast(`redis://:right-one@127.0.0.1:${server.port}`);
      expect(await right.ping()).toBe("PONG");
      for (const c of [wrong, none, right]) await closeClient(c);
    } finally {
      await server.stop();
    }
  }, 20_000);

  it("a frozen server: no reply within the command timeout; the same connection answers once it is back", async () => {
    const server = await startRedisServer();
    const c = failFast(server.url, 300);
    try {
      expect(await c.ping()).toBe("PONG");
      server.process.kill("SIGSTOP");
      expect((await failure(c.get("k"))).message).toBe(`cannot reach Redis at ${server.url}: no reply within 300 ms`);
    } finally {
      server.process.kill("SIGCONT");
    }
    await waitFor(
      "the connection to answer again",
      () =>
        c.ping().then(
          (r) => r === "PONG",
          () => false,
        ),
      20_000,
    );
    await closeClient(c);
    await server.stop();
  }, 30_000);

  it("a command that timed out waiting for a connection is never sent once Redis is reachable", async () => {
    // sentinels that do not run yet: the connection waits for one to answer
    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await freePort());
    const url = `redis-sentinel://${[...ports].map((p) => `127.0.0.1:${p}`).join(",")}/late`;
    const c = failFast(url, 300);
    const queue = new BatchQueue({ redis: c, prefix: "late" });
    expect((await failure(c.set("stale", "1"))).message).toBe(`cannot reach Redis at ${url}: no sentinel answers`);
    expect((await failure(queue.enqueue("t", [{ payload: 1 }]))).message).toMatch(/^cannot reach Redis at /);
    const set = await startSentinels({ masterName: "late", sentinelPorts: [...ports] });
    try {
      await waitFor("the connection to find the master", () => c.status === "ready", 30_000);
      expect(await c.set("fresh", "1")).toBe("OK");
      const master = connectRedis(set.master.url);
      expect(await master.get("fresh")).toBe("1");
      expect(await master.exists("stale", "late:{t}:pending", "late:{t}:seq")).toBe(0);
      await closeClient(master);
    } finally {
      await closeClient(c);
      await set.stop();
    }
  }, 60_000);
});
