/**
 * What a config names outside itself, checked by `configFileIssues` with the
 * worker's built-in launchers: job modules (inline, fork), spawn commands (a
 * path, or a name on PATH) and working folders, enqueuer modules; each
 * missing one named by its path in the config, nothing loaded or run.
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { builtinLaunchers } from "../../worker/src/index.js";
import { configFileIssues, parseConfig } from "../src/index.js";

function folder() {
  const dir = mkdtempSync(join(tmpdir(), "bj-paths-"));
  writeFileSync(join(dir, "job.mjs"), "export default async () => {};\n");
  writeFileSync(join(dir, "refill.mjs"), "export default async () => [];\n");
  writeFileSync(join(dir, "run.sh"), "#!/bin/sh\n");
  chmodSync(join(dir, "run.sh"), 0o755);
  writeFileSync(join(dir, "plain.txt"), "");
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin", "my-job"), "#!/bin/sh\n");
  chmodSync(join(dir, "bin", "my-job"), 0o755);
  return dir;
}

function issuesOf(dir: string, launchers: object[], options: { jobTypes?: string[]; enqueuers?: boolean } = {}) {
  const config = parseConfig(
    { jobTypes: launchers.map((launcher, i) => ({ name: `t${i}`, launcher })) },
    "c",
    builtinLaunchers,
  );
  return configFileIssues(config, {
    baseDir: dir,
    launchers: builtinLaunchers,
    env: { PATH: "/usr/bin:/bin" },
    ...options,
  });
}

describe("configFileIssues", () => {
  it("passes modules, commands and folders that are there", () => {
    const dir = folder();
    const issues = issuesOf(dir, [
      { kind: "inline", module: "./job.mjs" },
      { kind: "inline", job: async () => {} },
      { kind: "fork", module: join(dir, "job.mjs") },
      { kind: "spawn", command: "sh" },
      { kind: "spawn", command: "./run.sh" },
      { kind: "spawn", command: "../run.sh", cwd: "bin" },
      { kind: "spawn", command: "my-job", env: { PATH: join(dir, "bin") } },
      { kind: "http", url: "http://127.0.0.1:1/", secret: "0123456789abcdef" },
    ]);
    expect(issues).toEqual([]);
  });

  it("names each missing one by its path", () => {
    const dir = folder();
    const issues = issuesOf(dir, [
      { kind: "inline", module: "./nope.mjs" },
      { kind: "fork", module: "bin" },
      { kind: "spawn", command: "./missing.sh" },
      { kind: "spawn", command: "./plain.txt" },
      { kind: "spawn", command: "batchjob-no-such-command" },
      { kind: "spawn", command: "sh", cwd: "./nodir" },
      { kind: "spawn", command: "my-job" },
    ]);
    expect(issues).toEqual([
      { path: "jobTypes[0].launcher.module", message: `no such file ${join(dir, "nope.mjs")}` },
      { path: "jobTypes[1].launcher.module", message: `${join(dir, "bin")} is not a file` },
      { path: "jobTypes[2].launcher.command", message: `no such file ${join(dir, "missing.sh")}` },
      { path: "jobTypes[3].launcher.command", message: `${join(dir, "plain.txt")} is not executable` },
      {
        path: "jobTypes[4].launcher.command",
        message: "batchjob-no-such-command is not found on PATH (2 folders searched)",
      },
      { path: "jobTypes[5].launcher.cwd", message: `no such folder ${join(dir, "nodir")}` },
      { path: "jobTypes[6].launcher.command", message: "my-job is not found on PATH (2 folders searched)" },
    ]);
  });

  it("checks enqueuer modules unless told not to, and only the job types asked for", () => {
    const dir = folder();
    const config = parseConfig({
      jobTypes: [
        {
          name: "a",
          launcher: { kind: "inline", module: "./gone.mjs" },
          enqueuer: { module: "./refill.mjs", lowWatermark: 1 },
        },
        {
          name: "b",
          launcher: { kind: "fork", module: "./job.mjs" },
          enqueuer: { module: "./no-refill.mjs", lowWatermark: 1 },
        },
      ],
    });
    const all = configFileIssues(config, { baseDir: dir, launchers: builtinLaunchers });
    expect(all).toEqual([
      { path: "jobTypes[0].launcher.module", message: `no such file ${join(dir, "gone.mjs")}` },
      { path: "jobTypes[1].enqueuer.module", message: `no such file ${join(dir, "no-refill.mjs")}` },
    ]);
    // a worker serving b only, which runs no enqueuer
    expect(
      configFileIssues(config, { baseDir: dir, launchers: builtinLaunchers, jobTypes: ["b"], enqueuers: false }),
    ).toEqual([]);
  });
});
