/**
 * Validation of launchers against launcher definitions: the `launcher` field
 * of a job type (its kind looked up in a registry, its options checked by
 * that kind's schema) and the `launchers` a code config adds. A launcher
 * validated here remembers its definition and options, so the worker neither
 * looks it up nor parses it again.
 */
import { z } from "zod";
import { type AnyLauncherSpec, isLauncherDefinition, type LauncherDefinition } from "../launcher-definition.js";

/** The kinds a parse knows. `open`: other kinds pass as they are (a parse without the worker's definitions). */
export class LauncherRegistry {
  private readonly byKind = new Map<string, LauncherDefinition>();

  /** The first definition of a kind counts (duplicates are reported by `launchersField`). */
  constructor(
    definitions: Iterable<LauncherDefinition>,
    readonly open = false,
  ) {
    for (const d of definitions) if (!this.byKind.has(d.kind)) this.byKind.set(d.kind, d);
  }

  get(kind: string): LauncherDefinition | undefined {
    return this.byKind.get(kind);
  }

  /** "'inline' | 'fork' | ..." */
  describe(): string {
    return [...this.byKind.keys()].map((k) => `'${k}'`).join(" | ");
  }
}

/** A validated launcher: its definition and the options `create` gets. */
export interface ResolvedLauncher {
  definition: LauncherDefinition;
  options: unknown;
}

/** Launchers validated by `launcherField`, with what validated them. */
const validated = new WeakMap<object, ResolvedLauncher>();

/** The definition and options of a launcher `launcherField` produced; undefined for any other object. */
export function resolvedLauncher(spec: object): ResolvedLauncher | undefined {
  return validated.get(spec);
}

/**
 * The `launcher` field: an object whose `kind` the registry knows, checked by
 * that kind's schema; the output is `{ kind, ...options }`. Issues keep the
 * schema's paths under the field (`launcher.secret`).
 */
export function launcherField(registry: LauncherRegistry) {
  const field = z.looseObject({}).transform((spec, ctx): AnyLauncherSpec => {
    const { kind, ...options } = spec;
    if (typeof kind !== "string" || kind === "") {
      const message = registry.open ? "give the launcher's kind" : `give the launcher's kind: ${registry.describe()}`;
      ctx.addIssue({ code: "custom", path: ["kind"], message, input: kind });
      return z.NEVER;
    }
    const definition = registry.get(kind);
    if (definition === undefined) {
      if (registry.open) return spec as AnyLauncherSpec;
      const message = `unknown launcher kind; expected ${registry.describe()}`;
      ctx.addIssue({ code: "custom", path: ["kind"], message, input: kind });
      return z.NEVER;
    }
    const r = definition.schema.safeParse(options);
    if (!r.success) {
      // the schema's own issues (codes, keys, paths) under this field; zod types raw issues more loosely
      for (const issue of r.error.issues) ctx.addIssue({ ...issue } as z.core.$ZodRawIssue);
      return z.NEVER;
    }
    if (typeof r.data !== "object" || r.data === null || Array.isArray(r.data)) {
      const message = `the schema of launcher kind '${kind}' must give an object`;
      ctx.addIssue({ code: "custom", message, input: spec });
      return z.NEVER;
    }
    const out: AnyLauncherSpec = { ...(r.data as Record<string, unknown>), kind };
    validated.set(out, { definition, options: r.data });
    return out;
  });
  // secret as its kind's schema marks its fields (secrets.ts)
  return field.meta({ secret: "by-kind" });
}

/** The `launchers` of a code config: definitions whose kinds are new (not among `given`, not repeated). */
export function launchersField(given: readonly LauncherDefinition[]) {
  const definition = z.custom<LauncherDefinition>(isLauncherDefinition, {
    message:
      "expected a launcher definition: defineLauncher({ kind, schema, create }) with a kind of A-Z a-z 0-9 . _ - and a zod schema",
  });
  return z
    .array(definition)
    .default([])
    .superRefine((defs, ctx) => {
      const taken = new Map<string, string>(given.map((d) => [d.kind, "a built-in launcher"]));
      defs.forEach((d, i) => {
        const by = taken.get(d.kind);
        if (by !== undefined) {
          const message = `kind '${d.kind}' is already defined by ${by}; give yours another name`;
          ctx.addIssue({ code: "custom", path: [i, "kind"], message, input: d.kind });
        } else taken.set(d.kind, `launchers[${i}]`);
      });
    });
}

/** The launcher definitions a raw config gives (the valid ones; `launchersField` reports the rest). */
export function ownLaunchers(input: unknown): LauncherDefinition[] {
  if (typeof input !== "object" || input === null) return [];
  const launchers = (input as { launchers?: unknown }).launchers;
  return Array.isArray(launchers) ? launchers.filter(isLauncherDefinition) : [];
}
