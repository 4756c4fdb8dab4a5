/**
 * Bounded waits: with Redis unreachable (nothing on the port, every cluster
 * node stopped, no sentinel running, a wrong password), `status`,
 * `status --json` and `enqueue` return within 10 s with one line naming the
 * URL (password hidden) and the reason, exit code 1, no stack trace; so does
 * `BatchQueue.enqueue` on a cluster that goes down under it.
 */
import { BatchQueue, connectRedis, RedisUnavailableError } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { closeClient, freePort, startRedisServer, track, useRedisCluster } from "../harness/index.js";
import { runCli } from "../harness/processes.js";

const cluster = useRedisCluster();

const COMMANDS: [string, string[], string | undefined][] = [
  ["status", ["status"], undefined],
  ["status --json", ["status", "--json"], undefined],
  ["enqueue", ["enqueue", "t"], '{"n":1}\n{"n":2}\n'],
];

/** Runs each command (at once) against `url`; each must end within 10 s with exactly the line `expected(command)`, exit 1. */
async function expectOneLine(url: string, expected: (cmd: string) => string | RegExp): Promise<void> {
  const runs = COMMANDS.map(async ([name, args, input]) => {
    const t0 = performance.now();
    const r = await runCli([...args, "--redis", url], { env: { BATCHJOB_PREFIX: "unreachable" }, input });
    return { name, args, r, ms: performance.now() - t0 };
  });
  for (const { name, args, r, ms } of await Promise.all(runs)) {
    expect(ms, `${name} took ${Math.round(ms)} ms`).toBeLessThan(10_000);
    expect(r.code, `${name}: ${r.stderr}`).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    expect(lines, name).toHaveLength(1);
    const want = expected(args[0] as string);
    if (typeof want === "string") expect(lines[0]).toBe(want);
    else expect(lines[0]).toMatch(want);
  }
}

describe("the CLI with Redis unreachable", () => {
  it("nothing listens on the port: one line, exit 1, within 10 s", async () => {
    const port = await freePort();
    await expectOneLine(
      `redis://127.0.0.1:${port}`,
      (cmd) =>
        `batchjob ${cmd}: cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  }, 60_000);

  it("no sentinel runs: one line, exit 1, within 10 s", async () => {
    const url = `redis-sentinel://127.0.0.1:${await freePort()},127.0.0.1:${await freePort()}/mymaster`;
    await expectOneLine(url, (cmd) => `batchjob ${cmd}: cannot reach Redis at ${url}: no sentinel answers`);
  }, 60_000);

  it("a wrong password: one line naming the URL with the password hidden", async () => {
    const server = await startRedisServer();
    try {
      const admin = connectRedis(server.url);
      await admin.config("SET", "requirepass", "the-right-one");
      await closeClient(admin);
      await expectOneLine(
        `redis://:hunter2@127.0.0.1:${server.port}`,
        (cmd) =>
          new RegExp(
            `^batchjob ${cmd}: cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${server.port}: authentication failed \\(WRONGPASS [^\\n]*\\)$`,
          ),
      );
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("every cluster node stopped: BatchQueue.enqueue and the CLI say the cluster is down, within 10 s", async () => {
    const { url, nodes } = cluster();
    const client = connectRedis(url);
    track(
      "cluster connection",
      () => client.status !== "end",
      () => closeClient(client),
    );
    const queue = new BatchQueue({ redis: client, prefix: "unreachable" });
    expect((await queue.enqueue("t", [{ payload: 1 }])).added).toBe(1);
    for (const n of nodes) await n.kill("SIGTERM");

    const t0 = performance.now();
    const err = await queue.enqueue("t", [{ payload: 2 }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`^cluster down: .*; cluster ${url.replace(/[.]/g, "\\.")}$`));
    await closeClient(client);

    await expectOneLine(
      url,
      (cmd) => new RegExp(`^batchjob ${cmd}: cluster down: no node answers.*; cluster ${url.replace(/[.]/g, "\\.")}$`),
    );
  }, 120_000);
});
