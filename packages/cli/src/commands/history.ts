/** `batchjob history`: finished workers, newest first. */
import { assertJobTypeName, UsageError } from "@batchjob/core";
import { readHistory } from "@batchjob/http";
import { bool, int, str } from "../args.js";
import type { Command } from "../command.js";
import { CONNECT_FLAGS, CONNECT_HELP, openSession } from "../connect.js";
import { historyTable } from "../history-table.js";

export const historyCommand: Command = {
  name: "history",
  summary: "list finished workers, newest first (times, counts, peak memory, exit reason)",
  help: `Usage: batchjob history [--type TYPE] [--limit N] [--json] [options]

Lists finished workers, newest first: when each finished (month, day, hour
and minute in UTC), its job type and host, how long it ran, the items it
did, failed and retried, its peak memory and why it ended. The table fits the
terminal ($COLUMNS, else its width, else 80 columns); long cells end in "…".
--json has every field (start time, pid, chunks, the whole error).

Options:
  --type TYPE          only workers of this job type
  --limit N            how many (default 20)
  --json               JSON array of WorkerHistoryItem
${CONNECT_HELP}
  -h, --help           this help`,
  flags: { ...CONNECT_FLAGS, type: { type: "string" }, limit: { type: "string" }, json: { type: "boolean" } },
  maxPositionals: 0,
  async run(p, io) {
    const jobType = str(p, "type");
    if (jobType !== undefined) {
      try {
        assertJobTypeName(jobType);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    }
    const limit = int(p, "limit", { min: 1 }) ?? 20;
    const s = await openSession(p, io);
    try {
      // a corrupt entry is skipped and named on stderr (exit 1), never a stack trace
      const problems: string[] = [];
      const key = jobType ? s.keys.type(jobType).history : s.keys.history;
      const items = await readHistory(s.client, key, limit, problems);
      if (bool(p, "json")) io.out(JSON.stringify(items, null, 2));
      else if (items.length === 0) io.out("No finished workers yet.");
      else io.out(historyTable(items, io.term.width(), io.term.colors));
      for (const l of problems) io.err(`batchjob history: ${l}`);
      return problems.length > 0 ? 1 : 0;
    } finally {
      await s.close();
    }
  },
};
