/**
 * No secret leaves the process, in a live deployment: a Redis that asks for
 * a password (an ACL user), a manager and two worker daemons as real CLI
 * processes, an http job type (HMAC secret, Authorization header) and a
 * spawn job type (API_TOKEN in its env). The jobs get their secrets (the
 * receiver checks the signature and the header, the spawned job its token),
 * and leak them where they can (the job prints its token on stderr and in
 * its error, the receiver echoes the header in an error answer); then every
 * key of that Redis is read (SCAN, then each by its type), and every CLI
 * output and daemon log line is searched: no secret anywhere.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchQueue, makeKeys } from "@batchjob/core";
import { verifySignature } from "@batchjob/worker";
import type { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { closeClient, closeLeftovers, connect, type RedisServer, startRedisServer, waitFor } from "../harness/index.js";
import { type CliProcess, runCli, spawnCli } from "../harness/processes.js";

const hex = (n: number) => randomBytes(n).toString("hex");
const REDIS_PASSWORD = `redis-pw-${hex(8)}`;
const WRONG_PASSWORD = `wrong-pw-${hex(8)}`;
const HMAC_SECRET = `hmac-key-${hex(12)}`;
const BEARER = `bearer-${hex(12)}`;
const API_TOKEN = `api-token-${hex(12)}`;
const SECRETS = { REDIS_PASSWORD, WRONG_PASSWORD, HMAC_SECRET, BEARER, API_TOKEN };
const PREFIX = "sec";
const ITEMS = 24;

/** Which of the secrets `text` contains (by name). */
function secretsIn(text: string): string[] {
  return Object.entries(SECRETS)
    .filter(([, value]) => text.includes(value))
    .map(([name]) => name);
}

/** Every key of the Redis with its type and whole value, as text. */
async function dumpEveryKey(c: Redis): Promise<{ text: string; keys: number }> {
  const parts: string[] = [];
  let keys = 0;
  let cursor = "0";
  do {
    const [next, batch] = await c.scan(cursor, "COUNT", 1000);
    cursor = next;
    for (const key of batch) {
      keys++;
      const type = await c.type(key);
      let value: unknown;
      if (type === "string") value = await c.get(key);
      else if (type === "hash") value = await c.hgetall(key);
      else if (type === "list") value = await c.lrange(key, 0, -1);
      else if (type === "set") value = await c.smembers(key);
      else if (type === "zset") value = await c.zrange(key, "0", "-1", "WITHSCORES");
      else if (type === "stream") value = await c.xrange(key, "-", "+");
      else if (type === "none")
        continue; // gone since the SCAN
      else throw new Error(`key ${key} has a type this dump does not read: ${type}`);
      parts.push(`${type} ${key} ${JSON.stringify(value)}`);
    }
  } while (cursor !== "0");
  return { text: parts.join("\n"), keys };
}

/**
 * The spawned job: every item ok when API_TOKEN is the one the config gives;
 * `{dead: true}` items fail for good; `{leak: true}` items print the token on
 * stderr and fail for good with it in their error.
 */
function writeSpawnJob(dir: string): string {
  const path = join(dir, "token-job.mjs");
  const expected = createHash("sha256").update(API_TOKEN).digest("hex");
  writeFileSync(
    path,
    `import { createHash } from "node:crypto";
let input = "";
process.stdin.setEncoding("utf8").on("data", (d) => (input += d)).on("end", () => {
  const tokenOk = createHash("sha256").update(process.env.API_TOKEN ?? "").digest("hex") === ${JSON.stringify(expected)};
  for (const item of JSON.parse(input).items) {
    const r = !tokenOk
      ? { id: item.id, ok: false, error: "API_TOKEN is not the configured one", retry: false }
      : item.payload.dead
        ? { id: item.id, ok: false, error: "refused on purpose", retry: false }
        : item.payload.leak
          ? { id: item.id, ok: false, error: "token " + process.env.API_TOKEN + " refused", retry: false }
          : { id: item.id, ok: true };
    if (item.payload.leak) process.stderr.write("debug: API_TOKEN=" + process.env.API_TOKEN + "\\n");
    process.stdout.write(JSON.stringify(r) + "\\n");
  }
});
`,
  );
  return path;
}

/**
 * The http receiver: 401 unless the signature verifies with HMAC_SECRET and
 * the Authorization header is ours; then 204, or 500 echoing the header when
 * an item of the chunk says `{echo: true}`.
 */
async function startReceiver(): Promise<{
  url: string;
  verified: () => number;
  refused: () => number;
  server: Server;
}> {
  let verified = 0;
  let refused = 0;
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (p: Buffer) => parts.push(p));
    req.on("end", async () => {
      const check = await verifySignature({ secret: HMAC_SECRET, headers: req.headers, body: Buffer.concat(parts) });
      if (check.ok && req.headers.authorization === `Bearer ${BEARER}`) {
        verified++;
        const echo = Buffer.concat(parts).toString().includes('"echo":true');
        if (echo) res.writeHead(500).end(`echo: ${req.headers.authorization}`);
        else res.writeHead(204).end();
      } else {
        refused++;
        res.writeHead(401).end("no");
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/chunks`, verified: () => verified, refused: () => refused, server };
}

let redis: RedisServer | undefined;
let receiver: Server | undefined;
afterEach(async () => {
  // a failed test: close its connections and daemons before their Redis goes (setup.ts would wait on them)
  if (redis) await closeLeftovers();
  await redis?.stop();
  redis = undefined;
  await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
  receiver = undefined;
});

describe("secrets in a live deployment", () => {
  it("no secret in any Redis key, CLI output or daemon log line; the jobs still get theirs", async () => {
    // 1. a Redis with an ACL user; the default user is switched off
    redis = await startRedisServer();
    const admin = connect(redis.url);
    await admin.acl("SETUSER", "bjuser", "on", `>${REDIS_PASSWORD}`, "~*", "&*", "+@all");
    await admin.acl("SETUSER", "default", "off");
    await closeClient(admin);
    const url = `redis://bjuser:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`;
    const rec = await startReceiver();
    receiver = rec.server;

    // 2. the config: an http and a spawn job type, with their secrets
    const dir = mkdtempSync(join(tmpdir(), "bj-secrets-"));
    const job = writeSpawnJob(dir);
    const type = { chunkSize: 4, cooldownSeconds: 0, maxAttempts: 2, backoff: { type: "fixed", delayMs: 0 } };
    const config = {
      prefix: PREFIX,
      jobTypes: [
        {
          name: "hooks",
          ...type,
          launcher: {
            kind: "http",
            url: rec.url,
            secret: HMAC_SECRET,
            headers: { Authorization: `Bearer ${BEARER}` },
            timeoutMs: 10_000,
          },
        },
        {
          name: "tokens",
          ...type,
          launcher: { kind: "spawn", command: process.execPath, args: [job], env: { API_TOKEN }, timeoutMs: 10_000 },
        },
      ],
      worker: { heartbeatMs: 200, hostTtlMs: 30_000, shutdownGraceMs: 10_000 },
      manager: { tickMs: 200, leaderLeaseMs: 30_000 },
    };
    const file = join(dir, "batchjob.config.json");
    writeFileSync(file, JSON.stringify(config, null, 2));
    const env = { REDIS_URL: url, BATCHJOB_PREFIX: PREFIX, BATCHJOB_LOG_LEVEL: "debug" };

    // 3. two workers and a manager, as real CLI processes; items of both types, one to die
    const c = connect(url);
    const keys = makeKeys(PREFIX);
    const queue = new BatchQueue({ redis: c, prefix: PREFIX });
    const daemons: CliProcess[] = [
      spawnCli(["worker", "--config", file, "--host-id", "w1", "--slots", "2"], { env }),
      spawnCli(["worker", "--config", file, "--host-id", "w2", "--slots", "2"], { env }),
    ];
    await waitFor("both hosts", async () => (await c.zcard(keys.hostBeats)) === 2, 30_000);
    daemons.push(spawnCli(["manager", "--config", file], { env }));
    const lines = (n: number, extra: object) =>
      Array.from({ length: n }, (_, i) => JSON.stringify({ i, ...extra })).join("\n");
    for (const [name, input] of [
      ["hooks", `${lines(ITEMS, {})}\n${JSON.stringify({ echo: true })}`],
      ["tokens", `${lines(ITEMS - 1, {})}\n${JSON.stringify({ dead: true })}\n${JSON.stringify({ leak: true })}`],
    ] as const) {
      const r = await runCli(["enqueue", name], { env, input });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    }
    await waitFor(
      "both queues to drain",
      async () => {
        const [h, t] = await Promise.all([queue.counts("hooks"), queue.counts("tokens")]);
        const done = h.acked === ITEMS && h.dead === 1 && t.acked === ITEMS - 1 && t.dead === 2;
        return done && (await c.hlen(keys.workers)) === 0;
      },
      60_000,
    ).catch(async (err) => {
      const counts = JSON.stringify([await queue.counts("hooks"), await queue.counts("tokens")]);
      const logs = daemons.map((d) => d.stderr().slice(-3000) + d.stdout().slice(-3000)).join("\n---\n");
      throw new Error(`${(err as Error).message}; counts ${counts}; daemon logs:\n${logs}`);
    });
    await waitFor("the published config", () => c.exists(keys.config), 10_000);
    // the secrets reached the jobs: every request was signed with the secret and carried the header
    expect(rec.verified()).toBeGreaterThan(0);
    expect(rec.refused()).toBe(0);

    // 4. every key of the Redis, while the daemons run
    const running = await dumpEveryKey(c);
    expect(secretsIn(running.text)).toEqual([]);
    // what the dump holds: the published config (redacted, not left out), the dead item, the history, the hosts
    expect(running.text).toContain(`bjuser:***@127.0.0.1:${redis.port}`);
    expect(running.text).toContain("refused on purpose");
    // the errors the job and the receiver wrote with a secret in them: kept, the secret redacted
    expect(running.text).toContain("token [redacted] refused");
    expect(running.text).toContain("echo: [redacted]");
    expect(running.text).toContain('\\"jobType\\":\\"hooks\\"');
    const published = JSON.parse((await c.get(keys.config)) ?? "{}");
    expect(published.redis.url).toBe(`redis://bjuser:***@127.0.0.1:${redis.port}`);
    expect(published.jobTypes[0].launcher).toMatchObject({
      kind: "http",
      url: rec.url,
      secret: "[redacted]",
      headers: { Authorization: "[redacted]" },
    });
    expect(published.jobTypes[1].launcher).toMatchObject({ kind: "spawn", env: { API_TOKEN: "[redacted]" } });

    // 5. every inspection command
    const outputs: Record<string, string> = {};
    for (const args of [
      ["status"],
      ["status", "--json"],
      ["history"],
      ["history", "--json"],
      ["dead", "list", "tokens"],
      ["dead", "list", "tokens", "--json"],
      ["config", "check", file],
    ]) {
      const r = await runCli(args, { env });
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      outputs[args.join(" ")] = r.stdout + r.stderr;
    }
    expect(outputs["status --json"]).toContain('"hooks"');
    expect(outputs["dead list tokens"]).toContain("refused on purpose");
    for (const [cmd, out] of Object.entries(outputs)) expect(secretsIn(out), cmd).toEqual([]);

    // 6. connection errors: a port with nothing on it, a wrong password
    const noRedis = await runCli(["status", "--redis", `redis://bjuser:${REDIS_PASSWORD}@127.0.0.1:1`]);
    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr).toMatch(/cannot reach Redis at redis:\/\/bjuser:\*\*\*@127\.0\.0\.1:1: /);
    const wrong = await runCli(["status"], {
      env: { REDIS_URL: `redis://bjuser:${WRONG_PASSWORD}@127.0.0.1:${redis.port}` },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/WRONGPASS/);
    expect(wrong.stderr).toContain("bjuser:***@");
    expect(secretsIn(noRedis.stdout + noRedis.stderr + wrong.stdout + wrong.stderr)).toEqual([]);

    // 7. the daemons stop cleanly; nothing of their logs shows a secret, and nothing they left in Redis does
    for (const d of daemons) d.kill("SIGTERM");
    for (const d of daemons) expect((await d.exited).code).toBe(0);
    const logs = daemons.map((d) => d.stdout() + d.stderr()).join("\n");
    expect(logs.split("\n").filter((l) => l.startsWith("{")).length).toBeGreaterThan(5);
    expect(secretsIn(logs)).toEqual([]);
    expect(logs).toContain("API_TOKEN=[redacted]");
    const stopped = await dumpEveryKey(c);
    expect(stopped.keys).toBeGreaterThan(0);
    expect(secretsIn(stopped.text)).toEqual([]);
    await closeClient(c);
    await redis.stop();
    redis = undefined;
  }, 120_000);
});
