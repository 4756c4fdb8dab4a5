/**
 * `batchjob pause TYPE` and `batchjob resume TYPE` (#10): the paused set of
 * the control plane. A paused type is still enqueued to; the manager starts
 * no worker for it and asks its running workers to stop after their chunk.
 * A type no one knows (not in the config, never enqueued to) is refused, so
 * a typo does not pause nothing; resume takes any type that is paused.
 */
import { assertJobTypeName, PausedTypes, UsageError } from "@batchjob/core";
import type { Parsed } from "../args.js";
import type { Command, Io } from "../command.js";
import { CONNECT_FLAGS, CONNECT_HELP, type Session, withSession } from "../connect.js";

function typeArg(p: Parsed, verb: string): string {
  const t = p.positionals[0];
  if (!t) throw new UsageError(`name the job type: batchjob ${verb} TYPE`);
  try {
    assertJobTypeName(t);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return t;
}

/** The types of the config and those ever enqueued to, sorted. */
async function knownTypes(s: Session): Promise<string[]> {
  const enqueued = await s.client.smembers(s.keys.types);
  return [...new Set([...(s.config?.jobTypes.map((t) => t.name) ?? []), ...enqueued])].sort();
}

function unknownType(type: string, known: string[]): UsageError {
  const list = known.length > 0 ? `known types: ${known.join(", ")}` : "no job type is known yet";
  return new UsageError(`unknown job type "${type}" (not in the config, never enqueued to); ${list}`);
}

export const pauseCommand: Command = {
  name: "pause",
  summary: "pause a job type: no new workers; running ones stop after their chunk",
  help: `Usage: batchjob pause TYPE [options]

Pauses job type TYPE: the manager starts no worker for it and asks its
running workers to stop after their current chunk (a prefetched chunk is
handed back, a worker waiting for items leaves). Enqueue still works: the
items wait in the queue until 'batchjob resume TYPE'. The pause is kept in
Redis: it holds across manager restarts and failovers.

Options:
${CONNECT_HELP}
  -h, --help           this help

Run it as the manager's Redis user (or an admin): see docs/security.md.`,
  flags: { ...CONNECT_FLAGS },
  maxPositionals: 1,
  async run(p: Parsed, io: Io) {
    const type = typeArg(p, "pause");
    return withSession(p, io, async (s) => {
      const known = await knownTypes(s);
      const paused = new PausedTypes(s.client, s.keys);
      if (!known.includes(type) && !(await paused.isPaused(type))) throw unknownType(type, known);
      if (await paused.pause(type))
        io.out(`paused ${type}: no new workers start; running ones stop after their chunk; enqueue still works`);
      else io.out(`${type} was already paused`);
      return 0;
    });
  },
};

export const resumeCommand: Command = {
  name: "resume",
  summary: "resume a paused job type: the manager starts its workers again",
  help: `Usage: batchjob resume TYPE [options]

Resumes job type TYPE, paused with 'batchjob pause': the manager plans its
workers again at its next tick, and the items that waited are worked.

Options:
${CONNECT_HELP}
  -h, --help           this help`,
  flags: { ...CONNECT_FLAGS },
  maxPositionals: 1,
  async run(p: Parsed, io: Io) {
    const type = typeArg(p, "resume");
    return withSession(p, io, async (s) => {
      const paused = new PausedTypes(s.client, s.keys);
      if (await paused.resume(type)) {
        io.out(`resumed ${type}: the manager starts its workers again at its next tick`);
        return 0;
      }
      const known = await knownTypes(s);
      if (!known.includes(type)) throw unknownType(type, known);
      io.out(`${type} was not paused`);
      return 0;
    });
  },
};
