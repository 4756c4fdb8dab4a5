/**
 * A gate a fixture job waits on (`{gate: path}` in test/fixtures/behave.mjs):
 * a chunk of gated items runs until the test opens the gate, so a test acts
 * while the chunk is surely running instead of racing a sleep of so many ms.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Gate {
  /** The file whose existence opens the gate (the payload's `gate`). */
  path: string;
  open(): void;
}

/** A closed gate: a file path in a fresh temp folder, created when opened. */
export function gate(): Gate {
  const path = join(mkdtempSync(join(tmpdir(), "bj-gate-")), "open");
  return { path, open: () => writeFileSync(path, "") };
}
