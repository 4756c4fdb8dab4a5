/**
 * The built-in launcher kinds (inline, fork, spawn, process, http), one definition each, defined (and declared to
 * `LauncherKinds` of @batchjob/core) in the file that implements it. The
 * config is checked against them (`parseConfig(raw, source,
 * builtinLaunchers)`) and `createLauncher` builds from them.
 */
import type { LauncherDefinition } from "@batchjob/core";
import { forkDefinition } from "./fork.js";
import { httpDefinition } from "./http.js";
import { inlineDefinition } from "./inline.js";
import { processDefinition } from "./process.js";
import { spawnDefinition } from "./spawn.js";

/** In the order an unknown kind's error lists them. */
export const builtinLaunchers: readonly LauncherDefinition[] = [
  inlineDefinition,
  forkDefinition,
  spawnDefinition,
  processDefinition,
  httpDefinition,
];
