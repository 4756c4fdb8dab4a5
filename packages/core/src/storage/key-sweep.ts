/**
 * Deleting every key that matches a pattern (a test's or the demo's prefix),
 * on one Redis or a cluster: SCAN runs on each master in turn (a cluster's
 * keyspace is split between them), and each page is deleted with one UNLINK
 * per hash slot (a multi-key command may name keys of one slot only). A
 * master that cannot be read is skipped and named in the error thrown after
 * the others were swept.
 */
import type { Redis } from "ioredis";
import { hashSlot } from "../keys.js";
import { isCluster, type RedisClient } from "../redis.js";

/** `keys` grouped by their cluster slot. */
function bySlot(keys: string[]): string[][] {
  const groups = new Map<number, string[]>();
  for (const k of keys) {
    const slot = hashSlot(k);
    const g = groups.get(slot);
    if (g) g.push(k);
    else groups.set(slot, [k]);
  }
  return [...groups.values()];
}

async function sweepNode(node: Redis, pattern: string, perSlot: boolean): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, found] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    if (found.length === 0) continue;
    const groups = perSlot ? bySlot(found) : [found];
    for (const n of await Promise.all(groups.map((g) => node.unlink(...g)))) deleted += n;
  } while (cursor !== "0");
  return deleted;
}

/** Deletes every key matching `pattern` (SCAN MATCH syntax) from every master; returns how many were deleted. */
export async function deleteMatching(client: RedisClient, pattern: string): Promise<number> {
  if (!isCluster(client)) return sweepNode(client, pattern, false);
  let deleted = 0;
  const failed: string[] = [];
  for (const node of client.nodes("master")) {
    try {
      deleted += await sweepNode(node, pattern, true);
    } catch (err) {
      failed.push(`${node.options.host}:${node.options.port} (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  if (failed.length > 0) {
    throw new Error(`deleted ${deleted} keys matching ${pattern}, but could not sweep ${failed.join(", ")}`);
  }
  return deleted;
}
