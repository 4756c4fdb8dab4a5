/**
 * The four roles' Redis ACL users (`aclRules`, what `batchjob acl` prints) in
 * a live deployment: (1) a Redis whose only users are the four roles and an
 * admin for the test's own checks; (2) a manager daemon as the manager user,
 * two worker daemons as the worker user, items enqueued through the CLI and
 * the API as the producer user, `status`/`history`/`dead list` as the
 * monitor user: every item settles, and no command of any role was refused
 * (the server's ACL LOG is empty, no NOPERM in any output); (3) what each
 * role is refused, tried for real, and for every key of the deployment
 * (ACL DRYRUN) which a role may read and write.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { ACL_ROLES, type AclRole, aclRules, BatchQueue, makeKeys } from "@batchjob/core";
import type { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { closeClient, closeLeftovers, connect, type RedisServer, startRedisServer, waitFor } from "../harness/index.js";
import { type CliProcess, runCli, spawnCli } from "../harness/processes.js";

const CONFIG = fileURLToPath(new URL("../fixtures/e2e.config.mjs", import.meta.url));
const PREFIX = "acl";
const PASSWORD = `pw-${randomBytes(8).toString("hex")}`;
const keys = makeKeys(PREFIX);
const CONTROL = `${keys.control}:`;

let redis: RedisServer | undefined;
afterEach(async () => {
  // a failed test: close its connections and daemons before their Redis goes (setup.ts would wait on them)
  if (redis) await closeLeftovers();
  await redis?.stop();
  redis = undefined;
});

/**
 * What a key is, by its name: `pending`, `chunk`, ... for a job type's keys,
 * `control:leader`, `control:bull`, ... for the control plane's.
 */
function kindOf(key: string): string {
  if (key.startsWith(CONTROL)) {
    const rest = key.slice(CONTROL.length);
    return `control:${rest.startsWith("bull:") ? "bull" : rest}`;
  }
  const m = /^acl:\{[^}]+\}:([^:]+)/.exec(key);
  if (!m) throw new Error(`a key outside the layout: ${key}`);
  return m[1] as string;
}

/** Every key name a deployment of these types can have, and every key the live one has (BullMQ's among them). */
async function everyKey(admin: Redis, types: string[]): Promise<string[]> {
  const names = new Set<string>();
  for (const t of types) {
    const k = keys.type(t);
    for (const v of Object.values(k)) if (typeof v === "string") names.add(v);
    names.add(k.chunk("c1"));
    names.add(k.group("g1"));
  }
  // every control key; `prefix`, `control` and `bullPrefix` are beginnings of keys, no keys
  const notKeys = new Set(["prefix", "control", "bullPrefix"]);
  for (const [name, v] of Object.entries(keys)) if (typeof v === "string" && !notKeys.has(name)) names.add(v);
  let cursor = "0";
  do {
    const [next, batch] = await admin.scan(cursor, "COUNT", 1000);
    cursor = next;
    for (const key of batch) names.add(key);
  } while (cursor !== "0");
  return [...names].sort();
}

/** Whether `user` may run the command (ACL DRYRUN: checked, not run). */
async function allowed(admin: Redis, user: string, ...command: string[]): Promise<boolean> {
  return (await admin.call("ACL", "DRYRUN", user, ...command)) === "OK";
}

/**
 * The ACL's refusals: NOPERM for a command sent alone; "The user executing
 * the script can't ..." for a command inside a script (Redis 7.0).
 */
const ACL_REFUSAL = /NOPERM|The user executing the script can't (run|access)/;

/** Rejects with an ACL refusal, not with any other error. */
async function refused(what: Promise<unknown>): Promise<void> {
  await expect(what).rejects.toThrow(ACL_REFUSAL);
}

describe("per-role ACL users", () => {
  it("a deployment runs with each role as its own user; each user is refused what its role does not need", async () => {
    // 1. the four role users (and an admin for the checks); the default user is off
    redis = await startRedisServer();
    const boot = connect(redis.url);
    for (const role of ACL_ROLES) await boot.acl("SETUSER", `acl-${role}`, ...aclRules(role, PREFIX), `>${PASSWORD}`);
    await boot.acl("SETUSER", "acl-admin", "on", `>${PASSWORD}`, "~*", "&*", "+@all");
    await boot.acl("SETUSER", "default", "off");
    await closeClient(boot);
    const url = (user: string) => `redis://${user}:${PASSWORD}@127.0.0.1:${redis?.port}`;
    const env = (role: AclRole) => ({
      REDIS_URL: url(`acl-${role}`),
      BATCHJOB_PREFIX: PREFIX,
      BATCHJOB_LOG_LEVEL: "info",
    });
    const admin = connect(url("acl-admin"));
    const as: Record<AclRole, Redis> = {
      producer: connect(url("acl-producer")),
      worker: connect(url("acl-worker")),
      manager: connect(url("acl-manager")),
      monitor: connect(url("acl-monitor")),
    };

    // 2. two workers and a manager, each as its role's user
    const daemons: CliProcess[] = [
      spawnCli(["worker", "--config", CONFIG, "--host-id", "w1", "--slots", "2"], { env: env("worker") }),
      spawnCli(["worker", "--config", CONFIG, "--host-id", "w2", "--slots", "2"], { env: env("worker") }),
    ];
    await waitFor("both hosts", async () => (await admin.zcard(keys.hostBeats)) === 2, 30_000);
    daemons.push(spawnCli(["manager", "--config", CONFIG], { env: env("manager") }));

    // 3. the producer enqueues: the CLI without and with caller ids (the MULTI path and the enqueue script),
    //    the API with small batches (several script calls in one MULTI), and reads the counts
    const outputs: string[] = [];
    const plain = [
      ...Array.from({ length: 20 }, (_, i) => ({ i })),
      { fail: "boom", retry: false },
      { fail: "boom", retry: false },
      { fail: "again" }, // retried until maxAttempts, then dead
    ];
    const cliPlain = await runCli(["enqueue", "inline"], {
      env: env("producer"),
      input: plain.map((p) => JSON.stringify(p)).join("\n"),
    });
    const withIds = Array.from({ length: 12 }, (_, i) => JSON.stringify({ id: `f${i}`, payload: { i } })).join("\n");
    const cliIds = await runCli(["enqueue", "forked", "--with-ids"], { env: env("producer"), input: withIds });
    for (const r of [cliPlain, cliIds]) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      outputs.push(r.stdout + r.stderr);
    }
    const queue = new BatchQueue({ redis: as.producer, prefix: PREFIX, enqueueBatch: 4 });
    const api = await queue.enqueue(
      "forked",
      Array.from({ length: 10 }, (_, i) => ({ id: `a${i}`, payload: { i } })),
    );
    expect(api.added).toBe(10);
    expect((await queue.enqueue("forked", [{ id: "a0", payload: {} }])).deduped).toEqual(["a0"]);
    expect((await queue.enqueue("inline", [{ payload: { api: true } }])).added).toBe(1);
    expect((await queue.counts("forked")).enqueued).toBe(22);

    // 4. every item settles; the workers drain and leave their history
    const adminQueue = new BatchQueue({ redis: admin, prefix: PREFIX });
    await waitFor(
      "both queues to drain",
      async () => {
        const [i, f] = await Promise.all([adminQueue.counts("inline"), adminQueue.counts("forked")]);
        const done = i.acked === 21 && i.dead === 3 && f.acked === 22 && f.dead === 0;
        return done && (await admin.hlen(keys.workers)) === 0 && (await admin.exists(keys.config)) === 1;
      },
      60_000,
    ).catch(async (err) => {
      const counts = JSON.stringify([await adminQueue.counts("inline"), await adminQueue.counts("forked")]);
      const logs = daemons.map((d) => d.stderr().slice(-3000) + d.stdout().slice(-3000)).join("\n---\n");
      const denied = JSON.stringify(await admin.acl("LOG", 20));
      throw new Error(`${(err as Error).message}; counts ${counts}; ACL LOG ${denied}; daemon logs:\n${logs}`);
    });

    // 5. the monitor inspects: status, history and the dead items, with nothing refused
    for (const args of [
      ["status", "--json"],
      ["status"],
      ["history"],
      ["history", "--json"],
      ["dead", "list", "inline"],
    ]) {
      const r = await runCli(args, { env: env("monitor") });
      expect(r.stderr, args.join(" ")).toBe("");
      expect(r.code, args.join(" ")).toBe(0);
      outputs.push(r.stdout);
    }
    const status = JSON.parse(outputs[2] as string) as {
      leader: string | null;
      jobTypes: { name: string; dead: number }[];
    };
    expect(status.leader).toBeTruthy();
    expect(status.jobTypes.find((t) => t.name === "inline")?.dead).toBe(3);
    expect(JSON.parse(outputs[5] as string).length).toBeGreaterThan(0);
    expect(outputs[6]).toContain("boom");

    // 6. nothing any role did was refused: the server logged no ACL denial, no output mentions one
    expect(await admin.acl("LOG")).toEqual([]);
    const logs = daemons.map((d) => d.stdout() + d.stderr()).join("\n");
    expect(logs.split("\n").filter((l) => l.startsWith("{")).length).toBeGreaterThan(5);
    expect(`${logs}\n${outputs.join("\n")}`).not.toMatch(/NOPERM|no permissions|user executing the script/i);

    // 7. which keys each role may read and write, for every key of the deployment (BullMQ's too)
    const every = await everyKey(admin, ["inline", "forked"]);
    const kinds = new Set(every.map(kindOf));
    for (const k of ["pending", "items", "chunk", "control:leader", "control:config", "control:bull"])
      expect(kinds).toContain(k);
    const managerOnly = new Set(
      ["leader", "config", "decisions", "load", "last-start", "types", "alerts"].map((k) => `control:${k}`),
    );
    const expected: Record<AclRole, { read: (kind: string) => boolean; write: (kind: string) => boolean }> = {
      // counters and key sizes only, and the published config (its shard counts; it holds no secret); write only
      // where an enqueue writes
      producer: {
        read: (k) =>
          ["seq", "stats", "activity", "wake", "since", "delayed", "leases", "dead", "control:config"].includes(k),
        write: (k) => ["pending", "ids", "control:types", "seq", "stats", "activity", "wake", "since"].includes(k),
      },
      // the paused types: read only (a worker stops a paused type's workers; only the manager pauses)
      worker: { read: (k) => !managerOnly.has(k), write: (k) => !managerOnly.has(k) && k !== "control:paused" },
      manager: { read: () => true, write: () => true },
      monitor: { read: () => true, write: () => false },
    };
    const wrong: string[] = [];
    for (const role of ACL_ROLES) {
      for (const key of every) {
        // HMGET asks read permission only, DEL write only (RPUSH for the producer, which has no DEL)
        const read = await allowed(admin, `acl-${role}`, "HMGET", key, "f");
        const write = await allowed(
          admin,
          `acl-${role}`,
          ...(role === "producer" ? ["RPUSH", key, "x"] : ["DEL", key]),
        );
        if (read !== expected[role].read(kindOf(key))) wrong.push(`${role} ${read ? "can" : "cannot"} read ${key}`);
        if (write !== expected[role].write(kindOf(key))) wrong.push(`${role} ${write ? "can" : "cannot"} write ${key}`);
      }
    }
    expect(wrong).toEqual([]);

    // 8. the producer, tried for real: no payload, lease or leader read; no delete; no script past its keys; the
    // published config readable (shard counts), not writable; SET only on an id counter
    expect(await as.producer.get(keys.config)).toContain('"inline"');
    await refused(as.producer.set(keys.config, "{}"));
    await refused(as.producer.set(keys.type("inline").pending, "x"));
    expect(await as.producer.set(keys.type("inline#1").seq, "0")).toBe("OK");
    const inline = keys.type("inline");
    const p = as.producer;
    await p.rpush(inline.pending, `#x\t{"probe":true}`); // what an enqueue does: allowed
    await refused(p.lrange(inline.pending, 0, -1)); // the waiting payloads
    await refused(p.hmget(inline.pending, "x")); // a command it has (HMGET), on a key it may only write
    await refused(p.hmget(inline.items, "#21")); // the dead items' payloads
    await refused(p.llen(inline.chunk("c1"))); // a leased chunk's entries
    await refused(p.zrange(inline.leases, "0", "-1"));
    await refused(p.get(keys.leader));
    await refused(p.del(inline.pending));
    await refused(p.flushall());
    await refused(p.scan("0"));
    await refused(p.hset(keys.workers, "w9", "{}"));
    await refused(p.hincrby(inline.fails, "#1", 1)); // a command it has, on a key an enqueue does not touch
    // EVAL: the keys it declares must be the enqueue script's; each command inside is checked as if sent alone
    await refused(p.eval("return redis.call('SET', KEYS[1], 'me')", 1, keys.leader));
    await refused(p.eval("return redis.call('RPUSH', KEYS[1], 'x')", 1, keys.history));
    await refused(p.eval("return redis.call('RPUSH', ARGV[1], 'x')", 1, inline.pending, keys.history));
    await refused(p.eval("return redis.call('LRANGE', KEYS[1], 0, -1)", 1, inline.pending));
    await refused(p.eval("return redis.call('DEL', KEYS[1])", 1, inline.pending));
    expect(await p.eval("return redis.call('RPUSH', KEYS[1], ARGV[1])", 1, inline.pending, "#y\t{}")).toBeGreaterThan(
      0,
    );
    await admin.del(inline.pending); // the two probe entries, before any worker takes them

    // 9. the worker: not the leader lease, the published config or the decisions
    const w = as.worker;
    await refused(w.set(keys.leader, "worker", "PX", 60_000, "NX"));
    await refused(w.eval("return redis.call('SET', KEYS[1], 'worker')", 1, keys.leader));
    await refused(w.eval("return redis.call('DEL', ARGV[1])", 0, keys.leader));
    await refused(w.set(keys.config, "{}"));
    await refused(w.hset(keys.decisions, "inline", "{}"));
    await refused(w.flushall());
    await refused(w.call("FUNCTION", "FLUSH"));
    await refused(w.scan("0"));
    expect(await w.hlen(keys.workers)).toBe(0); // what it does use: allowed

    // 10. the monitor writes nothing, not through a script and not through the CLI
    const m = as.monitor;
    expect(await m.get(keys.config)).toContain('"inline"');
    await refused(m.set(keys.leader, "monitor"));
    await refused(m.del(keys.config));
    await refused(m.rpush(inline.pending, "#z\t{}"));
    await refused(m.eval("return redis.call('DEL', KEYS[1])", 1, keys.config));
    await refused(m.eval("return redis.call('HSET', ARGV[1], 'f', 'v')", 0, keys.decisions));
    expect(await m.eval("return redis.call('GET', KEYS[1])", 1, keys.leader)).toBe(status.leader);
    // each of the monitor's two locks holds alone: with a write command added, its read-only key pattern
    // refuses it; with a read-write key pattern, it has no write command to use
    await admin.acl("SETUSER", "acl-monitor-set", ...aclRules("monitor", PREFIX), "+set");
    await admin.acl("SETUSER", "acl-monitor-rw", ...aclRules("monitor", PREFIX), `~${PREFIX}:{*`);
    expect(await allowed(admin, "acl-monitor-set", "SET", keys.leader, "x")).toBe(false);
    expect(await allowed(admin, "acl-monitor-rw", "SET", keys.leader, "x")).toBe(false);
    expect(await allowed(admin, "acl-monitor-rw", "GET", keys.leader)).toBe(true);
    const retry = await runCli(["dead", "retry", "inline", "--all"], { env: env("monitor") });
    expect(retry.code, retry.stderr).toBe(1);
    expect(retry.stderr).toMatch(ACL_REFUSAL);
    expect((await adminQueue.counts("inline")).dead).toBe(3);
    // the dead-letter admin (`dead retry`, `dead purge`) is the manager user's
    const purge = await runCli(["dead", "purge", "inline", "--all"], { env: env("manager") });
    expect(purge.code, purge.stderr).toBe(0);
    expect((await adminQueue.counts("inline")).dead).toBe(0);

    // 11. no role reaches keys outside the prefix, or the server itself
    await admin.set("other-app:token", "theirs");
    for (const role of ACL_ROLES) {
      await refused(as[role].get("other-app:token"));
      await refused(as[role].call("CONFIG", "GET", "requirepass"));
      await refused(as[role].call("KEYS", "*"));
      await refused(as[role].call("ACL", "LIST"));
    }
    // the manager may read and write under the prefix; another prefix that starts with it is not its
    await as.manager.set(`${PREFIX}:{${PREFIX}:control}:probe`, "1");
    await refused(as.manager.get(`${PREFIX}:eu:{inline}:pending`));
    // what the test provoked is logged; from here on the log must stay empty
    expect((await admin.acl("LOG")) as unknown[]).not.toEqual([]);
    await admin.acl("LOG", "RESET");

    // 12. the daemons stop cleanly, refused nothing; the manager forgets the workers' hosts as the manager user
    for (const d of daemons.slice(0, 2)) d.kill("SIGTERM");
    for (const d of daemons.slice(0, 2)) expect((await d.exited).code).toBe(0);
    await waitFor("the manager to forget both hosts", async () => (await admin.zcard(keys.hostBeats)) === 0, 60_000);
    daemons[2]?.kill("SIGTERM");
    expect((await daemons[2]?.exited)?.code).toBe(0);
    expect(await admin.acl("LOG")).toEqual([]);
    expect(daemons.map((d) => d.stdout() + d.stderr()).join("\n")).not.toMatch(
      /NOPERM|no permissions|user executing the script/i,
    );
    for (const c of [admin, ...Object.values(as)]) await closeClient(c);
    await redis.stop();
    redis = undefined;
  }, 180_000);
});
