/**
 * `defineLauncher`: a launcher kind as one definition, its options' schema and
 * its factory, typed so that `create` gets the schema's output and returns a
 * Launcher. The built-ins (inline, fork, spawn, process, http) are defined this way,
 * each next to its code; a code config adds its own kinds the same way.
 */
import { defaults, durationMs, type LauncherDefinition, z } from "@batchjob/core";
import type { Launcher } from "./types.js";

/** Defines a launcher kind; give it to a config's `launchers` (or, for a built-in, to `builtinLaunchers`). */
export function defineLauncher<const K extends string, S extends z.ZodType>(
  definition: LauncherDefinition<K, S, Launcher>,
): LauncherDefinition<K, S, Launcher> {
  return definition;
}

/** Options several built-in kinds share. */
export const commonOptions = {
  /** Time one chunk may run before it is aborted and its items retried; at most 2^31−1 ms (a Node timer). */
  timeoutMs: durationMs(1).default(defaults.launcher.timeoutMs),
  /** The module export holding the job (inline, fork). */
  export: z.string().min(1).default(defaults.launcher.export),
};
