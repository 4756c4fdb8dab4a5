/**
 * Strict flag parsing for every command (node:util parseArgs): an unknown
 * flag, a missing value or a bad number is a UsageError (exit code 2) that
 * names the flag. Numbers and lists are parsed here, once.
 */
import { parseArgs } from "node:util";
import { UsageError } from "@batchjob/core";

export type FlagSpec = Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseFlags(argv: string[], flags: FlagSpec, maxPositionals: number): Parsed {
  try {
    const r = parseArgs({
      args: argv,
      options: { ...flags, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    if (r.positionals.length > maxPositionals) {
      throw new UsageError(`unexpected argument "${r.positionals[maxPositionals]}"`);
    }
    return { values: r.values as Parsed["values"], positionals: r.positionals };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // parseArgs messages name the flag: "Unknown option '--foo'", "Option '--slots <value>' argument missing"
    const msg = err instanceof Error ? err.message.replace(/\. To specify a positional.*$/s, "") : String(err);
    throw new UsageError(msg);
  }
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === "string" ? v : undefined;
}

export function int(p: Parsed, name: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(n) || n < (opts.min ?? 0) || n > max) {
    const range = opts.max === undefined ? `≥ ${opts.min ?? 0}` : `from ${opts.min ?? 0} to ${opts.max}`;
    throw new UsageError(`--${name} must be an integer ${range}, got "${v}"`);
  }
  return n;
}

export function list(p: Parsed, name: string): string[] | undefined {
  const v = str(p, name);
  return v === undefined
    ? undefined
    : v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
}

export function bool(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}
