/**
 * A launcher kind of one's own: `echo`, defined in this file and nowhere else,
 * given to a code config's `launchers`. The config checks its launchers with
 * echo's schema, and a worker daemon runs its chunks through it.
 */
import { createLogger, defineConfig, parseConfig, RedisWorkerHistory, z } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { issuesOf } from "../../../test/harness/config-issues.js";
import { controlFor, testWorker } from "../../../test/harness/daemons.js";
import { freshPrefix, waitFor } from "../../../test/harness/index.js";
import { builtinLaunchers, type ChunkReport, createLauncher, defineLauncher, type Launcher } from "../src/index.js";
import { batchOf } from "./fixtures/batches.js";

/** What every echo launcher said, in order. */
const said: string[] = [];

/** echo: says each payload with a prefix; items whose payload is `failOn` fail, not retried. */
const echo = defineLauncher({
  kind: "echo",
  schema: z.strictObject({
    prefix: z.string().min(1),
    failOn: z.string().optional(),
    repeat: z.int().min(1).default(1),
  }),
  create(options, ctx): Launcher {
    return {
      kind: "echo",
      payloads: "parsed",
      async run(batch): Promise<ChunkReport> {
        const results: ChunkReport["results"] = new Map();
        for (const item of batch.items) {
          for (let i = 0; i < options.repeat; i++) said.push(`${ctx.jobType} ${options.prefix}${String(item.payload)}`);
          const failed = item.payload === options.failOn;
          results.set(item.id, failed ? { ok: false, error: "echo refused", retry: false } : { ok: true });
        }
        return { results, unreported: { ok: true }, peakMemoryBytes: null };
      },
      async close() {},
    };
  },
});

const configOf = (launcher: Record<string, unknown>, prefix = "own-kind") =>
  ({
    prefix,
    launchers: [echo],
    jobTypes: [{ name: "echoed", chunkSize: 10, cooldownSeconds: 0, launcher }],
    worker: { heartbeatMs: 200, hostTtlMs: 2000, shutdownGraceMs: 2000 },
  }) as const;

describe("a launcher kind of one's own", () => {
  it("type-checks in defineConfig beside the built-ins", () => {
    const config = defineConfig({
      launchers: [echo],
      jobTypes: [
        { name: "a", launcher: { kind: "echo", prefix: "> " } },
        { name: "b", launcher: { kind: "spawn", command: "php" } },
        // @ts-expect-error echo's prefix is a string
        { name: "c", launcher: { kind: "echo", prefix: 5 } },
        // @ts-expect-error a fork launcher needs its module
        { name: "d", launcher: { kind: "fork" } },
      ],
    });
    expect(config.jobTypes).toHaveLength(4);
  });

  it("is checked by its schema: defaults filled, issues named by path, its kind listed with the known ones", () => {
    const ok = parseConfig(configOf({ kind: "echo", prefix: ">" }), "echo.config", builtinLaunchers);
    expect(ok.jobTypes[0]?.launcher).toEqual({ kind: "echo", prefix: ">", repeat: 1 });

    const bad = issuesOf(() =>
      parseConfig(configOf({ kind: "echo", prefix: "", repeat: 0, loud: true }), "echo.config", builtinLaunchers),
    );
    expect(bad.map((i) => i.path).sort()).toEqual([
      "jobTypes[0].launcher.loud",
      "jobTypes[0].launcher.prefix",
      "jobTypes[0].launcher.repeat",
    ]);
    expect(bad.find((i) => i.path.endsWith("repeat"))).toMatchObject({ value: 0 });

    const unknown = issuesOf(() => parseConfig(configOf({ kind: "shout" }), "echo.config", builtinLaunchers));
    expect(unknown).toEqual([
      {
        path: "jobTypes[0].launcher.kind",
        message: "unknown launcher kind; expected 'inline' | 'fork' | 'spawn' | 'process' | 'http' | 'echo'",
        value: "shout",
      },
    ]);
  });

  it("is built by createLauncher, from a parsed config or from its definition", async () => {
    const log = createLogger("test", { level: "silent" });
    const config = parseConfig(configOf({ kind: "echo", prefix: "#", failOn: "b" }));
    const spec = config.jobTypes[0]?.launcher;
    if (!spec) throw new Error("no launcher");
    const launcher = await createLauncher(spec, { jobType: "echoed", baseDir: ".", log });
    said.length = 0;
    const report = await launcher.run(batchOf(["a", "b"]), { signal: new AbortController().signal, log });
    expect(said).toEqual(["echoed #a", "echoed #b"]);
    expect(report.results.get("item-1")).toEqual({ ok: false, error: "echo refused", retry: false });

    const raw = { kind: "echo", prefix: "+", repeat: 2 };
    const again = await createLauncher(raw, { jobType: "t", baseDir: ".", log }, [echo]);
    said.length = 0;
    await again.run(batchOf(["x"]), { signal: new AbortController().signal, log });
    expect(said).toEqual(["t +x", "t +x"]);
    await expect(createLauncher({ kind: "echo" }, { jobType: "t", baseDir: ".", log }, [echo])).rejects.toThrow(
      /invalid launcher of job type t:\n {2}- launcher\.prefix: required/,
    );
    await expect(createLauncher(raw, { jobType: "t", baseDir: ".", log })).rejects.toThrow(
      /launcher\.kind: unknown launcher kind; expected 'inline' \| 'fork' \| 'spawn' \| 'process' \| 'http'/,
    );
  });

  it("runs a worker daemon's chunks", async () => {
    const config = parseConfig(configOf({ kind: "echo", prefix: "!" }, freshPrefix()), "echo.config", builtinLaunchers);
    said.length = 0;
    const w = await testWorker(config);
    const c = controlFor(config);
    await c.queue.enqueue(
      "echoed",
      ["one", "two", "three"].map((payload) => ({ payload })),
    );
    await c.dispatch(w.hostId, "echoed");
    const history = new RedisWorkerHistory(c.client, c.keys);
    const [h] = await waitFor("the echo worker's history entry", async () => {
      const l = await history.list();
      return l.length > 0 ? l : null;
    });
    expect(h).toMatchObject({ jobType: "echoed", launcher: "echo", itemsDone: 3, itemsFailed: 0 });
    expect(said.sort()).toEqual(["echoed !one", "echoed !three", "echoed !two"]);
    expect(await c.queue.counts("echoed")).toMatchObject({ pending: 0, total: 0 });
    await w.stop();
    await c.close();
  });
});
