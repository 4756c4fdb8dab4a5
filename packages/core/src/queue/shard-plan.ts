/**
 * Which shard each item of an enqueue goes to, for a type spread over
 * shards (#12, `shards: N`): an item with an ordering key, else with a
 * caller id, goes to that key's shard (`shardOfKey`: one key, one shard, so
 * its items keep their order and its id dedupes); the others are dealt
 * round-robin, from where the type's previous enqueue left off, so calls of
 * one item spread as evenly as calls of many.
 */
import { shardOfKey } from "../keys.js";

export interface ShardPlan {
  /** The indexes of the items each shard gets, in input order. */
  members: number[][];
  /** Where the next enqueue's round-robin starts. */
  nextStart: number;
}

/** Spreads `n` items over `shards`; `keyOf(i)`: item i's key ('' for none); `start`: the first round-robin shard. */
export function planShards(shards: number, n: number, keyOf: (i: number) => string, start: number): ShardPlan {
  const members: number[][] = Array.from({ length: shards }, () => []);
  let next = start % shards;
  for (let i = 0; i < n; i++) {
    const key = keyOf(i);
    let shard: number;
    if (key !== "") shard = shardOfKey(key, shards);
    else {
      shard = next;
      next = (next + 1) % shards;
    }
    (members[shard] as number[]).push(i);
  }
  return { members, nextStart: next };
}
