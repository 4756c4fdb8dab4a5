/**
 * The launcher factory: looks a job type's `launcher` up among the launcher
 * definitions by its kind (the built-ins and a config's own), validates it
 * with that kind's schema unless `parseConfig` already did, and calls the
 * definition's `create`.
 */
import {
  type AnyLauncherSpec,
  type LauncherContext,
  type LauncherDefinition,
  LauncherFailedError,
  parseLauncher,
} from "@batchjob/core";
import { builtinLaunchers } from "./builtin.js";
import type { Launcher } from "./types.js";

function isLauncher(value: unknown): value is Launcher {
  if (typeof value !== "object" || value === null) return false;
  const l = value as Record<string, unknown>;
  return (
    typeof l.kind === "string" &&
    (l.payloads === "parsed" || l.payloads === "json" || l.payloads === "text") &&
    typeof l.run === "function" &&
    typeof l.close === "function"
  );
}

/**
 * Builds the launcher of `spec`. `launchers`: kinds besides the built-ins (a
 * config's `launchers`). Rejects with InvalidConfigError when the spec is not
 * valid (its kind unknown, an option wrong), or with what `create` throws
 * (LauncherFailedError when an inline job cannot be loaded).
 */
export async function createLauncher(
  spec: AnyLauncherSpec | { kind: string },
  ctx: LauncherContext,
  launchers: readonly LauncherDefinition[] = [],
): Promise<Launcher> {
  const source = `launcher of job type ${ctx.jobType}`;
  const { definition, options } = parseLauncher(spec as AnyLauncherSpec, [...builtinLaunchers, ...launchers], source);
  const launcher = await definition.create(options, ctx);
  if (!isLauncher(launcher)) {
    throw new LauncherFailedError(
      `${source}: create() of kind '${definition.kind}' returned no Launcher (an object with kind, payloads, run and close)`,
    );
  }
  return launcher;
}
