/**
 * The launcher factory: turns a job type's validated `launcher` spec into a
 * Launcher. Inline jobs given as a module are imported here, so a wrong path
 * or export fails at start; the fork child imports its module itself.
 */
import { resolve } from "node:path";
import { isBatchJob, LauncherFailedError, type LauncherSpec, type Logger } from "@batchjob/core";
import { ForkLauncher } from "./fork.js";
import { HttpLauncher } from "./http.js";
import { InlineLauncher, loadBatchJob } from "./inline.js";
import { SpawnLauncher } from "./spawn.js";
import type { Launcher } from "./types.js";

export interface LauncherContext {
  jobType: string;
  /** Directory `module` and `cwd` are relative to (the config file's). */
  baseDir: string;
  log: Logger;
}

/** Builds the launcher of `spec`; rejects with LauncherFailedError when an inline job cannot be loaded. */
export async function createLauncher(spec: LauncherSpec, ctx: LauncherContext): Promise<Launcher> {
  switch (spec.kind) {
    case "inline": {
      if (spec.job !== undefined) {
        if (!isBatchJob(spec.job)) throw new LauncherFailedError(`launcher.job of ${ctx.jobType} is not a BatchJob`);
        return new InlineLauncher(spec.job, spec.timeoutMs);
      }
      if (spec.module === undefined) {
        throw new LauncherFailedError(`launcher of ${ctx.jobType}: give either job or module`);
      }
      return new InlineLauncher(await loadBatchJob(ctx.baseDir, spec.module, spec.export), spec.timeoutMs);
    }
    case "fork":
      return new ForkLauncher({
        jobType: ctx.jobType,
        module: resolve(ctx.baseDir, spec.module),
        export: spec.export,
        timeoutMs: spec.timeoutMs,
        memoryLimitMb: spec.memoryLimitMb,
        log: ctx.log,
      });
    case "spawn":
      return new SpawnLauncher({
        jobType: ctx.jobType,
        command: spec.command,
        args: spec.args,
        cwd: resolve(ctx.baseDir, spec.cwd ?? "."),
        env: spec.env,
        timeoutMs: spec.timeoutMs,
        log: ctx.log,
      });
    case "http":
      return new HttpLauncher({
        url: spec.url,
        secret: spec.secret,
        headers: spec.headers,
        timeoutMs: spec.timeoutMs,
        log: ctx.log,
      });
  }
}
