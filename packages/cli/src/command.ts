/** The shape of a CLI command and the config lookup several commands share. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "@batchjob/core";
import type { FlagSpec, Parsed } from "./args.js";
import { type LoadedConfig, loadConfigFile } from "./config-file.js";
import type { Terminal } from "./terminal.js";

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin: NodeJS.ReadableStream;
  /** Where stdout goes: its width, colours, and raw writes for `--watch`. */
  term: Terminal;
}

export interface Command {
  /** One or two words: "worker", "dead list". */
  name: string;
  summary: string;
  /** Full --help text. */
  help: string;
  flags: FlagSpec;
  maxPositionals: number;
  run(p: Parsed, io: Io): Promise<number>;
}

export const CONFIG_NAMES = [
  "batchjob.config.ts",
  "batchjob.config.mjs",
  "batchjob.config.js",
  "batchjob.config.json",
  "batchjob.config.yaml",
  "batchjob.config.yml",
];

/** --config, else BATCHJOB_CONFIG, else batchjob.config.* in the working folder. */
export async function findConfig(flag: string | undefined, io: Io): Promise<LoadedConfig> {
  const file = flag ?? io.env.BATCHJOB_CONFIG ?? CONFIG_NAMES.map((n) => resolve(io.cwd, n)).find((p) => existsSync(p));
  if (!file) {
    throw new UsageError(
      `no config file: pass --config FILE, set BATCHJOB_CONFIG, or create one of ${CONFIG_NAMES.join(", ")} here`,
    );
  }
  return loadConfigFile(resolve(io.cwd, file), io.env);
}

export const CONFIG_FLAG_HELP = `  --config FILE        the deployment's config (.ts .js .mjs .json .yaml);
                       default: $BATCHJOB_CONFIG, else batchjob.config.*
                       in the working folder
  --redis URL          Redis to use (redis://host:port/db,
                       redis-cluster://h1:p1,h2:p2,
                       redis-sentinel://h1:p1,h2:p2/master-name);
                       default: $REDIS_URL, else the config's redis.url,
                       else redis://127.0.0.1:6379`;
