/**
 * Checks that what a config names outside itself is there: job modules,
 * commands (a path, or a name on PATH), folders. Nothing is loaded or run.
 * `configFileIssues` walks a validated config: each job type's launcher
 * through its kind's `check`, and each enqueuer module; `config check`
 * reports every issue and the worker refuses to start on them.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, resolve } from "node:path";
import type { ConfigIssue } from "../errors.js";
import type { LauncherCheckContext, LauncherDefinition } from "../launcher-definition.js";
import { type BatchjobConfig, parseLauncher } from "./schema.js";

function statOf(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Why the module `module` (relative to `baseDir`) cannot be imported as a file, or undefined. */
export function moduleFileProblem(baseDir: string, module: string): string | undefined {
  const path = resolve(baseDir, module);
  const st = statOf(path);
  if (!st) return `no such file ${path}`;
  if (!st.isFile()) return `${path} is not a file`;
  return undefined;
}

/** Why `folder` (relative to `baseDir`) cannot be a working directory, or undefined. */
export function folderProblem(baseDir: string, folder: string): string | undefined {
  const path = resolve(baseDir, folder);
  const st = statOf(path);
  if (!st) return `no such folder ${path}`;
  if (!st.isDirectory()) return `${path} is not a folder`;
  return undefined;
}

/**
 * Why `command` cannot be started from `cwd`, or undefined: a command with a
 * slash is a path (relative to `cwd`, as spawn takes it); any other is looked
 * up in the folders of `env.PATH`.
 */
export function commandProblem(command: string, cwd: string, env: LauncherCheckContext["env"]): string | undefined {
  if (command.includes("/")) {
    const path = resolve(cwd, command);
    const st = statOf(path);
    if (!st) return `no such file ${path}`;
    if (!st.isFile()) return `${path} is not a file`;
    if (!executable(path)) return `${path} is not executable`;
    return undefined;
  }
  const folders = (env.PATH ?? "").split(delimiter);
  for (const folder of folders) {
    const path = resolve(cwd, folder, command);
    if (statOf(path)?.isFile() && executable(path)) return undefined;
  }
  return `${command} is not found on PATH (${folders.length} folder${folders.length === 1 ? "" : "s"} searched)`;
}

export interface ConfigFileCheck {
  /** Where relative paths resolve from: the config file's folder. */
  baseDir: string;
  /** Launcher kinds besides the config's own (the worker's built-ins); kinds of neither are not checked. */
  launchers: readonly LauncherDefinition[];
  /** Only these job types (a worker's); all when omitted. */
  jobTypes?: readonly string[] | null;
  /** Check enqueuer modules too (they run in the manager). @defaultValue true */
  enqueuers?: boolean;
  /** @defaultValue process.env */
  env?: LauncherCheckContext["env"];
}

/** Every module, command and folder `config` names that is not there, each with its path in the config. */
export function configFileIssues(config: BatchjobConfig, o: ConfigFileCheck): ConfigIssue[] {
  const ctx: LauncherCheckContext = { baseDir: o.baseDir, env: o.env ?? process.env };
  const definitions = [...o.launchers, ...config.launchers];
  const out: ConfigIssue[] = [];
  config.jobTypes.forEach((t, i) => {
    if (o.jobTypes && !o.jobTypes.includes(t.name)) return;
    let resolved: ReturnType<typeof parseLauncher> | undefined;
    try {
      resolved = parseLauncher(t.launcher, definitions);
    } catch {
      // an unknown kind or a bad option: the schema reports it; here only files count
    }
    for (const issue of resolved?.definition.check?.(resolved.options, ctx) ?? []) {
      out.push({ ...issue, path: `jobTypes[${i}].launcher${issue.path ? `.${issue.path}` : ""}` });
    }
    const module = t.enqueuer?.module;
    if ((o.enqueuers ?? true) && module !== undefined) {
      const problem = moduleFileProblem(o.baseDir, module);
      if (problem) out.push({ path: `jobTypes[${i}].enqueuer.module`, message: problem });
    }
  });
  return out;
}
