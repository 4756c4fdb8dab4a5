/**
 * SIGHUP reloads a TypeScript or JavaScript config as well as JSON: the
 * module is imported again (a fresh URL), not served from the import cache,
 * so a change in the file is seen on the first reload and on the next.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freshPrefix, redisUrl, waitFor } from "../harness/index.js";
import { spawnCli } from "../harness/processes.js";

const configText = (prefix: string, tickMs: number, cooldownSeconds: number) =>
  `export default {
  prefix: ${JSON.stringify(prefix)},
  jobTypes: [{ name: "t", cooldownSeconds: ${cooldownSeconds}, launcher: { kind: "spawn", command: "true" } }],
  manager: { tickMs: ${tickMs} },
};
`;

describe("reload of a module config", () => {
  it.each(["batchjob.config.ts", "batchjob.config.mjs"])(
    "%s is read again on each SIGHUP",
    async (name) => {
      const prefix = freshPrefix();
      const file = join(mkdtempSync(join(tmpdir(), "bj-reload-")), name);
      writeFileSync(file, configText(prefix, 200, 0));
      const m = spawnCli(["manager", "--config", file], { env: { REDIS_URL: redisUrl(), BATCHJOB_LOG_LEVEL: "info" } });
      await m.waitForOutput(/manager started/, 30_000);
      const reloads = () =>
        m
          .stdout()
          .split("\n")
          .filter((l) => l.includes("config reloaded"));
      // first reload: the tick changed (kept, and said so)
      writeFileSync(file, configText(prefix, 500, 0));
      m.kill("SIGHUP");
      await m.waitForOutput(/config reloaded/);
      expect(JSON.parse(reloads()[0] ?? "{}")).toMatchObject({ kept: ["manager.tickMs"] });
      // second reload: the tick back as it runs, a cooldown changed: nothing kept
      writeFileSync(file, configText(prefix, 200, 5));
      m.kill("SIGHUP");
      await waitFor("the second reload", () => reloads().length === 2);
      expect(JSON.parse(reloads()[1] ?? "{}").kept).toBeUndefined();
      m.kill("SIGTERM");
      expect((await m.exited).code).toBe(0);
    },
    60_000,
  );
});
