/**
 * Test helpers over real Redis: the URL of the run's Redis, a random key
 * prefix per test (its keys deleted after the test), and tracking of every
 * connection, daemon or process a test opens; `setup.ts` fails a test that
 * leaves one open.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, inject } from "vitest";
import { type RedisCluster, startRedisCluster } from "./redis-server.js";
import { waitFor } from "./wait.js";

export { freePort, type RedisCluster, type RedisServer, startRedisCluster, startRedisServer } from "./redis-server.js";
export { waitFor } from "./wait.js";

/** A 3-master cluster for the tests of one file: started before them, stopped after. `cluster()` returns it. */
export function useRedisCluster(): () => RedisCluster {
  let c: RedisCluster | undefined;
  beforeAll(async () => {
    c = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await c?.stop();
  });
  return () => {
    if (!c) throw new Error("the cluster is not started (useRedisCluster runs in beforeAll)");
    return c;
  };
}

export function redisUrl(): string {
  return process.env.REDIS_URL ?? inject("redisUrl");
}

interface Tracked {
  name: string;
  isOpen(): boolean;
  close(): Promise<void>;
}

const open = new Set<Tracked>();
const prefixes = new Set<string>();

/** Registers something a test must close; `setup.ts` checks after each test. */
export function track(name: string, isOpen: () => boolean, close: () => Promise<void>): void {
  open.add({ name, isOpen, close });
}

/** A fresh key prefix; every key under it is deleted after the test. */
export function freshPrefix(): string {
  const p = `t${randomBytes(5).toString("hex")}`;
  prefixes.add(p);
  return p;
}

/**
 * QUIT, then wait until the socket is closed (ioredis status "end"). A client
 * that cannot reach its Redis (a daemon connection queues QUIT while it
 * reconnects) is disconnected after 2 s instead.
 */
export async function closeClient(c: {
  status: string;
  quit(): Promise<unknown>;
  disconnect(): void;
  once(e: "end", f: () => void): unknown;
}): Promise<void> {
  if (c.status === "end") return;
  const ended = new Promise<void>((resolve) => c.once("end", () => resolve()));
  void c.quit().catch(() => c.disconnect());
  const cut = setTimeout(() => c.disconnect(), 2000);
  // a connection dropped while it waits to reconnect never ends (ioredis): given up after 4 s
  await Promise.race([ended, new Promise((r) => setTimeout(r, 4000))]);
  clearTimeout(cut);
}

/** A tracked ioredis connection to the run's Redis (or `url`). */
export function connect(url: string = redisUrl()): Redis {
  const c = new Redis(url);
  track(
    `redis connection to ${url}`,
    () => c.status !== "end",
    () => closeClient(c),
  );
  return c;
}

/**
 * Closes what is still open, the last opened first (a daemon before the Redis
 * it was started on); returns the names of what was left open.
 */
export async function closeLeftovers(): Promise<string[]> {
  const left: string[] = [];
  for (const t of [...open].reverse()) {
    if (t.isOpen()) {
      left.push(t.name);
      await t.close().catch(() => {});
    }
  }
  open.clear();
  return left;
}

export async function deleteTestKeys(url: string = redisUrl()): Promise<void> {
  if (prefixes.size === 0) return;
  const c = new Redis(url);
  try {
    // every key starts with the prefix: a type's, the control plane's and its BullMQ inboxes (<p>:{<p>:control}:bull:...)
    for (const pattern of [...prefixes].map((p) => `${p}:*`)) {
      let cursor = "0";
      do {
        const [next, keys] = await c.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await c.unlink(...keys);
      } while (cursor !== "0");
    }
  } finally {
    prefixes.clear();
    c.disconnect();
  }
}

/** Now on the Redis clock (the clock of lease deadlines and due times), in ms. */
export async function redisNowMs(c: { time(): Promise<unknown[]> }): Promise<number> {
  const [sec, usec] = await c.time();
  return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
}

/** Waits until the Redis clock is past `deadlineMs` (a lease deadline, a due time): an event, not a sleep. */
export async function untilRedisTimePasses(
  c: { time(): Promise<unknown[]> },
  deadlineMs: number,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(`the Redis clock to pass ${deadlineMs}`, async () => (await redisNowMs(c)) > deadlineMs, timeoutMs, 10);
}
