#!/usr/bin/env node
/**
 * The `batchjob` command: finds the subcommand (one or two words), parses its
 * flags strictly, runs it, and maps errors to exit codes: 2 for usage errors
 * (unknown command, bad flag), 1 for anything else, with one clear message.
 * Nothing it prints to stderr shows a URL's password (`redactUrlsInText`).
 * A reader that goes away (`batchjob status --watch | head -n 1`) ends it
 * quietly with exit code 0.
 */
import { BatchjobError, ErrorCode, redactUrlsInText, VERSION } from "@batchjob/core";
import { parseFlags } from "./args.js";
import type { Command, Io } from "./command.js";
import { commands } from "./commands/index.js";
import { DEFAULT_WIDTH, terminalOf, wrapWords } from "./terminal.js";

/** The command list, each summary wrapped to fit `width` under its own column. */
function overview(width: number): string {
  const names = Math.max(...commands.map((c) => c.name.length));
  const indent = " ".repeat(names + 4);
  const lines = commands.map((c) =>
    wrapWords(c.summary, Math.max(20, width - indent.length))
      .map((l, i) => (i === 0 ? `  ${c.name.padEnd(names)}  ${l}` : `${indent}${l}`))
      .join("\n"),
  );
  return `Usage: batchjob <command> [options]

Commands:
${lines.join("\n")}

Options:
  -h, --help     this list
  -V, --version  print the version

Run 'batchjob <command> --help' for a command's options.`;
}

export async function main(argv: string[], given: Io): Promise<number> {
  // errors and warnings quote URLs (a Redis that cannot be reached) and messages of other libraries
  const io: Io = { ...given, err: (s) => given.err(redactUrlsInText(s)) };
  const [first, second] = argv;
  // the help texts are written for 80 columns; the list of commands is wrapped to fit (at most 80)
  const width = Math.min(io.term.width(), DEFAULT_WIDTH);
  if (!first || first === "--help" || first === "-h" || first === "help") {
    io.out(overview(width));
    return first ? 0 : 2;
  }
  if (first === "--version" || first === "-V") {
    io.out(VERSION);
    return 0;
  }
  const two = commands.find((c) => c.name === `${first} ${second}`);
  const cmd: Command | undefined = two ?? commands.find((c) => c.name === first);
  if (!cmd) {
    const group = commands.filter((c) => c.name.startsWith(`${first} `));
    if (group.length > 0) {
      io.err(
        `batchjob ${first}: ${second ? `unknown subcommand "${second}"` : "missing subcommand"}; use one of: ${group.map((c) => c.name.split(" ")[1]).join(", ")}`,
      );
      return 2;
    }
    io.err(`batchjob: unknown command "${first}"\n\n${overview(width)}`);
    return 2;
  }
  const rest = argv.slice(cmd.name.split(" ").length);
  try {
    const parsed = parseFlags(rest, cmd.flags, cmd.maxPositionals);
    if (parsed.values.help) {
      io.out(cmd.help);
      return 0;
    }
    return await cmd.run(parsed, io);
  } catch (err) {
    if (err instanceof BatchjobError && err.code === ErrorCode.USAGE) {
      io.err(`batchjob ${cmd.name}: ${err.message}\nRun 'batchjob ${cmd.name} --help' for usage.`);
      return 2;
    }
    if (err instanceof BatchjobError) {
      io.err(`batchjob ${cmd.name}: ${err.message}`);
      return 1;
    }
    io.err(`batchjob ${cmd.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}

const io: Io = {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
  env: process.env,
  cwd: process.cwd(),
  stdin: process.stdin,
  term: terminalOf(process.stdout, process.env),
};

// a closed pipe: the reader has what it wanted (`| head -n 1`); anything else is an error
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  process.stderr.write(`batchjob: cannot write to stdout: ${err.message}\n`);
  process.exit(1);
});

/**
 * Once the command is over, whatever it may have left behind (a connection
 * still retrying a dead node, a signal handler of a step that failed) must
 * not keep SIGTERM or Ctrl-C from ending the process.
 */
function exitOnSignal(): void {
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.removeAllListeners(sig);
    process.once(sig, () => process.exit(typeof process.exitCode === "number" ? process.exitCode : 1));
  }
}

/**
 * The command is over: exit shortly even if a closed connection left a timer
 * behind (ioredis waits 2 s on a socket that is already gone before it lets go).
 */
function exitSoon(code: number): void {
  setTimeout(() => process.exit(code), 100).unref();
}

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
    exitOnSignal();
    exitSoon(code);
  },
  (err) => {
    process.stderr.write(`batchjob: ${redactUrlsInText(String(err))}\n`);
    process.exitCode = 1;
    exitOnSignal();
    exitSoon(1);
  },
);
