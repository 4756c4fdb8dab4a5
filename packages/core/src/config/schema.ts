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
import type {
  AnyLauncherSpec,
  LauncherDefinition,
  LauncherInput,
  LauncherInputOf,
  LauncherSpec,
} from "../launcher-definition.js";
import { redactRedisUrl, redisUrlProblem } from "../redis-url.js";
import { defaults } from "./defaults.js";
import {
  LauncherRegistry,
  launcherField,
  launchersField,
  ownLaunchers,
  type ResolvedLauncher,
  resolvedLauncher,
} from "./launchers.js";

const D = defaults;
const count = (max: number) => z.int().min(0).max(max);
const exportName = z.string().min(1).default(D.launcher.export);

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
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, {
      message: "use 1 to 64 characters from A-Z a-z 0-9 . _ -",
    }),
    chunkSize: z.int().min(1).max(10_000).default(D.jobType.chunkSize),
    parallel: z
      .strictObject({ high: count(10_000), medium: count(10_000), low: count(10_000) })
      .default({ ...D.jobType.parallel }),
    cooldownSeconds: z.number().min(0).default(D.jobType.cooldownSeconds),
    minQueueEntries: z.int().min(0).default(D.jobType.minQueueEntries),
    leaseMs: z.int().min(50).default(D.jobType.leaseMs),
    maxAttempts: z.int().min(1).max(1000).default(D.jobType.maxAttempts),
    maxReturns: z.int().min(1).max(1000).default(D.jobType.maxReturns),
    backoff: z
      .strictObject({
        type: z.enum(["fixed", "exponential"]).default(D.jobType.backoff.type),
        delayMs: z.int().min(0).default(D.jobType.backoff.delayMs),
        maxDelayMs: z.int().min(0).default(D.jobType.backoff.maxDelayMs),
      })
      .default({ ...D.jobType.backoff }),
    launcher: launcherField(launchers),
    /** A worker stops after this many chunks or seconds (exit reason `limit`). */
    limits: z
      .strictObject({
        maxChunks: z.int().min(1).optional(),
        maxRunSeconds: z.number().positive().optional(),
      })
      .default({}),
    enqueuer: enqueuerSchema.optional(),
  });
}

export const workerSchema = z
  .strictObject({
    slots: z.int().min(1).max(10_000).default(D.worker.slots),
    /** Job types this daemon serves; all when omitted. */
    jobTypes: z.array(z.string()).optional(),
    heartbeatMs: z.int().min(100).default(D.worker.heartbeatMs),
    hostTtlMs: z.int().min(300).default(D.worker.hostTtlMs),
    shutdownGraceMs: z.int().min(0).default(D.worker.shutdownGraceMs),
  })
  .refine((w) => w.hostTtlMs >= 2 * w.heartbeatMs, {
    message: "hostTtlMs must be at least twice heartbeatMs, or live hosts are taken for dead",
  });

export const managerSchema = z.strictObject({
  tickMs: z.int().min(50).default(D.manager.tickMs),
  leaderLeaseMs: z.int().min(200).default(D.manager.leaderLeaseMs),
  allocator: z.enum(["round-robin", "least-load"]).default(D.manager.allocator),
  load: z
    .strictObject({
      highAt: z.number().positive().default(D.manager.load.highAt),
      lowBelow: z.number().positive().default(D.manager.load.lowBelow),
      hysteresis: z.number().min(0).default(D.manager.load.hysteresis),
    })
    .refine((l) => l.lowBelow < l.highAt, { message: "lowBelow must be below highAt" })
    .default({ ...D.manager.load }),
});

function configSchemaWith(launchers: LauncherRegistry, given: readonly LauncherDefinition[]) {
  return z
    .strictObject({
      redis: z.strictObject({ url: redisUrlField.optional() }).default({}),
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
        const first = seen.get(t.name);
        if (first !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["jobTypes", i, "name"],
            message: `duplicate job type name, already used by jobTypes[${first}]`,
          });
        } else seen.set(t.name, i);
      });
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

/** zod issues -> ConfigIssues with the full path and the offending value. */
export function toConfigIssues(error: z.ZodError, input: unknown, basePath: PropertyKey[] = []): ConfigIssue[] {
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
    // a check may give the value to show instead (a URL with its password hidden)
    const shown = issue.code === "custom" && issue.params && "shown" in issue.params ? issue.params.shown : at.value;
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
  const r = configSchemaWith(registry, given).safeParse(input);
  if (!r.success) throw new InvalidConfigError(source, toConfigIssues(r.error, input));
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
  const r = jobTypeSchemaWith(registry).safeParse(input);
  if (!r.success) throw new InvalidConfigError(source, toConfigIssues(r.error, input));
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
  const r = z.object({ launcher: launcherField(new LauncherRegistry(launchers)) }).safeParse(input);
  if (!r.success) throw new InvalidConfigError(source, toConfigIssues(r.error, input));
  const resolved = resolvedLauncher(r.data.launcher);
  if (!resolved) throw new Error("unreachable: a checked launcher has a definition");
  return resolved;
}

/** The retry policy a job type gives its items. */
export function retryPolicyOf(t: Pick<JobTypeConfig, "maxAttempts" | "backoff">) {
  return { maxAttempts: t.maxAttempts, backoff: { ...t.backoff } };
}
