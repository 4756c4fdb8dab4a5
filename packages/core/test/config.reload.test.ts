import { describe, expect, it } from "vitest";
import { createLogger, parseConfig, reloadedConfig, runReload } from "../src/index.js";

const base = {
  prefix: "app",
  redis: { url: "redis://:s3cret@10.0.0.1:6379" },
  jobTypes: [{ name: "t", chunkSize: 10, launcher: { kind: "spawn", command: "true" } }],
  manager: { tickMs: 1000 },
  worker: { slots: 4 },
};
const parse = (over: Record<string, unknown> = {}) => parseConfig({ ...base, ...over }, "test");

describe("config reload", () => {
  it("takes what may change and keeps, by name, what a role cannot change without a restart", () => {
    const next = parse({
      prefix: "other",
      redis: { url: "redis://10.0.0.2:6379" },
      jobTypes: [{ name: "t", chunkSize: 3, launcher: { kind: "spawn", command: "true" } }],
      manager: { tickMs: 50, allocator: "least-load" },
      worker: { slots: 8 },
    });
    const m = reloadedConfig(parse(), next, "manager");
    expect(m.kept).toEqual(["redis.url", "prefix", "manager.tickMs"]);
    expect(m.config).toMatchObject({
      prefix: "app",
      redis: { url: base.redis.url },
      manager: { tickMs: 1000, allocator: "least-load" },
      jobTypes: [{ chunkSize: 3 }],
    });
    const w = reloadedConfig(parse(), next, "worker");
    expect(w.kept).toEqual(["redis.url", "prefix", "worker.slots"]);
    expect(w.config).toMatchObject({ worker: { slots: 4 }, manager: { tickMs: 50 }, jobTypes: [{ chunkSize: 3 }] });
    // the reloaded file itself is left as it was
    expect(next.prefix).toBe("other");
  });

  it("refuses a file that fails validation, naming each problem, and applies nothing", async () => {
    const applied: unknown[] = [];
    const out = await runReload({
      role: "worker",
      current: parse(),
      load: async () => parse({ jobTypes: [{ name: "t", chunkSize: -1, launcher: { kind: "spawn", command: "x" } }] }),
      apply: (c) => applied.push(c),
      log: createLogger("test", { level: "silent" }),
    });
    expect(applied).toEqual([]);
    expect(out).toEqual({ applied: false, problems: [expect.stringMatching(/^jobTypes\[0\]\.chunkSize: /)] });
  });

  it("applies a valid file", async () => {
    const applied: unknown[] = [];
    const out = await runReload({
      role: "manager",
      current: parse(),
      load: async () => parse({ manager: { tickMs: 1000, allocator: "least-load" } }),
      apply: (c) => applied.push(c.manager.allocator),
      log: createLogger("test", { level: "silent" }),
    });
    expect(out).toEqual({ applied: true, kept: [] });
    expect(applied).toEqual(["least-load"]);
  });
});
