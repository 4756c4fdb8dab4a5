import { describe, expect, it } from "vitest";
import { issuesOf } from "../../../test/harness/config-issues.js";
import { parseConfig, parseJobType } from "../src/index.js";

const spawnLauncher = { kind: "spawn", command: "php", args: ["job.php"] };

describe("job type schema", () => {
  it("fills every default", () => {
    const t = parseJobType({ name: "email", launcher: spawnLauncher });
    expect(t).toMatchObject({
      name: "email",
      chunkSize: 100,
      parallel: { high: 1, medium: 2, low: 4 },
      cooldownSeconds: 5,
      minQueueEntries: 1,
      leaseMs: 30_000,
      maxAttempts: 5,
      backoff: { type: "exponential", delayMs: 1000, maxDelayMs: 300_000 },
      // without launcher definitions (the worker's), a launcher passes as it is
      launcher: spawnLauncher,
    });
  });

  it("names the path, the value and what is allowed", () => {
    const issues = issuesOf(() =>
      parseJobType({
        name: "bad name",
        chunkSize: 0,
        parallel: { high: -1, medium: 1, low: 1.5 },
        launcher: spawnLauncher,
        extra: 1,
      }),
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(byPath.name).toMatchObject({ value: "bad name", message: expect.stringMatching(/A-Z a-z 0-9/) });
    expect(byPath.chunkSize).toMatchObject({ value: 0, message: expect.stringMatching(/>=1/) });
    expect(byPath["parallel.high"]).toMatchObject({ value: -1, message: expect.stringMatching(/>=0/) });
    expect(byPath["parallel.low"]).toMatchObject({ value: 1.5, message: expect.stringMatching(/int/) });
    expect(byPath.extra?.message).toMatch(/unknown option/);
  });
});

describe("config schema", () => {
  it("finds duplicate job types and worker types that do not exist, with indexes", () => {
    const issues = issuesOf(() =>
      parseConfig({
        jobTypes: [
          { name: "a", launcher: spawnLauncher },
          { name: "a", launcher: spawnLauncher },
        ],
        worker: { jobTypes: ["a", "zzz"] },
      }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(["jobTypes[1].name", "worker.jobTypes[1]"]);
  });

  it("puts the source and every issue in the error message", () => {
    expect(() =>
      parseConfig(
        {
          jobTypes: [{ name: "a", launcher: spawnLauncher, maxAttempts: 0 }],
          manager: { load: { highAt: 0.2, lowBelow: 0.5 } },
        },
        "batchjob.config.json",
      ),
    ).toThrow(
      /invalid batchjob.config.json:\n {2}- jobTypes\[0\]\.maxAttempts: .*>=1 \(got 0\)\n {2}- manager\.load: lowBelow must be below highAt/,
    );
  });

  it("refuses a host TTL shorter than two heartbeats", () => {
    const issues = issuesOf(() =>
      parseConfig({
        jobTypes: [{ name: "a", launcher: spawnLauncher }],
        worker: { heartbeatMs: 1000, hostTtlMs: 1500 },
      }),
    );
    expect(issues).toEqual([
      {
        path: "worker",
        message: expect.stringMatching(/hostTtlMs must be at least twice heartbeatMs/),
        value: expect.anything(),
      },
    ]);
  });

  it("needs at least one job type", () => {
    expect(issuesOf(() => parseConfig({ jobTypes: [] }))[0]?.message).toMatch(/at least one job type/);
  });
});
