/** `batchjob status`: job types, load level, hosts and recent history; --json, --watch. */
import { bool, int } from "../args.js";
import type { Command, Io } from "../command.js";
import { CONNECT_FLAGS, CONNECT_HELP, openSession } from "../connect.js";
import { collectStatus, type StatusReport } from "../status-data.js";
import { ago, bytes, table } from "../table.js";

export function renderStatus(r: StatusReport): string {
  const load = r.load
    ? `${r.load.level} (mean load ${r.load.value.toFixed(2)} over ${r.load.hosts} hosts)`
    : "unknown (no manager has run)";
  const count = (n: number | null) => n ?? "?";
  const parts = [
    `batchjob status  prefix ${r.prefix}  leader ${r.leader ?? "none"}  load level ${load}`,
    "",
    r.jobTypes.length === 0
      ? "No job types yet."
      : table(
          ["TYPE", "PENDING", "LEASED", "DELAYED", "DEAD", "WORKERS", "LAST DECISION"],
          r.jobTypes.map((t) => [
            t.unavailable === null ? t.name : `${t.name} (unavailable)`,
            count(t.pending),
            count(t.leased),
            count(t.delayed),
            count(t.dead),
            `${t.running}/${t.target ?? "-"}`,
            t.decision?.reason ?? "-",
          ]),
        ),
    "",
    r.hosts.length === 0
      ? "No worker hosts."
      : table(
          ["HOST", "HEARTBEAT", "LOAD", "CPU", "FREE MEM", "SLOTS", "RUNNING"],
          r.hosts.map((h) => [
            `${h.id}${h.alive ? "" : " (dead)"}${h.draining ? " (draining)" : ""}`,
            ago(h.beatAgeMs),
            h.load.loadAvg.toFixed(2),
            `${Math.round(h.load.cpu * 100)}%`,
            bytes(h.load.freeMemBytes),
            h.slots,
            Object.entries(h.running)
              .map(([k, v]) => `${k}:${v}`)
              .join(" ") || "-",
          ]),
        ),
  ];
  if (r.history.length > 0) {
    parts.push(
      "",
      "Recent workers:",
      table(
        ["FINISHED", "TYPE", "HOST", "CHUNKS", "DONE", "FAILED", "RETRIED", "PEAK MEM", "REASON"],
        r.history.map((h) => [
          h.finishedAt.replace("T", " ").slice(0, 19),
          h.jobType,
          h.hostId,
          h.chunks,
          h.itemsDone,
          h.itemsFailed,
          h.itemsRetried,
          bytes(h.peakMemoryBytes),
          h.exitReason,
        ]),
      ),
    );
  }
  return parts.join("\n");
}

async function watch(io: Io, everyMs: number, render: () => Promise<string>): Promise<number> {
  let stop = false;
  const onSig = () => {
    stop = true;
  };
  process.once("SIGINT", onSig);
  process.once("SIGTERM", onSig);
  try {
    while (!stop) {
      const text = await render();
      io.out(`\x1b[2J\x1b[H${text}\n\n(refreshing every ${everyMs / 1000} s; Ctrl-C to stop)`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  } finally {
    process.off("SIGINT", onSig);
    process.off("SIGTERM", onSig);
  }
  return 0;
}

export const statusCommand: Command = {
  name: "status",
  summary: "show queues, workers against target, scaling decisions, load level, hosts and recent history",
  help: `Usage: batchjob status [options]

Shows, per job type: pending, leased, delayed and dead items, running
workers against the manager's target, and the last scaling decision with its
reason; the load level and the leader; each host's heartbeat age, load and
slots; and the most recent finished workers. A value in Redis that cannot
be read (not JSON, not of its shape) is left out and named on stderr, one
line each, and status exits 1. On a Redis Cluster with a slot range down,
what cannot be read is listed under "Problems:" with its slot, and the rest
is shown.

Options:
${CONNECT_HELP}
  --json               print one JSON document (shape: StatusReport in packages/cli/README.md)
  --watch              refresh until Ctrl-C
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
    const s = await openSession(p, io);
    try {
      let problems: string[] = [];
      const once = async () => {
        const r = await collectStatus(s, { historyLimit });
        problems = r.problems;
        return bool(p, "json") ? JSON.stringify(r, null, 2) : renderStatus(r);
      };
      if (bool(p, "watch")) {
        return await watch(io, interval * 1000, async () =>
          [await once(), ...problems.map((l) => `problem: ${l}`)].join("\n"),
        );
      }
      io.out(await once());
      for (const l of problems) io.err(`batchjob status: ${l}`);
      return problems.length > 0 ? 1 : 0;
    } finally {
      await s.close();
    }
  },
};
