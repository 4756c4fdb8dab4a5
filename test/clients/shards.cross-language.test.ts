/**
 * Core and the Python and PHP clients on a job type spread over shards
 * (#12): the shared table of (key, shards, shard) rows
 * (test/fixtures/shard-keys.json, which the clients' own tests check their
 * choice against) is core's shardOfKey; and on a real Redis, a client that
 * reads the shard count from the published config puts each caller id and
 * key on the shard core does, so ids dedupe both ways, generated ids stay
 * unique, and both read the same counts.
 */
import { readFileSync } from "node:fs";
import { shardOfKey, shardQueue } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { testQueue } from "../harness/queue.js";
import { phpMissing, produce, pythonMissing, ROOT } from "./run-client-tests.js";

const ROWS = (
  JSON.parse(readFileSync(`${ROOT}test/fixtures/shard-keys.json`, "utf8")) as { rows: [string, number, number][] }
).rows;

describe("the shard table the clients check against (test/fixtures/shard-keys.json)", () => {
  it("is core's shardOfKey, over shard counts up to 64 and non-ASCII keys", () => {
    for (const [key, shards, shard] of ROWS) expect(shardOfKey(key, shards), `${key} of ${shards}`).toBe(shard);
    expect(ROWS.length).toBeGreaterThan(100);
    expect(new Set(ROWS.map(([, shards]) => shards))).toEqual(new Set([1, 2, 3, 4, 7, 16, 64]));
    expect(ROWS.some(([key]) => /[^\x20-\x7e]/.test(key))).toBe(true);
    // CRC16-XMODEM("123456789") is 0x31C3
    expect(shardOfKey("123456789", 1 << 16)).toBe(0x31c3);
  });
});

interface Result {
  added: number;
  ids: string[];
  deduped: string[];
}

for (const [lang, missing] of [
  ["python", pythonMissing],
  ["php", phpMissing],
] as const) {
  const why = missing();
  const name = `core and the ${lang} client on a type spread over 4 shards`;
  describe(why ? `${name} (skipped: ${why})` : name, () => {
    it.skipIf(why !== null)(
      "put ids and keys on the same shards, dedupe each other's ids, read the same counts",
      async () => {
        const { queue, client, keys, prefix, close } = testQueue({ jobTypes: [{ name: "s", shards: 4 }] });
        try {
          const coreIds = Array.from({ length: 20 }, (_, i) => `order-${i}`);
          await queue.enqueue("s", [...coreIds.map((id) => ({ id, payload: "core" })), { payload: "core, generated" }]);
          // what the leader publishes: the client has no shards option and reads the count there
          await client.set(keys.config, JSON.stringify({ jobTypes: [{ name: "s", shards: 4 }] }));
          const items = [
            ...coreIds.map((id) => ({ id, payload: lang })),
            ...Array.from({ length: 20 }, (_, i) => ({ id: `${lang}-${i}`, payload: lang })),
            ...Array.from({ length: 8 }, (_, i) => ({ key: `customer-${i % 4}`, payload: { i } })),
          ];
          const r = (await produce(lang, prefix, ["enqueue", "s"], items)) as Result;
          expect(r.added).toBe(28);
          expect([...r.deduped].sort()).toEqual([...coreIds].sort());

          // each item on the shard core names for its key, else its caller id
          const where = new Map<string, number>();
          for (let shard = 0; shard < 4; shard++) {
            for (const entry of await client.lrange(keys.type(shardQueue("s", shard)).pending, 0, -1)) {
              const id = entry.slice(0, entry.indexOf("\t"));
              expect(where.has(id), `${id} is queued once`).toBe(false);
              where.set(id, shard);
            }
          }
          expect(where.size).toBe(49);
          items.forEach((item, i) => {
            const key = "key" in item ? item.key : item.id;
            expect(where.get(r.ids[i] as string), `item ${i} (${key})`).toBe(shardOfKey(key, 4));
          });
          expect(new Set(where.values())).toEqual(new Set([0, 1, 2, 3]));

          // core enqueues the client's ids again: deduped on their shards; its generated ids stay unique
          const again = await queue.enqueue("s", [
            ...r.ids.slice(20, 40).map((id) => ({ id, payload: "core again" })),
            { payload: "core, generated" },
          ]);
          expect(again.added).toBe(1);
          expect([...again.deduped].sort()).toEqual(r.ids.slice(20, 40).sort());
          const generated = [...where.keys(), ...again.ids].filter((id) => id.startsWith("#"));
          expect(new Set(generated).size).toBe(10);

          expect(await produce(lang, prefix, ["counts", "s"])).toEqual(await queue.counts("s"));
        } finally {
          await close();
        }
      },
    );
  });
}
