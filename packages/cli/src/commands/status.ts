/**
 * `batchjob status`: job types, load level, hosts and recent history; --json,
 * --watch. Exits 1 when something could not be read, else 3 when the
 * deployment is not serving (no manager is leader, or no worker host is
 * alive), else 0, so it can serve as a probe.
 */
import { collectStatus, type StatusReport } from "@batchjob/http";
import { bool, int } from "../args.js";
import type { Command } from "../command.js";
import { CONNECT_FLAGS, CONNECT_HELP, openSession } from "../connect.js";
import { historyTable } from "../history-table.js";
import { ago, bytes, table } from "../table.js";
import { type Colors, plainColors, truncate } from "../terminal.js";
import { type WatchMode, watch } from "../watch.js";

/** The exit code when all was read but no manager is leader or no worker host is alive. */
export const EXIT_NOT_SERVING = 3;

/** Why the deployment is not serving, one line each; empty when it is. */
export function notServing(r: StatusReport): string[] {
  const why: string[] = [];
  if (!r.leader) why.push("no leader: no manager holds the leader lease");
  if (!r.hosts.some((h) => h.alive)) why.push("no live worker host");
  return why;
}

/** The exit code of one `status`: 1 for problems, 3 when not serving, else 0. */
export function statusExitCode(r: StatusReport): number {
  if (r.problems.length > 0) return 1;
  return notServing(r).length > 0 ? EXIT_NOT_SERVING : 0;
}

const LEVEL_COLOR = { high: "red", medium: "yellow", low: "green" } as const;

export function renderStatus(r: StatusReport, width = Number.POSITIVE_INFINITY, colors: Colors = plainColors): string {
  const w = Number.isFinite(width) ? width : undefined;
  const fit = (s: string) => (w === undefined ? s : truncate(s, w));
  const count = (n: number | null) => n ?? "?";
  const leader = r.leader ? `leader ${r.leader}` : "leader none";
  const load = r.load
    ? `${r.load.level} (mean load ${r.load.value.toFixed(2)} over ${r.load.hosts} hosts)`
    : "unknown (no manager has run)";
  const level = r.load ? colors[LEVEL_COLOR[r.load.level]] : colors.yellow;
  const parts = [
    // the leader's id is the long part: it is cut first
    colors.bold(fit(`batchjob status  prefix ${r.prefix}  ${leader}`)),
    `load level ${level(fit(`load level ${load}`).slice("load level ".length))}`,
    "",
    r.jobTypes.length === 0
      ? "No job types yet."
      : table(
          ["TYPE", "PENDING", "WAIT", "LEASED", "DELAYED", "DEAD", "WORKERS", "LAST DECISION"],
          r.jobTypes.map((t) => [
            t.unavailable !== null
              ? { text: `${t.name} (unavailable)`, paint: colors.red }
              : t.paused
                ? { text: `${t.name} PAUSED`, paint: colors.yellow }
                : t.name,
            count(t.pending),
            // the oldest pending item's wait since its enqueue
            { text: ago(t.oldestPendingAgeMs), paint: (x: string) => x, numeric: true },
            count(t.leased),
            count(t.delayed),
            t.dead ? { text: String(t.dead), paint: colors.red, numeric: true } : count(t.dead),
            `${t.running}/${t.target ?? "-"}`,
            t.alerts.length > 0
              ? {
                  text: `alert ${t.alerts.map((a) => a.alert).join(", ")}; ${t.decision?.reason ?? "-"}`,
                  paint: colors.red,
                }
              : (t.decision?.reason ?? "-"),
          ]),
          { width: w, head: colors.bold, fixed: ["WORKERS"] },
        ),
    "",
    r.hosts.length === 0
      ? "No worker hosts."
      : table(
          ["HOST", "HEARTBEAT", "LOAD", "CPU", "FREE MEM", "SLOTS", "RUNNING"],
          r.hosts.map((h) => [
            {
              text: `${h.id}${h.alive ? "" : " (dead)"}${h.draining ? " (draining)" : ""}`,
              paint: !h.alive ? colors.red : h.draining ? colors.yellow : (s: string) => s,
            },
            ago(h.beatAgeMs),
            h.load.loadAvg.toFixed(2),
            `${Math.round(h.load.cpu * 100)}%`,
            bytes(h.load.freeMemBytes),
            h.slots,
            Object.entries(h.running)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => `${k}:${v}`)
              .join(" ") || "-",
          ]),
          { width: w, head: colors.bold, fixed: ["HEARTBEAT", "LOAD", "CPU", "FREE MEM"] },
        ),
  ];
  if (r.history.length > 0) {
    parts.push("", "Recent workers:", historyTable(r.history, w, colors));
  }
  return parts.join("\n");
}

export const statusCommand: Command = {
  name: "status",
  summary: "show queues, workers against target, decisions, load, hosts and history",
  help: `Usage: batchjob status [options]

Shows, per job type: pending, leased, delayed and dead items, running
workers against the manager's target, and the last scaling decision with
its reason; the load level and the leader; each host's heartbeat age, load
and slots; and the most recent finished workers. Tables fit the terminal
($COLUMNS, else its width, else 80 columns); long cells end in "…".

Exit status, for use as a probe:
  0  all was read, a manager is leader and a worker host is alive
  1  something could not be read: a value in Redis that is not what
     batchjob writes, or on a Redis Cluster a slot range that is down
     (named on stderr, one line each; the rest is shown), or no Redis
  3  all was read, but no manager is leader or no worker host is alive
     (said on stderr)

Options:
${CONNECT_HELP}
  --json               print one JSON document (shape: StatusReport in
                       packages/cli/README.md); with --watch, one a line
  --watch              refresh until Ctrl-C (exit 0); on a terminal, in
                       place on the alternate screen
  --interval SEC       refresh interval for --watch (default 2)
  --history N          recent workers to show (default 10)
  -h, --help           this help`,
  flags: {
    ...CONNECT_FLAGS,
    json: { type: "boolean" },
    watch: { type: "boolean" },
    interval: { type: "string" },
    history: { type: "string" },
  },
  maxPositionals: 0,
  async run(p, io) {
    const historyLimit = int(p, "history", { min: 0 }) ?? 10;
    const interval = int(p, "interval", { min: 1 }) ?? 2;
    const json = bool(p, "json");
    const s = await openSession(p, io);
    try {
      if (bool(p, "watch")) {
        const mode: WatchMode = json ? "ndjson" : io.term.isTTY ? "screen" : "plain";
        const { colors } = io.term;
        return await watch(io.term, { everyMs: interval * 1000, mode }, async () => {
          const r = await collectStatus(s, { historyLimit });
          if (mode === "ndjson") return JSON.stringify(r);
          const notes = [
            ...r.problems.map((l) => colors.yellow(`problem: ${l}`)),
            ...(r.problems.length === 0 ? notServing(r).map((l) => colors.yellow(l)) : []),
          ];
          return [renderStatus(r, io.term.width(), colors), ...(notes.length > 0 ? ["", ...notes] : [])].join("\n");
        });
      }
      const r = await collectStatus(s, { historyLimit });
      io.out(json ? JSON.stringify(r, null, 2) : renderStatus(r, io.term.width(), io.term.colors));
      const code = statusExitCode(r);
      for (const l of code === 1 ? r.problems : notServing(r)) io.err(`batchjob status: ${l}`);
      return code;
    } finally {
      await s.close();
    }
  },
};
