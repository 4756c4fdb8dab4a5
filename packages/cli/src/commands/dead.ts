/** `batchjob dead list|retry|purge TYPE`: the dead-letter set of a job type. */
import { assertJobTypeName, UsageError } from "@batchjob/core";
import { bool, int, type Parsed } from "../args.js";
import type { Command, Io } from "../command.js";
import { CONNECT_FLAGS, CONNECT_HELP, openSession, type Session, withSession } from "../connect.js";
import { table } from "../table.js";

function typeArg(p: Parsed, verb: string): string {
  const t = p.positionals[0];
  if (!t) throw new UsageError(`name the job type: batchjob dead ${verb} TYPE`);
  try {
    assertJobTypeName(t);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return t;
}

function idsOrAll(p: Parsed, verb: string): string[] | undefined {
  const ids = (p.values.id as string[] | undefined) ?? [];
  const all = bool(p, "all");
  if (ids.length > 0 && all) throw new UsageError("give --id or --all, not both");
  if (ids.length === 0 && !all)
    throw new UsageError(`say which items: --id ID (repeatable) or --all; nothing was ${verb}`);
  return all ? undefined : ids;
}

const pick = {
  ...CONNECT_FLAGS,
  id: { type: "string", multiple: true },
  all: { type: "boolean" },
} as const;

export const deadListCommand: Command = {
  name: "dead list",
  summary: "list a job type's dead items, newest first, with their last error",
  help: `Usage: batchjob dead list TYPE [--limit N] [--json] [options]

Options:
  --limit N            how many (default 50)
  --json               JSON array of {id, payload, attempts, error, diedAt}
${CONNECT_HELP}
  -h, --help           this help`,
  flags: { ...CONNECT_FLAGS, limit: { type: "string" }, json: { type: "boolean" } },
  maxPositionals: 1,
  async run(p: Parsed, io: Io) {
    const type = typeArg(p, "list");
    const limit = int(p, "limit", { min: 1 }) ?? 50;
    const s = await openSession(p, io);
    try {
      const items = await s.queue.listDead(type, { limit });
      if (bool(p, "json")) io.out(JSON.stringify(items, null, 2));
      else if (items.length === 0) io.out(`No dead items in ${type}.`);
      else
        io.out(
          table(
            ["ID", "DIED", "ATTEMPTS", "ERROR", "PAYLOAD"],
            items.map((d) => [
              d.id,
              new Date(d.diedAt).toISOString().replace("T", " ").slice(0, 19),
              d.attempts,
              (d.error ?? "-").slice(0, 60),
              JSON.stringify(d.payload).slice(0, 60),
            ]),
          ),
        );
      return 0;
    } finally {
      await s.close();
    }
  },
};

/** `dead retry` and `dead purge`: the same command around a different queue operation. */
function deadChangeCommand(
  verb: "retry" | "purge",
  summary: string,
  flagHelp: string,
  done: string,
  act: (s: Session, type: string, ids: string[] | undefined) => Promise<number>,
): Command {
  return {
    name: `dead ${verb}`,
    summary,
    help: `Usage: batchjob dead ${verb} TYPE (--id ID ... | --all) [options]

Options:
  --id ID              an item to ${flagHelp} (repeat the flag for more)
  --all                every dead item of TYPE
${CONNECT_HELP}
  -h, --help           this help`,
    flags: pick,
    maxPositionals: 1,
    async run(p: Parsed, io: Io) {
      const type = typeArg(p, verb);
      const ids = idsOrAll(p, done);
      return withSession(p, io, async (s) => {
        io.out(`${done} ${await act(s, type, ids)} dead items of ${type}`);
        return 0;
      });
    },
  };
}

export const deadRetryCommand = deadChangeCommand(
  "retry",
  "move dead items back to pending with fresh attempts",
  "retry",
  "retried",
  (s, type, ids) => s.queue.retryDead(type, ids),
);

export const deadPurgeCommand = deadChangeCommand(
  "purge",
  "delete dead items for good",
  "delete",
  "purged",
  (s, type, ids) => s.queue.purgeDead(type, ids),
);
