/** `batchjob enqueue TYPE`: items from a JSON-lines file or stdin, in bulk, all or nothing. */
import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import {
  assertJobTypeName,
  type EnqueueItem,
  InvalidArgumentError,
  InvalidItemIdError,
  InvalidPayloadError,
  PayloadTooLargeError,
  UsageError,
} from "@batchjob/core";
import { bool, str } from "../args.js";
import type { Command } from "../command.js";
import { CONNECT_FLAGS, CONNECT_HELP, openSession } from "../connect.js";

export const enqueueCommand: Command = {
  name: "enqueue",
  summary: "enqueue items from a JSON-lines file or stdin (one payload per line)",
  help: `Usage: batchjob enqueue TYPE [--file FILE] [options]

Reads JSON lines (one item per line; blank lines are skipped) and enqueues
them to job type TYPE in one all-or-nothing call: a line that is not JSON, a
payload that is too large, or a number JSON cannot hold (1e400 reads as
Infinity) is reported with its line number (and the path inside the payload)
and nothing is enqueued. Prints how many items were enqueued (and how many
were deduped).

Options:
  --file FILE          read from FILE (default: stdin)
  --with-ids           each line is {"id": "...", "payload": ...}; ids dedupe;
                       a line may also carry "key": "...", which keeps the
                       items of one key in one shard of a type spread over
                       shards (in order), and may leave out "id"
${CONNECT_HELP}
  -h, --help           this help

Examples:
  printf '{"user":1}\\n{"user":2}\\n' | batchjob enqueue emails
  batchjob enqueue resize --file items.jsonl --with-ids`,
  flags: { ...CONNECT_FLAGS, file: { type: "string" }, "with-ids": { type: "boolean" } },
  maxPositionals: 1,
  async run(p, io) {
    const type = p.positionals[0];
    if (!type) throw new UsageError("name the job type: batchjob enqueue TYPE");
    try {
      assertJobTypeName(type);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const file = str(p, "file");
    const withIds = bool(p, "with-ids");
    const input = file ? createReadStream(resolve(io.cwd, file)) : io.stdin;
    const items: EnqueueItem[] = [];
    /** The line number of each item. */
    const lineOf: number[] = [];
    let lineNo = 0;
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    try {
      for await (const line of lines) {
        lineNo++;
        if (line.trim() === "") continue;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch (err) {
          throw new UsageError(`line ${lineNo} is not JSON (${(err as Error).message}); nothing was enqueued`);
        }
        if (withIds) {
          const v = value as { id?: unknown; payload?: unknown } | null;
          if (!v || typeof v !== "object" || !("payload" in v) || (v.id !== undefined && typeof v.id !== "string")) {
            throw new UsageError(
              `line ${lineNo}: with --with-ids each line must be {"id": "...", "payload": ...}; nothing was enqueued`,
            );
          }
          const item: EnqueueItem = { payload: v.payload };
          if (v.id !== undefined) item.id = v.id as string;
          // checked by the queue (a string of 1 to 1024 characters), reported with its line
          if ("key" in v) item.key = (v as { key?: unknown }).key as string;
          items.push(item);
        } else items.push({ payload: value });
        lineOf.push(lineNo);
      }
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`cannot read ${file ?? "stdin"}: ${(err as Error).message}`);
    }
    const s = await openSession(p, io);
    try {
      const r = await s.queue.enqueue(type, items).catch((err: Error) => {
        // Redis errors as they are: a call that timed out may still have taken effect
        const input = [InvalidPayloadError, PayloadTooLargeError, InvalidItemIdError, InvalidArgumentError];
        if (!input.some((c) => err instanceof c)) throw err;
        // an item error names the item's index: say its line
        const message = err.message.replace(/^item (\d+)/, (_m, i) => `line ${lineOf[Number(i)] ?? "?"}`);
        const hint = / is -?Infinity,/.test(message)
          ? " (a number beyond ±1.8e308, such as 1e400, reads as Infinity)"
          : "";
        throw new UsageError(`${message}${hint}; nothing was enqueued`);
      });
      io.out(`enqueued ${r.added} items to ${type}${r.deduped.length > 0 ? ` (${r.deduped.length} deduped)` : ""}`);
      return 0;
    } finally {
      await s.close();
    }
  },
};
