/** `batchjob config check FILE`: validates a config file and prints each problem with its path. */
import { formatConfigIssue, InvalidConfigError, UsageError } from "@batchjob/core";
import type { Command } from "../command.js";
import { assertConfigFiles, loadConfigFile } from "../config-file.js";

export const configCheckCommand: Command = {
  name: "config check",
  summary: "validate a config file; print each problem with its path",
  help: `Usage: batchjob config check FILE

Loads FILE (.ts .js .mjs .json .yaml) as the daemons would and validates it:
every option, then that the job modules, commands (a path, or a name on
PATH), spawn working folders and enqueuer modules it names are there.
Prints "ok" with a summary, or every problem as "path: what is wrong (got
value)", and exits 1. The daemons refuse a bad file with the same messages
(the worker checks the files of the job types it serves).`,
  flags: {},
  maxPositionals: 1,
  async run(p, io) {
    const file = p.positionals[0];
    if (!file) throw new UsageError("name the config file: batchjob config check FILE");
    try {
      const loaded = await loadConfigFile(file.startsWith("/") ? file : `${io.cwd}/${file}`, io.env);
      await assertConfigFiles(loaded, { env: io.env });
      const { config, path } = loaded;
      io.out(
        `ok: ${path}\n  ${config.jobTypes.length} job types: ${config.jobTypes.map((t) => `${t.name} (${t.launcher.kind})`).join(", ")}\n  prefix ${config.prefix}, manager tick ${config.manager.tickMs} ms, allocator ${config.manager.allocator}, worker slots ${config.worker.slots}`,
      );
      return 0;
    } catch (err) {
      if (!(err instanceof InvalidConfigError)) throw err;
      io.err(`${file}: ${err.issues.length} problem${err.issues.length > 1 ? "s" : ""}`);
      for (const i of err.issues) io.err(`  - ${formatConfigIssue(i)}`);
      return 1;
    }
  },
};
