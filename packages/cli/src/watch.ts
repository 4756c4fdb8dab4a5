/**
 * `--watch`: a frame every interval until Ctrl-C (SIGINT) or SIGTERM, shown
 * one of three ways:
 * - `screen` (stdout is a terminal): the alternate screen with the cursor
 *   hidden; each frame is drawn over the last from the top left, every line
 *   cleared to its end and the rest of the screen below it, cut to the
 *   terminal's rows; the terminal is restored when the watch ends, however
 *   the process ends;
 * - `plain` (a pipe or a file): the frames one after another, no escape codes;
 * - `ndjson` (`--json`): one JSON document a line, no escape codes.
 * Steps: 1. enter the screen (screen only); 2. render, draw, wait (a signal
 * cuts the wait short), until a signal; 3. restore the terminal.
 */
import { type Terminal, truncateStyled } from "./terminal.js";

export type WatchMode = "screen" | "plain" | "ndjson";

const ALT_SCREEN_ON = "\x1b[?1049h";
const ALT_SCREEN_OFF = "\x1b[?1049l";
const CURSOR_HIDE = "\x1b[?25l";
const CURSOR_SHOW = "\x1b[?25h";
const HOME = "\x1b[H";
const CLEAR_LINE_END = "\x1b[K";
const CLEAR_BELOW = "\x1b[J";

/**
 * How a frame is drawn over the last on the alternate screen: cut to the
 * terminal's rows and columns (a line that wrapped would push the frame
 * down), each line cleared to its end, and the screen below the last.
 */
export function screenFrame(text: string, rows: number | null, width: number): string {
  const lines = text.split("\n");
  const shown = rows === null ? lines : lines.slice(0, rows);
  // no newline after the last line: on the bottom row it would scroll the screen
  return `${HOME}${shown.map((l) => `${truncateStyled(l, width)}${CLEAR_LINE_END}`).join("\n")}${CLEAR_BELOW}`;
}

/**
 * Runs the watch; `render` returns one frame (for `ndjson`, one JSON document
 * on one line). Resolves 0 when a signal ended it.
 */
export async function watch(
  term: Terminal,
  options: { everyMs: number; mode: WatchMode },
  render: () => Promise<string>,
): Promise<number> {
  const { everyMs, mode } = options;
  let stop = false;
  let wake = () => {};
  const onSignal = () => {
    stop = true;
    wake();
  };
  let restored = mode !== "screen";
  const restore = () => {
    if (restored) return;
    restored = true;
    term.write(`${CURSOR_SHOW}${ALT_SCREEN_OFF}`);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // process.exit (a closed pipe, an error elsewhere) skips the finally below, not this
  process.once("exit", restore);
  const footer = `(refreshing every ${everyMs / 1000} s; Ctrl-C to stop)`;
  try {
    if (mode === "screen") term.write(`${ALT_SCREEN_ON}${CURSOR_HIDE}`);
    while (!stop) {
      const frame = await render();
      if (stop) break;
      if (mode === "ndjson") term.write(`${frame}\n`);
      else if (mode === "plain") term.write(`${frame}\n\n${footer}\n\n`);
      else term.write(screenFrame(`${frame}\n\n${term.colors.dim(footer)}`, term.rows(), term.width()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, everyMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", restore);
    restore();
  }
  return 0;
}
