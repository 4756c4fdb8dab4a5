/**
 * Property tests of the config parser and loader on what comes from outside:
 * parseConfig (with the worker's launchers) on arbitrary values and on
 * near-valid configs with arbitrary values in every field never throws
 * anything but InvalidConfigError, whose issues name paths of the input; a
 * config it accepts keeps every bound and relation (durations ≤ 2^31−1 ms,
 * leases that outlive a missed renewal, hostTtlMs ≥ 2 heartbeats, unique names
 * other than . and ..). loadConfigFile on arbitrary JSON and YAML text fails
 * only with InvalidConfigError.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadConfigFile } from "../../cli/src/config-file.js";
import { builtinLaunchers } from "../../worker/src/index.js";
import { type BatchjobConfig, InvalidConfigError, isJobTypeName, MAX_TIMER_MS, parseConfig } from "../src/index.js";

const ANY_RUNS = 700;
const NEAR_RUNS = 1200;
const FILE_RUNS = 200;

const TOP_KEYS = ["redis", "prefix", "queue", "history", "launchers", "jobTypes", "worker", "manager"];

const interesting = fc.oneof(
  fc.constantFrom<unknown>(
    0,
    -1,
    1,
    1.5,
    49,
    50,
    1497,
    1498,
    1500,
    2_147_483,
    2_147_484,
    MAX_TIMER_MS,
    MAX_TIMER_MS + 1,
    2_592_000_000,
    Number.MAX_SAFE_INTEGER + 2,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    "",
    "1000",
    null,
    true,
    [],
    {},
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 5 }),
  fc.jsonValue({ maxDepth: 1 }),
  fc.anything({ maxDepth: 1, withBoxedValues: true, withNullPrototype: true, withBigInt: true, withDate: true }),
);
/** Mostly a valid value (`valid`), else an interesting one. */
const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 30, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: interesting });
/** Mostly a valid duration (and its bounds), else anything. */
const ms = (min: number) =>
  mostly(
    fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min, max: MAX_TIMER_MS }) },
      { weight: 1, arbitrary: fc.constantFrom(min, MAX_TIMER_MS, MAX_TIMER_MS + 1) },
    ),
  );
const count = (min: number, max: number) => mostly(fc.integer({ min, max }));
const name = mostly(
  fc.oneof(
    { weight: 8, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,8}$/) },
    { weight: 1, arbitrary: fc.constantFrom("a", "b", ".", "..", "...", ".a", "a b", "", "x".repeat(65)) },
  ),
);
const timeoutMs = ms(1);
const launcher = mostly(
  fc.oneof(
    fc.record(
      {
        kind: fc.constant("spawn"),
        command: mostly(fc.constant("sh")),
        timeoutMs,
        args: mostly(fc.array(fc.string())),
      },
      { requiredKeys: ["kind", "command"] },
    ),
    fc.record(
      { kind: fc.constant("inline"), module: fc.constant("./x.mjs"), timeoutMs },
      { requiredKeys: ["kind", "module"] },
    ),
    fc.record(
      { kind: fc.constant("fork"), module: fc.constant("./x.mjs"), timeoutMs, memoryLimitMb: count(1, 4096) },
      { requiredKeys: ["kind", "module"] },
    ),
    fc.record(
      {
        kind: fc.constant("http"),
        url: mostly(fc.constant("http://127.0.0.1/x")),
        secret: mostly(fc.constant("0123456789abcdef")),
        timeoutMs,
        maxResponseBytes: count(1, 1 << 30),
      },
      { requiredKeys: ["kind", "url", "secret"] },
    ),
  ),
);
const jobType = fc.record(
  {
    name,
    launcher,
    chunkSize: count(1, 10_000),
    parallel: mostly(fc.record({ high: count(0, 10_000), medium: count(0, 10_000), low: count(0, 10_000) })),
    cooldownSeconds: mostly(fc.double({ min: 0, max: 2_200_000, noNaN: true })),
    minQueueEntries: count(0, 1000),
    leaseMs: mostly(
      fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 1500, max: MAX_TIMER_MS }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }) },
      ),
    ),
    maxAttempts: count(1, 1000),
    maxReturns: count(1, 1000),
    backoff: mostly(
      fc.record(
        { type: mostly(fc.constantFrom("fixed", "exponential")), delayMs: ms(0), maxDelayMs: ms(0) },
        { requiredKeys: [] },
      ),
    ),
    limits: mostly(
      fc.record(
        { maxChunks: count(1, 1000), maxRunSeconds: mostly(fc.double({ min: 0.001, max: 2_200_000, noNaN: true })) },
        { requiredKeys: [] },
      ),
    ),
    enqueuer: mostly(fc.record({ module: fc.constant("./r.mjs"), lowWatermark: count(0, 100) })),
  },
  { requiredKeys: ["name", "launcher"] },
);
const worker = fc.record(
  {
    slots: count(1, 10_000),
    heartbeatMs: mostly(fc.integer({ min: 100, max: 100_000 })),
    hostTtlMs: mostly(fc.integer({ min: 300, max: 1_000_000 })),
    shutdownGraceMs: ms(0),
  },
  { requiredKeys: [] },
);
const manager = fc.record(
  {
    tickMs: ms(50),
    leaderLeaseMs: mostly(
      fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 1500, max: MAX_TIMER_MS }) },
        { weight: 1, arbitrary: fc.integer({ min: 200, max: 3000 }) },
      ),
    ),
    allocator: mostly(fc.constantFrom("round-robin", "least-load")),
  },
  { requiredKeys: [] },
);
/** A config close to a valid one: every field mostly valid, sometimes one more option that does not exist. */
const nearConfig = fc
  .tuple(
    fc.record(
      {
        jobTypes: mostly(fc.array(jobType, { minLength: 1, maxLength: 4 })),
        worker: mostly(worker),
        manager: mostly(manager),
        prefix: mostly(fc.stringMatching(/^[a-z:]{1,8}$/)),
        queue: mostly(fc.record({ maxPayloadBytes: count(64, 1 << 20) })),
      },
      { requiredKeys: ["jobTypes"] },
    ),
    // one in eight: an option that does not exist, or a served type that is not defined
    fc.oneof(
      { weight: 7, arbitrary: fc.constant(null) },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.constantFrom("unknown", "worker.jobTypes", "jobTypes[0].extra"), interesting),
      },
    ),
  )
  .map(([config, extra]) => {
    const c = config as Record<string, unknown>;
    if (extra === null) return c;
    const [where, value] = extra;
    if (where === "unknown") c[where] = value;
    else if (where === "worker.jobTypes") c.worker = { ...(c.worker as object), jobTypes: [value, "a"] };
    else if (Array.isArray(c.jobTypes) && typeof c.jobTypes[0] === "object")
      c.jobTypes[0] = { ...c.jobTypes[0], extra: value };
    return c;
  });

/** Fails unless `err` is an InvalidConfigError whose issues each name a path of `input` (the root for a non-object). */
function checkRefusal(err: unknown, input: unknown): void {
  expect(err).toBeInstanceOf(InvalidConfigError);
  const issues = (err as InvalidConfigError).issues;
  expect(issues.length).toBeGreaterThan(0);
  expect((err as Error).message).toMatch(/^invalid fuzz:\n {2}- /);
  const isObject = typeof input === "object" && input !== null && !Array.isArray(input);
  const keys = isObject ? [...Object.keys(input), ...TOP_KEYS] : [];
  for (const issue of issues) {
    expect(typeof issue.message === "string" && issue.message.length > 0).toBe(true);
    if (!isObject) expect(issue.path).toBe("");
    else {
      const named = keys.some(
        (k) => issue.path === k || issue.path.startsWith(`${k}.`) || issue.path.startsWith(`${k}[`),
      );
      expect(named, `${issue.path}: ${issue.message}`).toBe(true);
    }
  }
}

const leaseHolds = (leaseMs: number) => leaseMs - 2 * Math.max(20, Math.floor(leaseMs / 3)) >= 500;
const isMs = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min && (v as number) <= MAX_TIMER_MS;

/** Fails unless an accepted config keeps every bound and relation. */
function checkAccepted(c: BatchjobConfig): void {
  const names = c.jobTypes.map((t) => t.name);
  expect(new Set(names).size).toBe(names.length);
  for (const t of c.jobTypes) {
    expect(isJobTypeName(t.name), t.name).toBe(true);
    expect(isMs(t.leaseMs, 1) && leaseHolds(t.leaseMs), String(t.leaseMs)).toBe(true);
    expect(isMs(t.backoff.delayMs, 0) && isMs(t.backoff.maxDelayMs, 0)).toBe(true);
    expect(t.cooldownSeconds * 1000).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect((t.limits.maxRunSeconds ?? 0) * 1000).toBeLessThanOrEqual(MAX_TIMER_MS);
    const timeout = (t.launcher as { timeoutMs?: unknown }).timeoutMs;
    expect(isMs(timeout, 1), String(timeout)).toBe(true);
  }
  const { worker: w, manager: m } = c;
  expect(isMs(w.heartbeatMs, 100) && isMs(w.hostTtlMs, 300) && isMs(w.shutdownGraceMs, 0)).toBe(true);
  expect(w.hostTtlMs).toBeGreaterThanOrEqual(2 * w.heartbeatMs);
  expect(isMs(m.tickMs, 50) && isMs(m.leaderLeaseMs, 1) && leaseHolds(m.leaderLeaseMs)).toBe(true);
}

function parseOutcome(input: unknown): "accepted" | "refused" {
  let config: BatchjobConfig;
  try {
    config = parseConfig(input, "fuzz", builtinLaunchers);
  } catch (err) {
    checkRefusal(err, input);
    return "refused";
  }
  checkAccepted(config);
  return "accepted";
}

describe("parseConfig on arbitrary input", () => {
  it(`throws only InvalidConfigError, naming the root for a non-object (${ANY_RUNS} runs)`, () => {
    const any = fc.oneof(
      fc.anything({ maxDepth: 4, withBoxedValues: true, withNullPrototype: true, withBigInt: true, withDate: true }),
      fc.jsonValue({ maxDepth: 4 }),
      fc
        .anything({ maxDepth: 3, withNullPrototype: true, withBigInt: true, withBoxedValues: true })
        .map((jobTypes) => ({ jobTypes })),
    );
    fc.assert(
      fc.property(any, (input) => {
        parseOutcome(input);
      }),
      { numRuns: ANY_RUNS },
    );
  });

  it(`refuses near-valid configs by the paths of their problems, or keeps every bound and relation (${NEAR_RUNS} runs)`, () => {
    const seen = { accepted: 0, refused: 0 };
    fc.assert(
      fc.property(nearConfig, (input) => {
        seen[parseOutcome(input)]++;
      }),
      { numRuns: NEAR_RUNS },
    );
    // both outcomes came up (about 8% are accepted)
    expect(seen.accepted).toBeGreaterThan(NEAR_RUNS / 40);
    expect(seen.refused).toBeGreaterThan(NEAR_RUNS / 10);
  });
});

describe("loadConfigFile on arbitrary text", () => {
  it(`rejects only with InvalidConfigError, whatever the JSON or YAML file holds (${FILE_RUNS} runs)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "bj-fuzz-"));
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      nearConfig.map((v) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? Number(x) : x))),
      fc.constantFrom(
        "jobTypes: [",
        "jobTypes:\n  - name: a\n    launcher: {kind: spawn, command: sh, timeoutMs: 1e400}\n",
        "jobTypes:\n  - &a {name: a, launcher: {kind: spawn, command: sh}}\n  - *a\n",
        "jobTypes: !!binary aGk=\n",
        '{"jobTypes": [{"name": "a", "launcher": {"kind": "spawn", "command": "sh", "timeoutMs": 1e400}}]}',
        "\u0000",
        "",
      ),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(text, fc.constantFrom(".json", ".yaml"), async (body, ext) => {
        const path = join(dir, `c${n++}${ext}`);
        writeFileSync(path, body);
        await loadConfigFile(path, {}).then(
          (loaded) => checkAccepted(loaded.config),
          (err: unknown) => expect(err).toBeInstanceOf(InvalidConfigError),
        );
      }),
      { numRuns: FILE_RUNS },
    );
  });
});
