/**
 * Tables for the terminal: columns padded to their widest cell, numbers
 * right-aligned. Given a width, a table that is wider is fitted to it: the
 * widest text column gives up a column at a time (down to its header's
 * width) and its cells are cut with an ellipsis; numbers, and the columns
 * named `fixed` (times, sizes), are never cut.
 * Colour is applied after padding, so escape codes never count as width.
 */
import { truncate, visibleLength } from "./terminal.js";

/** A cell with a colour: `paint` wraps the padded text (picocolors' formatters fit). */
export interface Painted {
  text: string;
  paint: (s: string) => string;
  /** A number shown as `text`: right-aligned, never cut. */
  numeric?: boolean;
}

export type Cell = string | number | Painted;

export interface TableOptions {
  /** Columns the table may take; no limit when absent. */
  width?: number;
  /** Formats the header cells (bold, say). */
  head?: (s: string) => string;
  /** Headers of text columns never cut (times, sizes); numbers never are. */
  fixed?: string[];
}

/** The least a text column is cut to: its header, and never under 4 columns unless its cells are narrower. */
const MIN_TEXT_COLUMN = 4;

function isNumeric(c: Cell | undefined): boolean {
  return typeof c === "number" || (typeof c === "object" && c.numeric === true);
}

function textOf(c: Cell): string {
  return typeof c === "object" ? c.text : String(c);
}

/**
 * Column widths that fit `width`: while the table is too wide, the widest
 * column that can still give one up loses one. Returns the natural widths
 * when no width is given or nothing more can be cut.
 */
export function fitWidths(natural: number[], min: number[], width: number | undefined, gap = 2): number[] {
  const widths = [...natural];
  if (width === undefined) return widths;
  let excess = widths.reduce((s, w) => s + w, 0) + gap * Math.max(0, widths.length - 1) - width;
  while (excess > 0) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      const w = widths[i] ?? 0;
      if (w > (min[i] ?? w) && (widest < 0 || w > (widths[widest] ?? 0))) widest = i;
    }
    if (widest < 0) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
    excess--;
  }
  return widths;
}

export function table(head: string[], rows: Cell[][], options: TableOptions = {}): string {
  const texts = rows.map((r) => head.map((_, i) => textOf(r[i] ?? "")));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => isNumeric(r[i])));
  const natural = head.map((h, i) => Math.max(visibleLength(h), ...texts.map((r) => visibleLength(r[i] ?? ""))));
  const min = head.map((h, i) =>
    numeric[i] || options.fixed?.includes(h)
      ? (natural[i] ?? 0)
      : Math.min(natural[i] ?? 0, Math.max(visibleLength(h), MIN_TEXT_COLUMN)),
  );
  const widths = fitWidths(natural, min, options.width);
  const line = (cells: string[], paint: (i: number) => ((s: string) => string) | undefined) =>
    cells
      .map((c, i) => {
        const w = widths[i] ?? 0;
        const cut = truncate(c, w);
        const pad = " ".repeat(Math.max(0, w - visibleLength(cut)));
        const last = i === cells.length - 1;
        const laid = numeric[i] ? pad + cut : last ? cut : cut + pad;
        const p = paint(i);
        return p && cut !== "" ? (numeric[i] || last ? p(laid) : p(cut) + pad) : laid;
      })
      .join("  ")
      .trimEnd();
  return [
    line(head, () => options.head),
    ...texts.map((r, row) =>
      line(r, (i) => {
        const c = rows[row]?.[i];
        return typeof c === "object" ? c.paint : undefined;
      }),
    ),
  ].join("\n");
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "-";
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

export function ago(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}
