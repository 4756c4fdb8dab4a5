/**
 * The configuration schema (zod): job types with the seed's fields plus lease,
 * attempts, backoff and launcher; worker and manager options. `parseConfig`
 * and `parseJobType` turn every problem into a `ConfigIssue` naming the field
 * path, the value and what is allowed.
 */
import { z } from "zod";
import { isBatchJob } from "../batch-job.js";
import { type ConfigIssue, InvalidConfigError } from "../errors.js";
import { defaults } from "./defaults.js";

const D = defaults;
const count = (max: number) => z.int().min(0).max(max);
const timeoutMs = z.int().min(1).default(D.launcher.timeoutMs);
const exportName = z.string().min(1).default(D.launcher.export);

const batchJob = z.custom<unknown>(isBatchJob, {
  message: "expected a BatchJob: a function (batch, ctx) or an object with a work(batch, ctx) method",
});

const inlineLauncher = z
  .strictObject({
    kind: z.literal("inline"),
    /** The job itself (JS/TS config files). */
    job: batchJob.optional(),
    /** Or a module that exports it, relative to the config file. */
    module: z.string().min(1).optional(),
    export: exportName,
    timeoutMs,
  })
  .refine((l) => (l.job === undefined) !== (l.module === undefined), {
    message: "give either job (a BatchJob in code) or module (a file exporting one), not both or neither",
  });

const forkLauncher = z.strictObject({
  kind: z.literal("fork"),
  module: z.string().min(1),
  export: exportName,
  memoryLimitMb: z.number().positive().default(D.launcher.memoryLimitMb),
  timeoutMs,
});

const spawnLauncher = z.strictObject({
  kind: z.literal("spawn"),
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  timeoutMs,
});

const httpLauncher = z.strictObject({
  kind: z.literal("http"),
  url: z.url({ protocol: /^https?$/ }),
  /** HMAC-SHA256 key shared with the receiver. */
  secret: z.string().min(16, { message: "secret: use at least 16 characters" }),
  headers: z.record(z.string(), z.string()).optional(),
  timeoutMs,
});

export const launcherSchema = z.discriminatedUnion("kind", [inlineLauncher, forkLauncher, spawnLauncher, httpLauncher]);

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

export const jobTypeSchema = z.strictObject({
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
  launcher: launcherSchema,
  /** A worker stops after this many chunks or seconds (exit reason `limit`). */
  limits: z
    .strictObject({
      maxChunks: z.int().min(1).optional(),
      maxRunSeconds: z.number().positive().optional(),
    })
    .default({}),
  enqueuer: enqueuerSchema.optional(),
});

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

export const configSchema = z
  .strictObject({
    redis: z.strictObject({ url: z.string().min(1).optional() }).default({}),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,32}$/, { message: "use 1 to 32 characters from A-Z a-z 0-9 . _ : -" })
      .default(D.prefix),
    queue: z
      .strictObject({ maxPayloadBytes: z.int().min(64).default(D.queue.maxPayloadBytes) })
      .default({ maxPayloadBytes: D.queue.maxPayloadBytes }),
    history: z.strictObject({ cap: z.int().min(1).default(D.history.cap) }).default({ cap: D.history.cap }),
    jobTypes: z.array(jobTypeSchema).min(1, { message: "define at least one job type" }),
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

export type LauncherSpec = z.output<typeof launcherSchema>;
export type JobTypeConfig = z.output<typeof jobTypeSchema>;
export type JobTypeInput = z.input<typeof jobTypeSchema>;
export type WorkerConfig = z.output<typeof workerSchema>;
export type ManagerConfig = z.output<typeof managerSchema>;
export type BatchjobConfig = z.output<typeof configSchema>;
export type BatchjobConfigInput = z.input<typeof configSchema>;

/** Typed identity for JS/TS config files. */
export function defineConfig(config: BatchjobConfigInput): BatchjobConfigInput {
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
    out.push(at.found ? { path: formatPath(path), message, value: at.value } : { path: formatPath(path), message });
  }
  return out;
}

/** Validates a whole config; throws `InvalidConfigError` listing every issue. */
export function parseConfig(input: unknown, source = "config"): BatchjobConfig {
  const r = configSchema.safeParse(input);
  if (!r.success) throw new InvalidConfigError(source, toConfigIssues(r.error, input));
  return r.data;
}

/** Validates one job type; throws `InvalidConfigError` listing every issue. */
export function parseJobType(input: unknown, source = "job type"): JobTypeConfig {
  const r = jobTypeSchema.safeParse(input);
  if (!r.success) throw new InvalidConfigError(source, toConfigIssues(r.error, input));
  return r.data;
}

/** The retry policy a job type gives its items. */
export function retryPolicyOf(t: Pick<JobTypeConfig, "maxAttempts" | "backoff">) {
  return { maxAttempts: t.maxAttempts, backoff: { ...t.backoff } };
}
