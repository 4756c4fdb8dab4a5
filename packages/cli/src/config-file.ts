/**
 * Loads a configuration file: JSON, YAML, or a JS/TS module whose default
 * export (or `config` export) is the config (TS through tsx). The result is
 * validated by the core schema, each launcher by its kind's definition (the
 * worker's built-ins and the config's own `launchers`), so the manager and
 * `config check` refuse what the worker would; every problem names its path
 * in the file. Environment variables then override the file (REDIS_URL,
 * BATCHJOB_PREFIX).
 */
import { copyFileSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type BatchjobConfig, configFileIssues, InvalidConfigError, parseConfig } from "@batchjob/core";
import { parse as parseYaml } from "yaml";

export interface LoadedConfig {
  config: BatchjobConfig;
  /** The file's folder: module paths in the config resolve from here. */
  baseDir: string;
  path: string;
}

/**
 * Imports a TypeScript config as an ES module through tsx's loader hooks, so
 * it shares the already loaded @batchjob/core (and ioredis) with this process.
 * A `.ts` file is imported from a sibling `.mts` copy: ESM whatever the
 * folder's package.json says.
 */
async function importTypeScript(path: string): Promise<Record<string, unknown>> {
  const { register } = await import("tsx/esm/api");
  const unregister = register();
  const copy = path.endsWith(".ts") ? join(dirname(path), `.${basename(path, ".ts")}.${process.pid}.mts`) : undefined;
  try {
    if (copy) copyFileSync(path, copy);
    return (await import(pathToFileURL(copy ?? path).href)) as Record<string, unknown>;
  } finally {
    if (copy) rmSync(copy, { force: true });
    await unregister();
  }
}

async function readRaw(path: string): Promise<unknown> {
  const ext = extname(path).toLowerCase();
  if (ext === ".json") return JSON.parse(readFileSync(path, "utf8"));
  if (ext === ".yaml" || ext === ".yml") return parseYaml(readFileSync(path, "utf8"));
  let mod: Record<string, unknown>;
  if (ext === ".ts" || ext === ".mts") {
    mod = await importTypeScript(path);
  } else if (ext === ".js" || ext === ".mjs" || ext === ".cjs") {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } else {
    throw new InvalidConfigError(path, [
      { path: "", message: `unknown config file type "${ext}": use .json, .yaml, .yml, .js, .mjs, .cjs, .ts or .mts` },
    ]);
  }
  // a TS/CJS default export can arrive wrapped once more
  let raw = mod.default ?? mod.config;
  if (raw && typeof raw === "object" && "default" in raw && !("jobTypes" in raw))
    raw = (raw as { default: unknown }).default;
  if (raw === undefined) {
    throw new InvalidConfigError(path, [
      { path: "", message: "the module exports no config: export default defineConfig({...})" },
    ]);
  }
  return raw;
}

/** Applies environment overrides to a raw config before validation. */
export function withEnv(raw: unknown, env: NodeJS.ProcessEnv): unknown {
  if (!raw || typeof raw !== "object") return raw;
  const out = { ...(raw as Record<string, unknown>) };
  if (env.REDIS_URL) out.redis = { ...((out.redis as object) ?? {}), url: env.REDIS_URL };
  if (env.BATCHJOB_PREFIX) out.prefix = env.BATCHJOB_PREFIX;
  return out;
}

/**
 * Throws `InvalidConfigError` naming each module, command and folder the
 * loaded config names that is not there (`config check`; the worker, for the
 * types it serves and without enqueuers, which run in the manager).
 */
export async function assertConfigFiles(
  loaded: LoadedConfig,
  options: { jobTypes?: readonly string[] | null; enqueuers?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  const { builtinLaunchers } = await import("@batchjob/worker");
  const issues = configFileIssues(loaded.config, { baseDir: loaded.baseDir, launchers: builtinLaunchers, ...options });
  if (issues.length > 0) throw new InvalidConfigError(loaded.path, issues);
}

export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const path = resolve(file);
  let raw: unknown;
  try {
    raw = await readRaw(path);
  } catch (err) {
    if (err instanceof InvalidConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : err instanceof Error ? err.message : String(err);
    throw new InvalidConfigError(path, [{ path: "", message: `cannot read the config: ${why}` }]);
  }
  const { builtinLaunchers } = await import("@batchjob/worker");
  return { config: parseConfig(withEnv(raw, env), path, builtinLaunchers), baseDir: dirname(path), path };
}
