#!/usr/bin/env node
// Installs the workspace's dependencies from the lockfile when they are missing
// or older than the lockfile, so `npm test` and `npm run demo` work on a fresh
// clone with only Node.js and npm. Uses pnpm when it is on PATH at the pinned
// version, else runs the pinned pnpm through npx.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [major] = process.versions.node.split(".").map(Number);
if (major < 20) {
  console.error(`batchjob needs Node.js 20 or newer; this is ${process.version}.`);
  process.exit(1);
}
const state = join(root, "node_modules", ".modules.yaml");
const lock = join(root, "pnpm-lock.yaml");
if (existsSync(state) && statSync(state).mtimeMs >= statSync(lock).mtimeMs) process.exit(0);

const wanted = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager.replace(/^pnpm@/, "");
let cmd = ["npx", "--yes", `pnpm@${wanted}`];
try {
  const have = execFileSync("pnpm", ["--version"], { encoding: "utf8" }).trim();
  if (have === wanted) cmd = ["pnpm"];
} catch {
  // no pnpm on PATH: npx fetches the pinned one
}
console.error(`installing dependencies with ${cmd.join(" ")} install --frozen-lockfile ...`);
const r = spawnSync(cmd[0], [...cmd.slice(1), "install", "--frozen-lockfile"], { cwd: root, stdio: "inherit" });
process.exit(r.status ?? 1);
