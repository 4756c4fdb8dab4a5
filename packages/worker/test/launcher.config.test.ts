/** The built-in launcher kinds as the config sees them: their defaults and the issues of a bad launcher, by path. */
import { parseJobType } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { issuesOf } from "../../../test/harness/config-issues.js";
import { builtinLaunchers } from "../src/index.js";

const jobType = (launcher: unknown) => parseJobType({ name: "a", launcher }, "job type", builtinLaunchers);

describe("built-in launcher kinds", () => {
  it("fill their defaults", () => {
    expect(jobType({ kind: "spawn", command: "php", args: ["job.php"] }).launcher).toEqual({
      kind: "spawn",
      command: "php",
      args: ["job.php"],
      timeoutMs: 300_000,
    });
    expect(jobType({ kind: "fork", module: "./job.mjs" }).launcher).toEqual({
      kind: "fork",
      module: "./job.mjs",
      export: "default",
      memoryLimitMb: 512,
      timeoutMs: 300_000,
    });
    expect(jobType({ kind: "spawn", command: "php" }).launcher).toMatchObject({ args: [] });
  });

  it("says which launcher kinds exist and what a launcher lacks", () => {
    const kind = issuesOf(() => jobType({ kind: "ftp" }));
    expect(kind[0]?.path).toBe("launcher.kind");
    expect(kind[0]?.message).toMatch(/inline.*fork.*spawn.*http/);
    const http = issuesOf(() => jobType({ kind: "http", url: "ftp://x", secret: "short" }));
    expect(http.map((i) => i.path).sort()).toEqual(["launcher.secret", "launcher.url"]);
    const missing = issuesOf(() => jobType({ kind: "fork" }));
    expect(missing).toEqual([{ path: "launcher.module", message: "required" }]);
    const extra = issuesOf(() => jobType({ kind: "spawn", command: "php", shell: true }));
    expect(extra).toEqual([{ path: "launcher.shell", message: "unknown option; check its spelling" }]);
  });

  it("wants exactly one of job or module on an inline launcher", () => {
    expect(() => jobType({ kind: "inline", job: async () => {} })).not.toThrow();
    const both = issuesOf(() => jobType({ kind: "inline" }));
    expect(both[0]?.message).toMatch(/either job .* or module/);
    const notJob = issuesOf(() => jobType({ kind: "inline", job: 5 }));
    expect(notJob[0]).toMatchObject({ path: "launcher.job", value: 5 });
  });
});
