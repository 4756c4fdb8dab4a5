/**
 * What a launcher kind is: one definition holding the schema of its options
 * and the factory of its launchers. The config validates a job type's
 * `launcher` with its kind's schema; the worker builds the launcher with its
 * `create`. Core defines no kind: the built-ins live in @batchjob/worker
 * (each next to its code), and a code config may add its own (`launchers`).
 */
import type { z } from "zod";
import type { ConfigIssue } from "./errors.js";
import type { Logger } from "./logger.js";

/** What `create` gets besides the options. */
export interface LauncherContext {
  jobType: string;
  /** Directory relative paths of the options (`module`, `cwd`) resolve from: the config file's. */
  baseDir: string;
  log: Logger;
}

/** What a definition's `check` gets besides the options. */
export interface LauncherCheckContext {
  /** Directory relative paths of the options resolve from: the config file's. */
  baseDir: string;
  /** The environment commands are looked up in (PATH): the daemon's. */
  env: Record<string, string | undefined>;
}

/**
 * One launcher kind. `L` is what `create` returns: a `Launcher` of
 * @batchjob/worker (its `defineLauncher` checks that); core never calls it.
 */
export interface LauncherDefinition<K extends string = string, S extends z.ZodType = z.ZodType, L = unknown> {
  /** The `kind` a job type's launcher names: 1 to 64 characters from A-Z a-z 0-9 . _ - */
  readonly kind: K;
  /** The options: every field of the launcher but `kind`; its output must be an object. */
  readonly schema: S;
  /** Builds a job type's launcher from its validated options. May throw (the worker is then not started). */
  create(options: z.output<S>, ctx: LauncherContext): L | Promise<L>;
  /**
   * Optional: checks that what the options name outside the config (a module,
   * a command, a folder) is there, without loading it. `config check` and
   * the worker's start report what it returns; paths are the options'
   * (`module`), the message says what is missing (`no such file /x/y.mjs`).
   */
  check?(options: z.output<S>, ctx: LauncherCheckContext): ConfigIssue[];
}

/**
 * The kinds the type checker knows, by kind, so that `LauncherSpec` and
 * `LauncherInput` are precise: @batchjob/worker adds its built-ins here by
 * declaration merging; with none known, any kind type-checks. A config's own
 * kinds are typed through `defineConfig({ launchers })`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging (see above)
export interface LauncherKinds {}

/** A launcher of any kind, as a config gives it. */
export interface AnyLauncherSpec {
  kind: string;
  [option: string]: unknown;
}

type Flat<T> = { [P in keyof T]: T[P] } & {};

/** The validated launcher of a definition's kind: `kind` plus the schema's output. */
export type LauncherSpecOf<D extends LauncherDefinition> =
  D extends LauncherDefinition<infer K, infer S> ? Flat<{ kind: K } & z.output<S>> : never;
/** A launcher of a definition's kind as written in a config: `kind` plus the schema's input. */
export type LauncherInputOf<D extends LauncherDefinition> =
  D extends LauncherDefinition<infer K, infer S> ? Flat<{ kind: K } & z.input<S>> : never;

type Known = {
  [K in keyof LauncherKinds]: LauncherKinds[K] extends LauncherDefinition<string, infer S>
    ? { spec: Flat<{ kind: K } & z.output<S>>; input: Flat<{ kind: K } & z.input<S>> }
    : never;
}[keyof LauncherKinds];

/** A validated launcher: one of the known kinds (the worker's built-ins), or of any kind when none is known. */
export type LauncherSpec = [Known] extends [never] ? AnyLauncherSpec : Known["spec"];
/** A launcher as written in a config: one of the known kinds, or of any kind when none is known. */
export type LauncherInput = [Known] extends [never] ? AnyLauncherSpec : Known["input"];

const KIND = /^[A-Za-z0-9._-]{1,64}$/;

/** Whether `value` has the shape of a LauncherDefinition (a kind, a zod schema, a create function). */
export function isLauncherDefinition(value: unknown): value is LauncherDefinition {
  if (typeof value !== "object" || value === null) return false;
  const d = value as Record<string, unknown>;
  const schema = d.schema as { safeParse?: unknown } | null | undefined;
  return (
    typeof d.kind === "string" &&
    KIND.test(d.kind) &&
    typeof schema?.safeParse === "function" &&
    typeof d.create === "function"
  );
}
