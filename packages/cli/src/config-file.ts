/**
 * Loads a configuration file: JSON, YAML, or a JS/TS module whose default
 * export (or `config` export) is the config (TS through tsx). The result is
 * validated by the core schema, each launcher by its kind's definition (the
 * worker's built-ins and the config's own `launchers`), so the manager and
 * `config check` refuse what the worker would; every problem names its path
 * in the file. Environment variables then override the file (REDIS_URL,
 * BATCHJOB_PREFIX). A JS/TS config imports `@batchjob/core` from the user's
 * own node_modules, or from the CLI's installation when it has none there
 * (`config-hooks.ts`).
 */
import { readFileSync } from "node:fs";
import { register } from "node:module";
import { dirname, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type BatchjobConfig, configFileIssues, InvalidConfigError, parseConfig } from "@batchjob/core";
import { parse as parseYaml } from "yaml";
import { CONFIG_SUFFIX, type ConfigHooksData } from "./config-hooks.js";

export interface LoadedConfig {
  config: BatchjobConfig;
  /** The file's folder: module paths in the config resolve from here. */
  baseDir: string;
  path: string;
}

let hooksRegistered = false;
/**
 * Imports of JS/TS configs so far: a module is imported once per URL, so a
 * reload (SIGHUP) imports the file again under a fresh query (`?reload=N`).
 */
let imports = 0;

/** The query that makes the next import of a config module a fresh one (none for the first). */
function freshQuery(): string {
  const n = imports++;
  return n === 0 ? "" : `?reload=${n}`;
}

/**
 * Registers the config hooks (`config-hooks.ts`) once per process, before
 * tsx's: tsx's hooks then run first and hand the config's URL on to ours.
 */
function registerConfigHooks(): void {
  if (hooksRegistered) return;
  const data: ConfigHooksData = { fallbackParentURL: import.meta.url };
  register("./config-hooks.js", { parentURL: import.meta.url, data });
  hooksRegistered = true;
}

/**
 * Imports a TypeScript config as an ES module through tsx's loader hooks, so
 * it shares the already loaded @batchjob/core (and ioredis) with this process.
 * A `.ts` file is imported under a `.mts` URL that the config hooks read from
 * the file itself: ESM whatever the folder's package.json says, and nothing
 * written beside it.
 */
async function importTypeScript(path: string): Promise<Record<string, unknown>> {
  const { register: registerTsx } = await import("tsx/esm/api");
  const unregister = registerTsx();
  const url = pathToFileURL(path).href;
  try {
    const query = freshQuery();
    return (await import(path.endsWith(".ts") ? `${url}${CONFIG_SUFFIX}${query}` : `${url}${query}`)) as Record<
      string,
      unknown
    >;
  } finally {
    await unregister();
  }
}

async function readRaw(path: string): Promise<unknown> {
  const ext = extname(path).toLowerCase();
  if (ext === ".json") return JSON.parse(readFileSync(path, "utf8"));
  if (ext === ".yaml" || ext === ".yml") return parseYaml(readFileSync(path, "utf8"));
  let mod: Record<string, unknown>;
  if ([".ts", ".mts", ".js", ".mjs", ".cjs"].includes(ext)) registerConfigHooks();
  if (ext === ".ts" || ext === ".mts") {
    mod = await importTypeScript(path);
  } else if (ext === ".js" || ext === ".mjs" || ext === ".cjs") {
    mod = (await import(`${pathToFileURL(path).href}${freshQuery()}`)) as Record<string, unknown>;
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
