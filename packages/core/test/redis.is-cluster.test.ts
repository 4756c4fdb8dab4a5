/**
 * isCluster tells a Cluster connection from a single one by ioredis's own
 * flag, so a client made by the caller's copy of ioredis (another
 * node_modules than core's) is recognised too; `instanceof` would not be.
 */
import { createRequire } from "node:module";
import { sep } from "node:path";
import { Cluster, Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { isCluster } from "../src/index.js";

/** A second, separately loaded copy of ioredis: its classes are not core's. */
function anotherIoredis(): typeof import("ioredis") {
  const require = createRequire(import.meta.url);
  const before = new Set(Object.keys(require.cache));
  for (const k of before) if (k.includes(`${sep}ioredis${sep}`)) delete require.cache[k];
  return require("ioredis") as typeof import("ioredis");
}

describe("isCluster", () => {
  it("is true for a Cluster and false for a single connection, from core's ioredis", () => {
    const cluster = new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true });
    const single = new Redis({ lazyConnect: true });
    try {
      expect(isCluster(cluster)).toBe(true);
      expect(isCluster(single)).toBe(false);
    } finally {
      cluster.disconnect();
      single.disconnect();
    }
  });

  it("recognises the clients of another copy of ioredis, which instanceof does not", () => {
    const other = anotherIoredis();
    expect(other.Cluster).not.toBe(Cluster);
    const cluster = new other.Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true });
    const single = new other.Redis({ lazyConnect: true });
    try {
      expect(cluster instanceof Cluster).toBe(false);
      expect(isCluster(cluster)).toBe(true);
      expect(isCluster(single)).toBe(false);
    } finally {
      cluster.disconnect();
      single.disconnect();
    }
  });
});
