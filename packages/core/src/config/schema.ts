/**
 * The configuration schema (zod): job types with the seed's fields plus lease,
 * attempts, backoff and launcher; worker and manager options; a code config's
 * own launcher kinds. Each job type's `launcher` is checked by its kind's
 * definition (launchers.ts): the definitions a parse is given (the worker's
 * built-ins) plus the config's `launchers`; without given definitions, other
 * kinds pass unchecked (the manager never runs a launcher). `parseConfig`,
 * `parseJobType` and `parseLauncher` turn every problem into a `ConfigIssue`
 * naming the field path, the value and what is allowed.
 */
import { z } from "zod";
import { type ConfigIssue, InvalidConfigError } from "../errors.js";
import { DOT_NAME_RULE, isDotName, JOB_TYPE_NAME_RULE, MAX_SHARDS } from "../keys.js";
import type {
  AnyLauncherSpec,
  LauncherDefinition,
  LauncherInput,
  LauncherInputOf,
  LauncherSpec,
} from "../launcher-definition.js";
import { redactRedisUrl, redisUrlProblem } from "../redis-url.js";
import { defaults } from "./defaults.js";
import { durationMs, durationSeconds } from "./durations.js";
import {
  LauncherRegistry,
  launcherField,
  launchersField,
  ownLaunchers,
  type ResolvedLauncher,
  resolvedLauncher,
} from "./launchers.js";
import { type RedactOptions, redactAt } from "./secrets.js";

const D = defaults;
const count = (max: number) => z.int().min(0).max(max);
const exportName = z.string().min(1).default(D.launcher.export);

/** Most chunks a worker may hold ahead of the one it runs (`prefetch`). */
export const MAX_PREFETCH = 16;

/** Time a lease must still have after one missed renewal, for the next one to reach Redis. */
export const LEASE_MARGIN_MS = 500;

/**
 * A lease renewed every third of its length (the worker's lease keeper, the
 * manager's leader lease; at least every 20 ms) must outlive one missed
 * renewal by LEASE_MARGIN_MS: an issue naming both values when it does not.
 */
function renewedLease(what: string) {
  return durationMs(1).superRefine((leaseMs, ctx) => {
    if (!Number.isInteger(leaseMs) || leaseMs < 1) return; // the bounds say so
    const every = Math.max(20, Math.floor(leaseMs / 3));
    const left = leaseMs - 2 * every;
    if (left >= LEASE_MARGIN_MS) return;
    ctx.addIssue({
      code: "custom",
      input: leaseMs,
      message: `${what} of ${leaseMs} ms is renewed every ${every} ms (a third of it, 20 ms at least): one missed renewal leaves ${left} ms, less than the ${LEASE_MARGIN_MS} ms the next needs; use at least ${3 * LEASE_MARGIN_MS} ms`,
    });
  });
}

const enqueuerSchema = z
  .strictObject({
    /** A module exporting the refill function, relative to the config file. */
    module: z.string().min(1).optional(),
    export: exportName,
    /** Or the refill function itself (JS/TS config files). */
    refill: z.custom<unknown>((v) => typeof v === "function", { message: "expected a function" }).optional(),
    /** The manager refills when pending falls below this. */
    lowWatermark: z.int().min(0),
  })
  .refine((e) => (e.refill === undefined) !== (e.module === undefined), {
    message: "give either refill (a function in code) or module (a file exporting one)",
  });

/** `redis.url`: what `connectRedis` accepts (one parser); an issue shows the URL with its password as `***`. */
const redisUrlField = z.string().superRefine((url, ctx) => {
  const problem = redisUrlProblem(url);
  if (problem) ctx.addIssue({ code: "custom", message: problem, params: { shown: redactRedisUrl(url) } });
});

function jobTypeSchemaWith(launchers: LauncherRegistry) {
  return z.strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, { message: JOB_TYPE_NAME_RULE })
      .refine((n) => !isDotName(n), { message: DOT_NAME_RULE }),
    chunkSize: z.int().min(1).max(10_000).default(D.jobType.chunkSize),
    parallel: z
      .strictObject({ high: count(10_000), medium: count(10_000), low: count(10_000) })
      .default({ ...D.jobType.parallel }),
    cooldownSeconds: durationSeconds().min(0).default(D.jobType.cooldownSeconds),
    minQueueEntries: z.int().min(0).default(D.jobType.minQueueEntries),
    leaseMs: renewedLease("a chunk lease").default(D.jobType.leaseMs),
    /** Per-minute metrics kept this many minutes (7 days at most); 0: none recorded. */
    metricsWindowMinutes: z.int().min(0).max(10_080).default(D.jobType.metricsWindowMinutes),
    shards: z.int().min(1).max(MAX_SHARDS).default(D.jobType.shards),
    maxAttempts: z.int().min(1).max(1000).default(D.jobType.maxAttempts),
    maxReturns: z.int().min(1).max(1000).default(D.jobType.maxReturns),
    backoff: z
      .strictObject({
        type: z.enum(["fixed", "exponential"]).default(D.jobType.backoff.type),
        delayMs: durationMs(0).default(D.jobType.backoff.delayMs),
        maxDelayMs: durationMs(0).default(D.jobType.backoff.maxDelayMs),
      })
      .default({ ...D.jobType.backoff }),
    launcher: launcherField(launchers),
    /** A worker stops after this many chunks or seconds (exit reason `limit`). */
    idleMs: durationMs(0).default(D.jobType.idleMs),
    prefetch: z.union([z.boolean(), z.int().min(0).max(MAX_PREFETCH), z.literal("auto")]).default(D.jobType.prefetch),
    limits: z
      .strictObject({
        maxChunks: z.int().min(1).optional(),
        maxRunSeconds: durationSeconds().positive().optional(),
      })
      .default({}),
    enqueuer: enqueuerSchema.optional(),
    /**
     * When the manager notifies the alert webhook (manager.alerts): the
     * oldest pending item waited `longWaitSeconds`, or `deadGrowth` items died
     * within `deadGrowthMinutes`. Once per crossing, and once when it clears.
     */
    alerts: z
      .strictObject({
        longWaitSeconds: durationSeconds().positive().optional(),
        deadGrowth: z.int().min(1).optional(),
        deadGrowthMinutes: z.int().min(1).max(60).default(D.alerts.deadGrowthMinutes),
      })
      .optional(),
  });
}

export const workerSchema = z
  .strictObject({
    slots: z.int().min(1).max(10_000).default(D.worker.slots),
    /** Job types this daemon serves; all when omitted. */
    jobTypes: z.array(z.string()).optional(),
    heartbeatMs: durationMs(100).default(D.worker.heartbeatMs),
    hostTtlMs: durationMs(300).default(D.worker.hostTtlMs),
    shutdownGraceMs: durationMs(0).default(D.worker.shutdownGraceMs),
  })
  .superRefine((w, ctx) => {
    if (w.hostTtlMs >= 2 * w.heartbeatMs) return;
    ctx.addIssue({
      code: "custom",
      input: w,
      message: `hostTtlMs must be at least twice heartbeatMs, or live hosts are taken for dead: hostTtlMs ${w.hostTtlMs} < 2 × heartbeatMs ${w.heartbeatMs}`,
    });
  });

export const managerSchema = z.strictObject({
  tickMs: durationMs(50).default(D.manager.tickMs),
  /**
   * Renewed on its own timer, so it needs no relation to tickMs: a slow or
   * long tick cannot let it lapse (leader-loop.ts).
   */
  leaderLeaseMs: renewedLease("a leader lease").default(D.manager.leaderLeaseMs),
  allocator: z.enum(["round-robin", "least-load"]).default(D.manager.allocator),
  load: z
    .strictObject({
      highAt: z.number().positive().default(D.manager.load.highAt),
      lowBelow: z.number().positive().default(D.manager.load.lowBelow),
      hysteresis: z.number().min(0).default(D.manager.load.hysteresis),
    })
    .refine((l) => l.lowBelow < l.highAt, { message: "lowBelow must be below highAt" })
    .default({ ...D.manager.load }),
  /** Where the leader posts alert notifications (a job type's `alerts`), signed like the http launcher. */
  alerts: z
    .strictObject({
      /** http(s) URL receiving a JSON POST per crossing; a password in it is secret. */
      webhook: z
        .url({ protocol: /^https?$/ })
        .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), {
          message: "give no credentials in the URL: the request is signed with `secret` instead",
        })
        .meta({ secret: "url" }),
      /** HMAC-SHA256 key shared with the receiver (x-batchjob-signature, as the http launcher). Secret. */
      secret: z.string().min(16, { message: "secret: use at least 16 characters" }).meta({ secret: true }),
      timeoutMs: durationMs(1).default(D.manager.alerts.timeoutMs),
      checkEveryMs: durationMs(100).default(D.manager.alerts.checkEveryMs),
    })
    .optional(),
  http: z
    .strictObject({
      listen: z
        .string()
        .refine((v) => /^(\[[0-9A-Fa-f:.]+\]|[^:[\]\s]+):\d{1,5}$/.test(v) && Number(v.split(":").pop()) <= 65535, {
          message: "must be HOST:PORT (like 127.0.0.1:9090 or [::1]:9090)",
        })
        .optional(),
    })
    .default({}),
});

function configSchemaWith(launchers: LauncherRegistry, given: readonly LauncherDefinition[]) {
  return z
    .strictObject({
      redis: z.strictObject({ url: redisUrlField.meta({ secret: "url" }).optional() }).default({}),
      prefix: z
        .string()
        .regex(/^[A-Za-z0-9._:-]{1,32}$/, { message: "use 1 to 32 characters from A-Z a-z 0-9 . _ : -" })
        .default(D.prefix),
      queue: z
        .strictObject({ maxPayloadBytes: z.int().min(64).default(D.queue.maxPayloadBytes) })
        .default({ maxPayloadBytes: D.queue.maxPayloadBytes }),
      history: z.strictObject({ cap: z.int().min(1).default(D.history.cap) }).default({ cap: D.history.cap }),
      /** Launcher kinds of this config (code configs): `defineLauncher` definitions. */
      launchers: launchersField(given),
      jobTypes: z.array(jobTypeSchemaWith(launchers)).min(1, { message: "define at least one job type" }),
      worker: workerSchema.default(workerSchema.parse({})),
      manager: managerSchema.default(managerSchema.parse({})),
    })
    .superRefine((cfg, ctx) => {
      const seen = new Map<string, number>();
      cfg.jobTypes.forEach((t, i) => {
        if (!seen.has(t.name)) seen.set(t.name, i);
      });
      for (const d of duplicateNames(cfg.jobTypes)) ctx.addIssue({ code: "custom", ...d });
      for (const [i, name] of (cfg.worker.jobTypes ?? []).entries()) {
        if (!seen.has(name)) {
          ctx.addIssue({
            code: "custom",
            path: ["worker", "jobTypes", i],
            message: `names no job type defined in jobTypes (defined: ${[...seen.keys()].join(", ")})`,
          });
        }
      }
    });
}

/** An issue for each job type whose name an earlier one already has. */
function duplicateNames(jobTypes: readonly unknown[]): { path: (string | number)[]; message: string }[] {
  const seen = new Map<unknown, number>();
  const out: { path: (string | number)[]; message: string }[] = [];
  jobTypes.forEach((t, i) => {
    const name = typeof t === "object" && t !== null ? (t as { name?: unknown }).name : undefined;
    if (typeof name !== "string") return;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, i);
    else
      out.push({
        path: ["jobTypes", i, "name"],
        message: `duplicate job type name, already used by jobTypes[${first}]`,
      });
  });
  return out;
}

/**
 * The duplicate names of a raw config that failed elsewhere: zod skips the
 * config's refinement once a launcher fails, and a duplicate should not wait
 * for that fix to be reported.
 */
function missedDuplicates(input: unknown, issues: ConfigIssue[]): ConfigIssue[] {
  const jobTypes = typeof input === "object" && input !== null ? (input as { jobTypes?: unknown }).jobTypes : undefined;
  if (!Array.isArray(jobTypes)) return [];
  return duplicateNames(jobTypes)
    .map((d) => ({ path: formatPath(d.path), message: d.message, value: valueAt(input, d.path).value }))
    .filter((d) => !issues.some((i) => i.path === d.path && i.message === d.message));
}

/**
 * `schema.safeParse(input)`; zod itself throws on a value no JSON or YAML
 * file gives (an object without a prototype where it compares a length):
 * that value is then named by its path in an InvalidConfigError.
 */
function safeParseOf<S extends z.ZodType>(schema: S, input: unknown, source: string) {
  try {
    return schema.safeParse(input);
  } catch (err) {
    const seen = new Set<object>();
    // the deepest value that cannot be turned into a string
    const find = (v: unknown, path: PropertyKey[]): PropertyKey[] | undefined => {
      if (typeof v !== "object" || v === null || seen.has(v)) return undefined;
      seen.add(v);
      for (const k of Object.keys(v)) {
        const found = find((v as Record<string, unknown>)[k], [...path, Array.isArray(v) ? Number(k) : k]);
        if (found) return found;
      }
      try {
        String(v);
        return undefined;
      } catch {
        return path;
      }
    };
    const why = err instanceof Error ? err.message : String(err);
    const path = find(input, []);
    const message = path ? `cannot be checked (an object without a prototype?): ${why}` : `cannot be checked: ${why}`;
    throw new InvalidConfigError(source, [{ path: formatPath(path ?? []), message }]);
  }
}

/** A job type's schema without launcher definitions: any launcher kind passes as it is. */
export const jobTypeSchema = jobTypeSchemaWith(new LauncherRegistry([], true));
/** The config's schema without launcher definitions: any launcher kind passes as it is. */
export const configSchema = configSchemaWith(new LauncherRegistry([], true), []);

type JobTypeFields = z.output<typeof jobTypeSchema>;
type JobTypeInputFields = z.input<typeof jobTypeSchema>;
type ConfigFields = z.output<typeof configSchema>;
type ConfigInputFields = z.input<typeof configSchema>;

/** A validated job type; its launcher is typed for the kinds the type checker knows (see `LauncherKinds`). */
export type JobTypeConfig = Omit<JobTypeFields, "launcher"> & { launcher: LauncherSpec };
/** A job type as written; `D`: the config's own launcher definitions, whose kinds it may also use. */
export type JobTypeInput<D extends LauncherDefinition = never> = Omit<JobTypeInputFields, "launcher"> & {
  launcher: LauncherInput | LauncherInputOf<D>;
};
export type WorkerConfig = z.output<typeof workerSchema>;
export type ManagerConfig = z.output<typeof managerSchema>;
export type BatchjobConfig = Omit<ConfigFields, "jobTypes" | "launchers"> & {
  jobTypes: JobTypeConfig[];
  launchers: LauncherDefinition[];
};
/** A config as written; `D`: its own launcher definitions (`launchers`). */
export type BatchjobConfigInput<D extends LauncherDefinition = never> = Omit<
  ConfigInputFields,
  "jobTypes" | "launchers"
> & {
  /** Launcher kinds of this config, each a `defineLauncher({ kind, schema, create })` of @batchjob/worker. */
  launchers?: readonly D[];
  jobTypes: JobTypeInput<D>[];
};

/** Typed identity for JS/TS config files: job types may use the kinds of `launchers` too. */
export function defineConfig<const D extends LauncherDefinition = never>(
  config: BatchjobConfigInput<D>,
): BatchjobConfigInput<D> {
  return config;
}

function formatPath(path: PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

function valueAt(input: unknown, path: PropertyKey[]): { found: boolean; value?: unknown } {
  let cur: unknown = input;
  for (const p of path) {
    if (cur === null || typeof cur !== "object" || !(p in (cur as object))) return { found: false };
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return { found: true, value: cur };
}

/** zod issues -> ConfigIssues with the full path and the offending value (redacted as `secrets.schema` marks it). */
export function toConfigIssues(
  error: z.ZodError,
  input: unknown,
  basePath: PropertyKey[] = [],
  secrets?: RedactOptions & { schema: z.core.$ZodType },
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = [...basePath, ...issue.path, key];
        out.push({ path: formatPath(path), message: "unknown option; check its spelling" });
      }
      continue;
    }
    const path = [...basePath, ...issue.path];
    const at = valueAt(input, issue.path);
    const message = at.found || issue.code !== "invalid_type" ? issue.message : "required";
    // a check may give the value to show (a URL it could not parse, its password hidden); else the schema's marks
    const shown =
      issue.code === "custom" && issue.params && "shown" in issue.params
        ? issue.params.shown
        : secrets
          ? redactAt(secrets.schema, input, issue.path, at.value, secrets)
          : at.value;
    out.push(at.found ? { path: formatPath(path), message, value: shown } : { path: formatPath(path), message });
  }
  return out;
}

/**
 * Validates a whole config; throws `InvalidConfigError` listing every issue.
 * `launchers`: the kinds to check launchers against besides the config's own
 * (the worker's `builtinLaunchers`); without it, other kinds pass unchecked.
 */
export function parseConfig(
  input: unknown,
  source = "config",
  launchers?: readonly LauncherDefinition[],
): BatchjobConfig {
  const given = launchers ?? [];
  const registry = new LauncherRegistry([...given, ...ownLaunchers(input)], launchers === undefined);
  const schema = configSchemaWith(registry, given);
  const r = safeParseOf(schema, input, source);
  if (!r.success) {
    const issues = toConfigIssues(r.error, input, [], { schema, kinds: (k) => registry.get(k) });
    throw new InvalidConfigError(source, [...issues, ...missedDuplicates(input, issues)]);
  }
  // the launcher field's output is a launcher of a kind the registry checked (typed by `LauncherSpec`)
  return r.data as BatchjobConfig;
}

/** Validates one job type; throws `InvalidConfigError` listing every issue. `launchers` as for `parseConfig`. */
export function parseJobType(
  input: unknown,
  source = "job type",
  launchers?: readonly LauncherDefinition[],
): JobTypeConfig {
  const registry = new LauncherRegistry(launchers ?? [], launchers === undefined);
  const schema = jobTypeSchemaWith(registry);
  const r = safeParseOf(schema, input, source);
  if (!r.success)
    throw new InvalidConfigError(source, toConfigIssues(r.error, input, [], { schema, kinds: (k) => registry.get(k) }));
  return r.data as JobTypeConfig;
}

/**
 * The definition and validated options of a job type's launcher: as
 * `parseConfig` left them when it checked this launcher, else looked up in
 * `launchers` and checked now. Throws `InvalidConfigError` naming
 * `launcher.<field>` (an unknown kind lists the known ones).
 */
export function parseLauncher(
  spec: AnyLauncherSpec,
  launchers: readonly LauncherDefinition[],
  source = "launcher",
): ResolvedLauncher {
  const known = resolvedLauncher(spec);
  if (known) return known;
  const input = { launcher: spec };
  const registry = new LauncherRegistry(launchers);
  const schema = z.object({ launcher: launcherField(registry) });
  const r = schema.safeParse(input);
  if (!r.success)
    throw new InvalidConfigError(source, toConfigIssues(r.error, input, [], { schema, kinds: (k) => registry.get(k) }));
  const resolved = resolvedLauncher(r.data.launcher);
  if (!resolved) throw new Error("unreachable: a checked launcher has a definition");
  return resolved;
}

/** Largest `chunkSize` that `prefetch: "auto"` prefetches for: beyond it a round trip is a small share of a chunk's run. */
export const PREFETCH_AUTO_MAX_CHUNK = 100;

/**
 * Chunks a worker of this type holds ahead of the one it runs (0: none).
 * `true` is 1; `"auto"`: none above PREFETCH_AUTO_MAX_CHUNK items a chunk,
 * else enough chunks for about 10 items ahead, 1 to 4 of them (chunk 1 to
 * 3: 4, 4: 3, 5 to 9: 2, 10 to 100: 1).
 */
export function prefetchOf(t: Pick<JobTypeConfig, "prefetch" | "chunkSize">): number {
  if (t.prefetch === "auto")
    return t.chunkSize > PREFETCH_AUTO_MAX_CHUNK ? 0 : Math.min(4, Math.max(1, Math.ceil(10 / t.chunkSize)));
  if (typeof t.prefetch === "boolean") return t.prefetch ? 1 : 0;
  return t.prefetch;
}

/**
 * Most chunks `prefetch: "auto"` holds ahead for chunks of 1 to 3 items
 * while they run quick: 32 chunks of under 5 ms are a fraction of a second
 * of work (a set depth stays within MAX_PREFETCH).
 */
export const PREFETCH_QUICK_MAX = 32;

/**
 * The depths a worker of this type prefetches at: `base` (prefetchOf), and
 * `quick`, how deep it goes while its chunks run quick (the worker's
 * QUICK_CHUNK_MS): for `"auto"` with chunks of 1 to 3 items PREFETCH_QUICK_MAX,
 * which keeps a worker of no-op-sized jobs from waiting on round trips; a
 * number or boolean is one depth.
 */
export function prefetchDepths(t: Pick<JobTypeConfig, "prefetch" | "chunkSize">): { base: number; quick: number } {
  const base = prefetchOf(t);
  return { base, quick: t.prefetch === "auto" && t.chunkSize <= 3 ? PREFETCH_QUICK_MAX : base };
}

/** The retry policy a job type gives its items. */
export function retryPolicyOf(t: Pick<JobTypeConfig, "maxAttempts" | "backoff">) {
  return { maxAttempts: t.maxAttempts, backoff: { ...t.backoff } };
}
