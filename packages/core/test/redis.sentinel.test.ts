/**
 * Connections on a redis-sentinel:// URL, against real sentinels (one master,
 * one replica, three sentinels, password-protected nodes): they find the
 * master, carry the URL's password and db, stay Sentinel connections when
 * duplicated (as BullMQ duplicates), say plainly what is wrong, and follow a
 * failover by themselves.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { closeClient, track, waitFor } from "../../../test/harness/index.js";
import { useSentinels } from "../../../test/harness/sentinel.js";
import { connectRedis, type RedisClient, RedisUnavailableError } from "../src/index.js";

const PASSWORD = "sentinel-test-pw";
const sentinels = useSentinels({ masterName: "bjunit", password: PASSWORD });

function open(url: string, daemon: boolean): Redis {
  const c = connectRedis(url, { daemon }) as Redis;
  c.on("error", () => {});
  track(
    `connection to ${url}`,
    () => c.status !== "end",
    () => closeClient(c),
  );
  return c;
}

/** The port of the node a connection talks to (from the node itself). */
async function servedBy(c: RedisClient): Promise<number> {
  const info = await c.info("server");
  return Number(/tcp_port:(\d+)/.exec(info)?.[1]);
}

describe("a redis-sentinel:// URL", () => {
  it.each([
    ["a daemon connection", true],
    ["a CLI/API connection", false],
  ])("%s reaches the master, with the URL's password and db", async (_name, daemon) => {
    const set = sentinels();
    const c = open(`${set.url}?db=3`, daemon);
    expect(await servedBy(c)).toBe(set.master.port);
    await c.set("via-sentinel", daemon ? "daemon" : "api");
    const direct = new Redis({ port: set.master.port, host: "127.0.0.1", password: PASSWORD, db: 3 });
    expect(await direct.get("via-sentinel")).toBe(daemon ? "daemon" : "api");
    await direct.del("via-sentinel");
    direct.disconnect();
    await closeClient(c);
  });

  it("a duplicate (what BullMQ opens for its blocking reads) is a Sentinel connection to the master", async () => {
    const set = sentinels();
    const c = open(set.url, true);
    const dup = c.duplicate();
    dup.on("error", () => {});
    track(
      "duplicate",
      () => dup.status !== "end",
      () => closeClient(dup),
    );
    expect(dup.options.sentinels).toHaveLength(3);
    expect(dup.options.name).toBe(set.masterName);
    expect(dup.options.maxRetriesPerRequest).toBeNull();
    expect(await servedBy(dup)).toBe(set.master.port);
    await closeClient(dup);
    await closeClient(c);
  });

  it("a wrong password: authentication failed, the password never shown", async () => {
    const set = sentinels();
    const url = set.url.replace(`:${PASSWORD}@`, ":not-it@");
    const c = open(url, false);
    const err = await c.ping().catch((e: Error) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as Error).message).toMatch(
      /^cannot reach Redis at redis-sentinel:\/\/:\*\*\*@.*: authentication failed \(WRONGPASS/,
    );
    expect((err as Error).message).not.toContain("not-it");
    await closeClient(c);
  });

  it("a master name no sentinel knows: said so", async () => {
    const set = sentinels();
    const url = set.url.replace(/\/bjunit$/, "/nosuchmaster");
    const c = open(url, false);
    const err = await c.ping().catch((e: Error) => e);
    await closeClient(c);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as Error).message).toBe(
      `cannot reach Redis at ${url.replace(PASSWORD, "***")}: no sentinel knows a master named "nosuchmaster"`,
    );
  });

  it("a failover: a daemon connection writing throughout sees no error and ends on the new master, and so does a CLI/API one", async () => {
    const set = sentinels();
    const daemon = open(set.url, true);
    const api = open(set.url, false);
    expect(await servedBy(daemon)).toBe(set.master.port);
    const { switched } = await set.watchSwitch();
    let writes = 0;
    let failed: unknown;
    let done = false;
    const writer = (async () => {
      while (!done) {
        try {
          await daemon.incr("failover-writes");
          writes++;
        } catch (err) {
          failed = err;
          return;
        }
      }
    })();
    await waitFor("some writes", () => writes > 10);
    const admin = new Redis({ port: set.sentinels[0]?.port, host: "127.0.0.1" });
    await admin.call("SENTINEL", "FAILOVER", set.masterName);
    admin.disconnect();
    const newMaster = await switched;
    expect(newMaster).toBe(set.replica.port);
    // the old master keeps taking writes until the sentinels demote it (and drop its clients)
    await waitFor(
      "the daemon connection on the new master",
      async () => (await servedBy(daemon)) === newMaster,
      30_000,
    );
    const before = writes;
    await waitFor("writes on the new master", () => writes > before + 10 || failed !== undefined, 30_000);
    done = true;
    await writer;
    expect(failed).toBeUndefined();
    await waitFor(
      "the CLI/API connection to answer from the new master",
      async () => {
        const port = await servedBy(api).catch(() => 0);
        return port === newMaster;
      },
      30_000,
    );
    expect(await api.incr("failover-writes")).toBeGreaterThan(0);
    await daemon.del("failover-writes");
    await closeClient(daemon);
    await closeClient(api);
  }, 60_000);
});
