/**
 * What the CLI knows of where its output goes: how many columns to fit
 * ($COLUMNS, else the terminal's width when stdout is one, else 80), whether
 * to colour (never with NO_COLOR or when stdout is not a terminal, unless
 * FORCE_COLOR says so), and lines cut to a width with an ellipsis.
 */
import picocolors from "picocolors";

/** picocolors' formatters: `colors.red(s)` and the like. */
export type Colors = ReturnType<typeof picocolors.createColors>;

/** The width used when stdout is not a terminal and $COLUMNS is not set. */
export const DEFAULT_WIDTH = 80;

export interface Terminal {
  /** Whether stdout is a terminal (then `--watch` draws on the alternate screen). */
  isTTY: boolean;
  /** Columns to fit, read again on each call (a terminal can be resized). */
  width(): number;
  /** Rows of the terminal; null when stdout is not one. */
  rows(): number | null;
  /** Colours, or formatters that return their input unchanged. */
  colors: Colors;
  /** Writes `s` as is, without a newline. */
  write(s: string): void;
}

/** The stream facts a Terminal is made from (process.stdout, or a test's stand-in). */
export interface OutputStream {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  write(s: string): boolean;
}

/** $COLUMNS when it is a positive integer, else the terminal's columns, else 80. */
export function widthOf(stream: OutputStream, env: NodeJS.ProcessEnv): number {
  const fromEnv = Number(env.COLUMNS);
  if (env.COLUMNS && Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  if (stream.isTTY && stream.columns && stream.columns > 0) return stream.columns;
  return DEFAULT_WIDTH;
}

/**
 * Colour is off when NO_COLOR is set to anything but "" (no-color.org); else
 * on when FORCE_COLOR is set to anything but "0" or "false"; else on only for
 * a terminal whose TERM is not "dumb".
 */
export function colorEnabled(stream: OutputStream, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false") return true;
  return stream.isTTY === true && env.TERM !== "dumb";
}

export function terminalOf(stream: OutputStream, env: NodeJS.ProcessEnv): Terminal {
  return {
    isTTY: stream.isTTY === true,
    width: () => widthOf(stream, env),
    rows: () => (stream.isTTY && stream.rows && stream.rows > 0 ? stream.rows : null),
    colors: picocolors.createColors(colorEnabled(stream, env)),
    write: (s) => {
      stream.write(s);
    },
  };
}

/** Formatters that change nothing: for output that must stay plain (JSON, tests). */
export const plainColors: Colors = picocolors.createColors(false);

/** Characters as the terminal counts them (code points; the CLI prints no wide characters of its own). */
export function visibleLength(s: string): number {
  return [...s].length;
}

/** `s` cut to `width` columns, its last one an ellipsis when anything was cut. */
export function truncate(s: string, width: number): string {
  const chars = [...s];
  if (chars.length <= width) return s;
  if (width <= 0) return "";
  return `${chars.slice(0, width - 1).join("")}…`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the escapes the CLI itself writes
const ESCAPE = /(\x1b\[[0-9;?]*[A-Za-z])/;

/**
 * `s`, which may hold escape codes (colours), cut to `width` visible columns
 * with an ellipsis; the codes are kept, and a cut line ends with a reset so
 * its colour does not run on.
 */
export function truncateStyled(s: string, width: number): string {
  const parts = s.split(ESCAPE);
  const visible = parts.filter((_, i) => i % 2 === 0).join("");
  if (visibleLength(visible) <= width) return s;
  let out = "";
  let seen = 0;
  for (const [i, part] of parts.entries()) {
    if (i % 2 === 1) {
      out += part;
      continue;
    }
    for (const ch of part) {
      if (seen >= width - 1) return `${out}${width > 0 ? "…" : ""}\x1b[0m`;
      out += ch;
      seen++;
    }
  }
  return out;
}

/** Words of `text` on lines of at most `width` columns; a word longer than that stands alone on its line. */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && visibleLength(line) + 1 + visibleLength(word) > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
