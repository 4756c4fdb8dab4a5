/**
 * The code under test, loaded from the tree being measured (CHAOS_ROOT, else
 * this repository): its built core for enqueueing and inspecting, and its
 * built CLI for the daemons. The same tree for both, so a chaos run never
 * mixes two releases' Lua scripts or key layouts on one Redis.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as Core from "@batchjob/core";

export type CoreModule = typeof Core;

/** This repository's root. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The job modules of the scenarios. */
export const JOBS_DIR = fileURLToPath(new URL("./jobs/", import.meta.url));

export interface CodeUnderTest {
  root: string;
  /** packages/cli/dist/bin.js of that tree. */
  cli: string;
  core: CoreModule;
}

export async function loadCodeUnderTest(root: string = REPO_ROOT): Promise<CodeUnderTest> {
  const abs = resolve(root);
  const cli = join(abs, "packages/cli/dist/bin.js");
  const coreEntry = join(abs, "packages/core/dist/index.js");
  for (const f of [cli, coreEntry]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: build that tree first (tsc -b)`);
  }
  const core = (await import(pathToFileURL(coreEntry).href)) as CoreModule;
  return { root: abs, cli, core };
}
