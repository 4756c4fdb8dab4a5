/**
 * Secrets are marked in the schema, never listed by name at a call site: a
 * field whose zod schema carries `.meta({ secret: ... })` is secret wherever
 * its value goes (the published config, errors, logs). `redactSecrets` walks
 * a value along its schema and replaces what is marked; `secretValuesOf`
 * collects the marked values, for `scrubSecretValues` to hide them from text
 * nobody parsed (a job's error, a log line). URLs: secret-urls.ts.
 */
import type { z } from "zod";
import type { AnyLauncherSpec, LauncherDefinition } from "../launcher-definition.js";
import { resolvedLauncher } from "./launchers.js";
import { redactUrl, urlSecrets } from "./secret-urls.js";

/**
 * How a field is secret (its schema's `.meta({ secret })`):
 * - `true`: the whole value (an HMAC key, a header's value, an env value);
 * - `"url"`: the password of a URL (and of its `password=`-like query values);
 * - `"by-kind"`: a launcher, whose kind's schema marks its own fields; a
 *   launcher of a kind the walk does not know shows only its kind.
 */
export type SecretMark = true | "url" | "by-kind";

declare module "zod/v4/core" {
  interface GlobalMeta {
    /** This field is secret: never stored in Redis, logged or printed (see `SecretMark`). */
    secret?: SecretMark;
  }
}

/** What a secret value is replaced by. */
export const REDACTED = "[redacted]";

type Schema = z.core.$ZodType;
/** The parts of a zod definition the walk reads (zod 4 core). */
interface Def {
  type: string;
  innerType?: Schema;
  shape?: Record<string, Schema>;
  catchall?: Schema;
  valueType?: Schema;
  element?: Schema;
  items?: Schema[];
  rest?: Schema | null;
  options?: Schema[];
  left?: Schema;
  right?: Schema;
  in?: Schema;
  out?: Schema;
  getter?: () => Schema;
}

const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "catch", "readonly", "nonoptional"]);
const MAX_DEPTH = 64;

function defOf(s: Schema): Def {
  return s._zod.def as unknown as Def;
}

/** Whether `s` is a zod 4 schema (a code config's launcher kind might bring another). */
function isZodSchema(s: unknown): s is Schema {
  const zod = (s as { _zod?: { def?: { type?: unknown } } } | null | undefined)?._zod;
  return typeof zod?.def?.type === "string";
}

/** The secret mark of one schema node (its own or inherited through `.meta()` clones). */
export function secretMarkOf(schema: Schema): SecretMark | undefined {
  // the global registry holds `.meta()`; zod keeps it on globalThis, so a config's own zod copy shares it
  const registry = (globalThis as { __zod_globalRegistry?: { get(s: Schema): { secret?: unknown } | undefined } })
    .__zod_globalRegistry;
  const mark = registry?.get(schema)?.secret;
  return mark === true || mark === "url" || mark === "by-kind" ? mark : undefined;
}

/** The schemas directly inside `s` (its wrapped type, fields, elements, options...). */
function children(s: Schema): Schema[] {
  const d = defOf(s);
  const out: (Schema | null | undefined)[] = [d.innerType, d.catchall, d.valueType, d.element, d.rest, d.left, d.right];
  out.push(d.in, d.out, ...(d.items ?? []), ...(d.options ?? []), ...Object.values(d.shape ?? {}));
  if (d.type === "lazy" && d.getter) out.push(d.getter());
  return out.filter((c): c is Schema => c != null);
}

/** Whether anything in `schema` is marked secret. */
export function containsSecret(schema: Schema, seen = new WeakSet<Schema>()): boolean {
  if (seen.has(schema)) return false;
  seen.add(schema);
  if (secretMarkOf(schema) !== undefined) return true;
  return children(schema).some((c) => containsSecret(c, seen));
}

export interface RedactOptions {
  /**
   * The definition of a launcher kind, for launchers `parseConfig` did not
   * validate (a raw config in an error message). Validated launchers carry
   * their definition.
   */
  kinds?: (kind: string) => LauncherDefinition | undefined;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A copy of `value` with every field `schema` marks secret replaced: `true`
 * by "[redacted]", `"url"` by the URL with its password "***", a launcher by
 * its kind's schema. `value` may be a parsed config or a raw one (an error's
 * value): where it does not have the shape the schema expects and the schema
 * holds a secret there, the whole value is redacted. Functions stay as they
 * are (the caller shows them as it likes).
 */
export function redactSecrets(schema: Schema, value: unknown, options: RedactOptions = {}): unknown {
  if (!isZodSchema(schema)) throw new TypeError("redactSecrets: expected a zod 4 schema");
  return walk(schema, value, options, 0);
}

/** `found`: where the secret values replaced are collected (`secretValuesOf`). */
function walk(s: Schema, v: unknown, o: RedactOptions, depth: number, found?: string[]): unknown {
  if (v === undefined || v === null) return v;
  if (depth > MAX_DEPTH) return REDACTED;
  const mark = secretMarkOf(s);
  if (mark === true) {
    if (found) collectStrings(v, found, depth);
    return REDACTED;
  }
  if (mark === "url") {
    if (found && typeof v === "string") found.push(...urlSecrets(v));
    return typeof v === "string" ? redactUrl(v) : REDACTED;
  }
  if (mark === "by-kind") return redactLauncher(v, o, depth, found);
  const d = defOf(s);
  const next = (c: Schema, x: unknown) => walk(c, x, o, depth + 1, found);
  // a value of another shape than expected (a raw config): redacted whole if a secret could be inside
  const mismatch = () => (containsSecret(s) ? REDACTED : v);
  if (WRAPPERS.has(d.type) && d.innerType) return next(d.innerType, v);
  switch (d.type) {
    case "lazy":
      return d.getter ? next(d.getter(), v) : v;
    case "pipe": {
      // the output's shape, then the input's (a transform's output has none)
      const out = d.out && defOf(d.out).type !== "transform" ? next(d.out, v) : v;
      return d.in ? next(d.in, out) : out;
    }
    case "intersection":
      return d.left && d.right ? next(d.right, next(d.left, v)) : v;
    case "union":
      return walkUnion(s, d.options ?? [], v, next);
    case "object": {
      if (!isPlainObject(v)) return mismatch();
      const shape = d.shape ?? {};
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const field = Object.hasOwn(shape, k) ? shape[k] : d.catchall;
        out[k] = field ? next(field, x) : x;
      }
      return out;
    }
    case "record": {
      if (!isPlainObject(v)) return mismatch();
      const valueType = d.valueType;
      return valueType ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, next(valueType, x)])) : v;
    }
    case "array": {
      if (!Array.isArray(v)) return mismatch();
      const element = d.element;
      return element ? v.map((x) => next(element, x)) : v;
    }
    case "tuple": {
      if (!Array.isArray(v)) return mismatch();
      return v.map((x, i) => {
        const item = d.items?.[i] ?? d.rest;
        return item ? next(item, x) : x;
      });
    }
    default:
      return v;
  }
}

/** The innermost schema under wrappers, pipes' inputs and lazies: what shape a value of `s` has. */
function shapeOf(s: Schema, depth = 0): string {
  const d = defOf(s);
  if (depth > MAX_DEPTH) return d.type;
  if (WRAPPERS.has(d.type) && d.innerType) return shapeOf(d.innerType, depth + 1);
  if (d.type === "pipe" && d.in) return shapeOf(d.in, depth + 1);
  if (d.type === "lazy" && d.getter) return shapeOf(d.getter(), depth + 1);
  return d.type;
}

/** A union: every option the value could be (by shape) redacts it in turn; none: redacted whole if secret. */
function walkUnion(s: Schema, options: Schema[], v: unknown, next: (c: Schema, x: unknown) => unknown): unknown {
  const kind = isPlainObject(v) ? "object" : Array.isArray(v) ? "array" : "scalar";
  const fits = options.filter((opt) => {
    const t = shapeOf(opt);
    if (t === "object" || t === "record") return kind === "object";
    if (t === "array" || t === "tuple") return kind === "array";
    if (t === "union" || t === "intersection" || t === "any" || t === "unknown" || t === "custom") return true;
    return kind === "scalar";
  });
  if (fits.length === 0) return containsSecret(s) ? REDACTED : v;
  return fits.reduce((acc, opt) => next(opt, acc), v);
}

/** A launcher: its kind's schema marks its fields; of an unknown kind, every option is redacted. */
function redactLauncher(v: unknown, o: RedactOptions, depth: number, found?: string[]): unknown {
  if (!isPlainObject(v)) return REDACTED;
  const { kind, ...options } = v;
  const definition = resolvedLauncher(v)?.definition ?? (typeof kind === "string" ? o.kinds?.(kind) : undefined);
  if (definition === undefined || definition.kind !== kind || !isZodSchema(definition.schema)) {
    return { kind, ...Object.fromEntries(Object.keys(options).map((k) => [k, REDACTED])) };
  }
  const redacted = walk(definition.schema, options, o, depth + 1, found);
  return isPlainObject(redacted) ? { kind, ...redacted } : { kind, options: REDACTED };
}

/**
 * `value`, found at `path` of the raw `input` that `root` validates (an
 * issue's value), redacted as the schema marks that place: the value of a
 * secret field, or of a field inside one, is "[redacted]"; a URL loses its
 * password; a value holding secret fields loses those. For error messages.
 */
export function redactAt(
  root: Schema,
  input: unknown,
  path: readonly PropertyKey[],
  value: unknown,
  options: RedactOptions = {},
): unknown {
  if (!isZodSchema(root)) return value;
  return walkPath(root, input, path, value, options, 0);
}

function walkPath(
  s: Schema,
  at: unknown,
  path: readonly PropertyKey[],
  value: unknown,
  o: RedactOptions,
  depth: number,
): unknown {
  if (path.length === 0) return walk(s, value, o, depth);
  if (depth > MAX_DEPTH) return REDACTED;
  const mark = secretMarkOf(s);
  if (mark === true) return REDACTED;
  if (mark === "url") return typeof value === "string" ? redactUrl(value) : REDACTED;
  const [seg, ...rest] = path;
  const child =
    isPlainObject(at) || Array.isArray(at) ? (at as Record<PropertyKey, unknown>)[seg as string] : undefined;
  const down = (c: Schema, x: unknown, p: readonly PropertyKey[]) => walkPath(c, x, p, value, o, depth + 1);
  if (mark === "by-kind") {
    const kind = isPlainObject(at) ? at.kind : undefined;
    if (seg === "kind" && rest.length === 0) return value;
    const definition = isPlainObject(at) ? (resolvedLauncher(at)?.definition ?? o.kinds?.(String(kind))) : undefined;
    if (definition === undefined || definition.kind !== kind || !isZodSchema(definition.schema)) return REDACTED;
    return down(definition.schema, at, path);
  }
  const d = defOf(s);
  if (WRAPPERS.has(d.type) && d.innerType) return down(d.innerType, at, path);
  switch (d.type) {
    case "lazy":
      return d.getter ? down(d.getter(), at, path) : value;
    case "pipe":
      // a raw value: the input's shape
      return d.in ? down(d.in, at, path) : value;
    case "intersection":
    case "union": {
      const options = d.type === "union" ? (d.options ?? []) : [d.left, d.right].filter((x): x is Schema => !!x);
      // each option redacts in turn: what any of them marks is hidden
      return options.reduce<unknown>((acc, opt) => walkPath(opt, at, path, acc, o, depth + 1), value);
    }
    case "object": {
      const shape = d.shape ?? {};
      const field = typeof seg === "string" && Object.hasOwn(shape, seg) ? shape[seg] : d.catchall;
      return field ? down(field, child, rest) : value;
    }
    case "record":
      return d.valueType ? down(d.valueType, child, rest) : value;
    case "array":
      return d.element ? down(d.element, child, rest) : value;
    case "tuple": {
      const item = typeof seg === "number" ? (d.items?.[seg] ?? d.rest) : undefined;
      return item ? down(item, child, rest) : value;
    }
    default:
      return value;
  }
}

function collectStrings(v: unknown, found: string[], depth: number): void {
  if (depth > MAX_DEPTH) return;
  if (typeof v === "string") found.push(v);
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, found, depth + 1);
  else if (isPlainObject(v)) for (const x of Object.values(v)) collectStrings(x, found, depth + 1);
}

/**
 * Shortest secret value `scrubSecretValues` hides in free text: a shorter
 * one (an env value such as "prod") would garble every text it appears in,
 * and is no credential.
 */
export const MIN_SCRUBBED_LENGTH = 8;

function usable(values: string[]): string[] {
  return [...new Set(values)].filter((v) => v.length >= MIN_SCRUBBED_LENGTH).sort((a, b) => b.length - a.length);
}

/**
 * The values of `value` that `schema` marks secret (of at least
 * MIN_SCRUBBED_LENGTH characters): what a daemon hides from the text it did
 * not write (a job's error, a child's stderr) with `scrubSecretValues`.
 */
export function secretValuesOf(schema: Schema, value: unknown, options: RedactOptions = {}): string[] {
  if (!isZodSchema(schema)) return [];
  const found: string[] = [];
  walk(schema, value, options, 0, found);
  return usable(found);
}

/** The secret values of one launcher, as `secretValuesOf`. */
export function launcherSecretValues(spec: AnyLauncherSpec, options: RedactOptions = {}): string[] {
  const found: string[] = [];
  redactLauncher(spec, options, 0, found);
  return usable(found);
}

/** The secret values of a URL (its password, credential query values), as `secretValuesOf`. */
export function urlSecretValues(url: string | undefined): string[] {
  return url === undefined ? [] : usable(urlSecrets(url));
}

/** `text` with every occurrence of `values` (and of their JSON-escaped form) replaced by "[redacted]". */
export function scrubSecretValues(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of values) {
    if (out.includes(v)) out = out.split(v).join(REDACTED);
    const escaped = JSON.stringify(v).slice(1, -1);
    if (escaped !== v && out.includes(escaped)) out = out.split(escaped).join(REDACTED);
  }
  return out;
}

/** A launcher with its secret fields redacted (its definition's marks; every option when its kind is unknown). */
export function redactLauncherSpec(spec: AnyLauncherSpec, options: RedactOptions = {}): AnyLauncherSpec {
  return redactLauncher(spec, options, 0) as AnyLauncherSpec;
}
