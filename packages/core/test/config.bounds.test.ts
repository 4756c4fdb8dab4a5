/**
 * Bounds and relations of the config: every duration at most 2^31−1 ms (a
 * longer Node timer fires at once), leases that outlive a missed renewal,
 * hostTtlMs against heartbeatMs, job type names (not `.` or `..`, unique),
 * each refused with its path and the values involved.
 */
import { describe, expect, it } from "vitest";
import { issuesOf } from "../../../test/harness/config-issues.js";
import { builtinLaunchers } from "../../worker/src/index.js";
import { defaults, MAX_TIMER_MS, parseConfig, parseJobType } from "../src/index.js";

const launcher = { kind: "spawn", command: "sh" };
const over = MAX_TIMER_MS + 1;

/** A config of one job type `a` with `change` applied to it. */
function config(change: (c: { jobTypes: Record<string, unknown>[] } & Record<string, unknown>) => void = () => {}) {
  const c = { jobTypes: [{ name: "a", launcher: { ...launcher } as Record<string, unknown> }] } as {
    jobTypes: Record<string, unknown>[];
  } & Record<string, unknown>;
  change(c);
  return c;
}

describe("durations", () => {
  it("take MAX_TIMER_MS, 2^31−1 ms", () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
    const c = parseConfig(
      config((c) => {
        Object.assign(c.jobTypes[0] as object, {
          leaseMs: MAX_TIMER_MS,
          backoff: { delayMs: MAX_TIMER_MS, maxDelayMs: MAX_TIMER_MS },
          cooldownSeconds: 2_147_483,
          limits: { maxRunSeconds: 2_147_483 },
        });
        (c.jobTypes[0]?.launcher as Record<string, unknown>).timeoutMs = MAX_TIMER_MS;
        c.worker = { heartbeatMs: 1000, hostTtlMs: MAX_TIMER_MS, shutdownGraceMs: MAX_TIMER_MS };
        c.manager = { tickMs: MAX_TIMER_MS, leaderLeaseMs: MAX_TIMER_MS };
      }),
      "c",
      builtinLaunchers,
    );
    expect(c.jobTypes[0]?.leaseMs).toBe(MAX_TIMER_MS);
  });

  it.each([
    [
      "jobTypes[0].leaseMs",
      (c: ReturnType<typeof config>) => Object.assign(c.jobTypes[0] as object, { leaseMs: over }),
    ],
    [
      "jobTypes[0].backoff.delayMs",
      (c: ReturnType<typeof config>) => Object.assign(c.jobTypes[0] as object, { backoff: { delayMs: over } }),
    ],
    [
      "jobTypes[0].backoff.maxDelayMs",
      (c: ReturnType<typeof config>) => Object.assign(c.jobTypes[0] as object, { backoff: { maxDelayMs: over } }),
    ],
    [
      "jobTypes[0].cooldownSeconds",
      (c: ReturnType<typeof config>) => Object.assign(c.jobTypes[0] as object, { cooldownSeconds: 2_147_484 }),
    ],
    [
      "jobTypes[0].limits.maxRunSeconds",
      (c: ReturnType<typeof config>) =>
        Object.assign(c.jobTypes[0] as object, { limits: { maxRunSeconds: 2_147_484 } }),
    ],
    [
      "jobTypes[0].launcher.timeoutMs",
      (c: ReturnType<typeof config>) => Object.assign(c.jobTypes[0]?.launcher as object, { timeoutMs: 2_592_000_000 }),
    ],
    [
      "worker.heartbeatMs",
      (c: ReturnType<typeof config>) => Object.assign(c, { worker: { heartbeatMs: over, hostTtlMs: MAX_TIMER_MS } }),
    ],
    ["worker.hostTtlMs", (c: ReturnType<typeof config>) => Object.assign(c, { worker: { hostTtlMs: over } })],
    [
      "worker.shutdownGraceMs",
      (c: ReturnType<typeof config>) => Object.assign(c, { worker: { shutdownGraceMs: over } }),
    ],
    ["manager.tickMs", (c: ReturnType<typeof config>) => Object.assign(c, { manager: { tickMs: over } })],
    ["manager.leaderLeaseMs", (c: ReturnType<typeof config>) => Object.assign(c, { manager: { leaderLeaseMs: over } })],
  ])("refuse %s above it, naming the path and why", (path, change) => {
    const issues = issuesOf(() => parseConfig(config(change), "c", builtinLaunchers));
    const issue = issues.find((i) => i.path === path);
    expect(issue?.message).toMatch(
      /at most (2147483647 ms|2147483 s) \(about 24\.8 days\): a longer Node timer fires at once/,
    );
    expect(issue?.value).toBeGreaterThan(MAX_TIMER_MS / 1000);
  });

  it("keep every default within its bounds and relations", () => {
    const c = parseConfig(config(), "c", builtinLaunchers);
    expect(c.jobTypes[0]?.leaseMs).toBe(defaults.jobType.leaseMs);
    expect(c.manager).toMatchObject({ tickMs: defaults.manager.tickMs, leaderLeaseMs: defaults.manager.leaderLeaseMs });
    expect(c.worker).toMatchObject({ heartbeatMs: defaults.worker.heartbeatMs, hostTtlMs: defaults.worker.hostTtlMs });
    expect(c.jobTypes[0]?.launcher).toMatchObject({ timeoutMs: defaults.launcher.timeoutMs });
  });
});

describe("relations", () => {
  it("a chunk lease must outlive one missed extend (every leaseMs/3) by 500 ms: both values named", () => {
    const issues = issuesOf(() => parseJobType({ name: "a", leaseMs: 900, launcher }));
    expect(issues).toEqual([
      {
        path: "leaseMs",
        value: 900,
        message:
          "a chunk lease of 900 ms is renewed every 300 ms (a third of it, 20 ms at least): one missed renewal leaves 300 ms, less than the 500 ms the next needs; use at least 1500 ms",
      },
    ]);
    expect(issuesOf(() => parseJobType({ name: "a", leaseMs: 1497, launcher }))[0]?.message).toMatch(
      /renewed every 499 ms.*leaves 499 ms/,
    );
    expect(parseJobType({ name: "a", leaseMs: 1500, launcher }).leaseMs).toBe(1500);
    // one issue for a lease below the minimum, not two
    expect(issuesOf(() => parseJobType({ name: "a", leaseMs: 0, launcher }))).toHaveLength(1);
  });

  it("the leader lease too; it has no relation to tickMs (renewed on its own timer)", () => {
    const issues = issuesOf(() => parseConfig(config((c) => Object.assign(c, { manager: { leaderLeaseMs: 1000 } }))));
    expect(issues).toEqual([
      {
        path: "manager.leaderLeaseMs",
        value: 1000,
        message: expect.stringMatching(/leader lease of 1000 ms is renewed every 333 ms/),
      },
    ]);
    const slowTicks = parseConfig(
      config((c) => Object.assign(c, { manager: { tickMs: 3_600_000, leaderLeaseMs: 2000 } })),
    );
    expect(slowTicks.manager).toMatchObject({ tickMs: 3_600_000, leaderLeaseMs: 2000 });
  });

  it("hostTtlMs below two heartbeats names both values", () => {
    const issues = issuesOf(() =>
      parseConfig(config((c) => Object.assign(c, { worker: { heartbeatMs: 3000, hostTtlMs: 5000 } }))),
    );
    expect(issues[0]?.message).toMatch(/hostTtlMs 5000 < 2 × heartbeatMs 3000/);
  });
});

describe("job type names", () => {
  it.each([".", ".."])("refuses %j, with its path", (name) => {
    const issues = issuesOf(() => parseConfig(config((c) => Object.assign(c.jobTypes[0] as object, { name }))));
    expect(issues).toEqual([
      { path: "jobTypes[0].name", value: name, message: "'.' and '..' are not job type names: they read as folders" },
    ]);
  });

  it.each(["...", ".a", "a..b", "_", "-"])("still takes %j", (name) => {
    expect(parseJobType({ name, launcher }).name).toBe(name);
  });

  it("reports a duplicate name even when a launcher option is wrong too", () => {
    const issues = issuesOf(() =>
      parseConfig(
        {
          jobTypes: [
            { name: "a", launcher: { ...launcher, timeoutMs: over } },
            { name: "b", launcher },
            { name: "a", launcher },
          ],
        },
        "c",
        builtinLaunchers,
      ),
    );
    expect(issues.map((i) => i.path)).toEqual(["jobTypes[0].launcher.timeoutMs", "jobTypes[2].name"]);
    expect(issues[1]).toEqual({
      path: "jobTypes[2].name",
      value: "a",
      message: "duplicate job type name, already used by jobTypes[0]",
    });
  });
});
