/**
 * A Python and a PHP service feed a deployment through their clients
 * (test/fixtures/clients/produce.py, produce.php): each enqueues items with
 * caller ids and generated ids, PHP repeats ids Python queued (deduped across
 * languages); then a manager and a worker daemon run, and every item is
 * processed once, the two poison items dead. Both clients then read the same
 * counts and dead letters as core.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { phpMissing, produce, pythonMissing } from "../clients/run-client-tests.js";
import { controlFor, e2eConfig, testManager, testWorker } from "../harness/daemons.js";
import { waitFor } from "../harness/index.js";

const why = [pythonMissing(), phpMissing()].filter(Boolean).join("; ") || null;

interface Result {
  added: number;
  ids: string[];
  deduped: string[];
}

describe(why ? `producers in Python and PHP (skipped: ${why})` : "producers in Python and PHP", () => {
  it.skipIf(why !== null)(
    "enqueue into a running deployment: every item processed once, dedupe across languages, the same counts and dead letters as core",
    async () => {
      const config = await e2eConfig();
      const prefix = config.prefix;
      const log = join(mkdtempSync(join(tmpdir(), "bj-clients-")), "record");
      process.env.BEHAVE_LOG = log;
      const c = controlFor(config);
      const stops: (() => Promise<void>)[] = [];
      try {
        const item = (from: string, id?: string) => ({ ...(id ? { id } : {}), payload: { record: true, from } });
        const poison = (id: string) => ({ id, payload: { fail: "refused on purpose", retry: false } });
        // Python: 10 caller ids (one repeated in the call), 5 generated ids, a poison item
        const py = (await produce(
          "python",
          prefix,
          ["enqueue", "inline"],
          [
            ...Array.from({ length: 10 }, (_, i) => item("python", `order-${i}`)),
            item("python", "order-3"),
            ...Array.from({ length: 5 }, () => item("python")),
            poison("py-poison"),
          ],
        )) as Result;
        expect(py.added).toBe(16);
        expect(py.deduped).toEqual(["order-3"]);
        // PHP: five of Python's ids again (still queued: deduped), 10 ids of its own, 5 generated, a poison item
        const php = (await produce(
          "php",
          prefix,
          ["enqueue", "inline"],
          [
            ...Array.from({ length: 5 }, (_, i) => item("php", `order-${i + 5}`)),
            ...Array.from({ length: 10 }, (_, i) => item("php", `php-${i}`)),
            ...Array.from({ length: 5 }, () => item("php")),
            poison("php-poison"),
          ],
        )) as Result;
        expect(php.added).toBe(16);
        expect(php.deduped).toEqual(["order-5", "order-6", "order-7", "order-8", "order-9"]);
        // generated ids come from the type's one counter: unique across the two languages
        const generated = [...py.ids, ...php.ids].filter((id) => id.startsWith("#"));
        expect(new Set(generated).size).toBe(10);
        const expected = new Set([...py.ids, ...php.ids].filter((id) => !id.endsWith("-poison")));
        expect(expected.size).toBe(30);
        expect(await c.queue.counts("inline")).toMatchObject({ pending: 32, enqueued: 32, deduped: 6 });
        expect(await c.queue.jobTypes()).toEqual(["inline"]);

        // the daemons: a worker, then a manager that starts workers for what the producers queued
        const w = await testWorker(config);
        stops.push(() => w.stop());
        const m = await testManager(config);
        stops.push(() => m.stop());
        const counts = await waitFor(
          "every item to be acked or dead",
          async () => {
            const n = await c.queue.counts("inline");
            return n.acked + n.dead === 32 && n.pending === 0 && n.leased === 0 ? n : null;
          },
          60_000,
        );
        expect(counts).toMatchObject({ acked: 30, dead: 2, retried: 0 });
        // each item began once, in a worker of this deployment
        const begun = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
        expect(begun.map((l) => l.split(" ")[0]).sort()).toEqual([...expected].sort());

        // both clients read what core reads
        const coreCounts = await c.queue.counts("inline");
        expect(await produce("python", prefix, ["counts", "inline"])).toEqual(coreCounts);
        expect(await produce("php", prefix, ["counts", "inline"])).toEqual(coreCounts);
        const coreDead = (await c.queue.listDead("inline")).map((d) => ({ ...d }));
        expect(coreDead.map((d) => d.id).sort()).toEqual(["php-poison", "py-poison"]);
        const asCore = ({ died_at, diedAt, ...d }: Record<string, unknown>) => ({ ...d, diedAt: diedAt ?? died_at });
        expect(
          ((await produce("python", prefix, ["dead", "inline"])) as Record<string, unknown>[]).map(asCore),
        ).toEqual(coreDead);
        expect(((await produce("php", prefix, ["dead", "inline"])) as Record<string, unknown>[]).map(asCore)).toEqual(
          coreDead,
        );
      } finally {
        delete process.env.BEHAVE_LOG;
        for (const stop of stops.reverse()) await stop();
        await c.close();
      }
    },
  );
});
