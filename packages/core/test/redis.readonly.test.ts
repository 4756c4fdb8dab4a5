/**
 * A plain redis:// URL whose node turns replica (a managed failover behind a
 * DNS name or a proxy): a READONLY reply reconnects and resends the command,
 * daemon or not, so it lands on the new master. A TCP proxy stands in for the
 * DNS name: it sends new connections to whichever node is the master.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { closeClient, startRedisServer, track, waitFor } from "../../../test/harness/index.js";
import { connectRedis, type RedisClient, RedisUnavailableError } from "../src/index.js";

interface Proxy {
  port: number;
  /** Where new connections go (existing ones stay where they are). */
  target: number;
  close(): Promise<void>;
}

async function tcpProxy(target: number): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((down) => {
    const up = createConnection(proxy.target, "127.0.0.1");
    for (const s of [down, up]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        down.destroy();
        up.destroy();
      });
    }
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const proxy: Proxy = {
    port: typeof address === "object" && address ? address.port : 0,
    target,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  let closed = false;
  track(
    `tcp proxy ${proxy.port}`,
    () => !closed,
    async () => {
      closed = true;
      await proxy.close();
    },
  );
  const close = proxy.close;
  proxy.close = async () => {
    closed = true;
    await close();
  };
  return proxy;
}

/** Servers A (master) and B, a proxy to A, and `client` connected through it. */
async function demotionSetup(daemon: boolean) {
  // no 5 s wait before a replica's first sync
  const a = await startRedisServer({ args: ["--repl-diskless-sync-delay", "0"] });
  const b = await startRedisServer({ args: ["--repl-diskless-sync-delay", "0"] });
  const proxy = await tcpProxy(a.port);
  const client = connectRedis(`redis://127.0.0.1:${proxy.port}`, { daemon });
  client.on("error", () => {});
  track(
    "client through the proxy",
    () => client.status !== "end",
    () => closeClient(client),
  );
  const admin = { a: connectRedis(a.url), b: connectRedis(b.url) };
  expect(await client.set("before", "1")).toBe("OK");
  /** A becomes B's replica (as a failover leaves the old master) and the proxy sends new connections to B. */
  const demote = async () => {
    await admin.a.replicaof("127.0.0.1", String(b.port));
    await waitFor("A to be B's replica, in sync", async () =>
      (await admin.a.info("replication")).includes("master_link_status:up"),
    );
    proxy.target = b.port;
  };
  const close = async () => {
    await closeClient(client);
    await closeClient(admin.a);
    await closeClient(admin.b);
    await proxy.close();
    await a.stop();
    await b.stop();
  };
  return { client: client as RedisClient, admin, demote, close };
}

describe.each([
  ["a daemon connection", true],
  ["a CLI/API connection", false],
])("%s on a redis:// URL whose node turns replica", (_name, daemon) => {
  it("a write answered READONLY reconnects and lands on the new master", async () => {
    const s = await demotionSetup(daemon);
    try {
      await s.demote();
      expect(await s.client.set("after", "2")).toBe("OK");
      expect(await s.admin.b.get("after")).toBe("2");
    } finally {
      await s.close();
    }
  });

  it("so does a Lua script (what every queue operation is)", async () => {
    const s = await demotionSetup(daemon);
    try {
      await s.demote();
      expect(await s.client.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, "scripted", "3")).toBe("OK");
      expect(await s.admin.b.get("scripted")).toBe("3");
    } finally {
      await s.close();
    }
  });

  it("a MULTI cut by the reconnect fails whole: none of it ran, and the next one goes through", async () => {
    const s = await demotionSetup(daemon);
    try {
      await s.demote();
      const err = await s.client
        .multi()
        .set("m1", "1")
        .set("m2", "2")
        .exec()
        .then(
          () => null,
          (e: Error) => e,
        );
      expect(err).not.toBeNull();
      if (!daemon) {
        expect(err).toBeInstanceOf(RedisUnavailableError);
        expect(err?.message).toMatch(
          /^cannot reach Redis at .*: the connection was lost during a MULTI, none of which ran$/,
        );
      }
      expect(await s.admin.b.exists("m1", "m2")).toBe(0);
      expect(await s.client.multi().set("m1", "1").set("m2", "2").exec()).toEqual([
        [null, "OK"],
        [null, "OK"],
      ]);
      expect(await s.admin.b.exists("m1", "m2")).toBe(2);
    } finally {
      await s.close();
    }
  });
});
