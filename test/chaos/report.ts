/** One table row per scenario, and the table: plain text for the terminal, markdown for docs/reliability.md. */
import type { Tally } from "./measure.js";

export interface Row {
  scenario: string;
  /** Set when the scenario could not run here (no netns permission...). */
  skipped?: string;
  /** Set when the harness itself failed (the figures are then partial or absent). */
  error?: string;
  tally?: Tally;
  /** Faults injected. */
  faults: number;
  /** Seconds to recover after each fault; null: not seen before the scenario ended. */
  recover: (number | null)[];
  /** Items the victims were running at the faults (a bound for duplicates). */
  inFlight?: number;
  /** Other figures a scenario checks, by name (hosts declared dead, non-JSON log lines...). */
  counts?: Record<string, number>;
  drained: boolean;
  totalS: number;
  notes: string[];
}

const round1 = (x: number) => x.toFixed(1);

export function formatRecover(r: (number | null)[]): string {
  if (r.length === 0) return "–";
  const seen = r.filter((x): x is number => x !== null).sort((a, b) => a - b);
  const never = r.length - seen.length;
  if (seen.length === 0) return "never";
  const tail = never > 0 ? ` (${never}/${r.length} never)` : "";
  if (seen.length === 1) return `${round1(seen[0] as number)}${tail}`;
  const median = seen[Math.floor((seen.length - 1) / 2)] as number;
  return `${round1(median)} / ${round1(seen[seen.length - 1] as number)}${tail}`;
}

const HEAD = [
  "scenario",
  "enqueued",
  "processed",
  "duplicates",
  "dead healthy",
  "dead poison",
  "lost",
  "queued",
  "recover s",
  "total s",
  "notes",
];

function cells(row: Row): string[] {
  if (row.skipped) return [row.scenario, `skipped: ${row.skipped}`, "", "", "", "", "", "", "", "", ""];
  const t = row.tally;
  const notes = [...row.notes];
  if (row.error) notes.unshift(`ERROR: ${row.error}`);
  if (!t)
    return [row.scenario, "", "", "", "", "", "", "", formatRecover(row.recover), round1(row.totalS), notes.join("; ")];
  return [
    row.scenario,
    String(t.enqueued),
    String(t.processed),
    t.dupIds === 0 ? "0" : `${t.dupIds} (+${t.dupExtra})`,
    String(t.deadHealthy),
    t.poison === 0 ? "–" : `${t.deadPoison}/${t.poison}`,
    String(t.lost),
    String(t.queued),
    formatRecover(row.recover),
    round1(row.totalS),
    notes.join("; "),
  ];
}

export function formatTable(rows: Row[], markdown = false): string {
  const body = rows.map(cells);
  if (markdown) {
    const esc = (s: string) => s.replace(/\|/g, "\\|");
    return [
      `| ${HEAD.join(" | ")} |`,
      `| ${HEAD.map(() => "---").join(" | ")} |`,
      ...body.map((r) => `| ${r.map(esc).join(" | ")} |`),
    ].join("\n");
  }
  const widths = HEAD.map((h, i) =>
    Math.max(h.length, ...body.slice().map((r) => (i === 10 ? 0 : (r[i] ?? "").length))),
  );
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 10 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(HEAD), ...body.map(line)].join("\n");
}
