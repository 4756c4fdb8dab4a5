/**
 * `batchjob drain HOST...` and `batchjob drain --all` (#10): asks worker
 * hosts to drain through the control plane's drain set. The manager
 * dispatches nothing to them; each daemon sees the request with its next
 * heartbeat, lets its workers finish their chunks (prefetched ones are
 * handed back), and exits. Only live hosts can be named; ids of hosts no
 * longer alive are dropped from the set.
 */
import { DrainRequests, defaults, HostRegistry, UsageError } from "@batchjob/core";
import { bool, type Parsed } from "../args.js";
import type { Command, Io } from "../command.js";
import { CONNECT_FLAGS, CONNECT_HELP, withSession } from "../connect.js";

export const drainCommand: Command = {
  name: "drain",
  summary: "drain worker hosts: they take no more work and exit when idle",
  help: `Usage: batchjob drain HOST... [options]
       batchjob drain --all [options]

Asks worker hosts (their ids, as 'batchjob status' lists them) to drain:
the manager dispatches nothing more to them; each daemon notices within a
heartbeat, lets its running workers finish their current chunk (however
long that takes; a prefetched chunk is handed back), and exits. No item is
lost: what a host did not run stays in the queue for the other hosts.

Options:
  --all                every live worker host (the cluster stops working;
                       enqueue still works)
${CONNECT_HELP}
  -h, --help           this help

Run it as the manager's Redis user (or an admin): see docs/security.md.`,
  flags: { ...CONNECT_FLAGS, all: { type: "boolean" } },
  maxPositionals: 64,
  async run(p: Parsed, io: Io) {
    const all = bool(p, "all");
    const named = p.positionals;
    if (all && named.length > 0) throw new UsageError("name hosts or give --all, not both");
    if (!all && named.length === 0) throw new UsageError("name the hosts to drain (see 'batchjob status'), or --all");
    return withSession(p, io, async (s) => {
      const ttl = s.config?.worker.hostTtlMs ?? defaults.worker.hostTtlMs;
      const { alive } = await new HostRegistry(s.client, s.keys).list(ttl);
      const live = alive.map((h) => h.id).sort();
      const unknown = named.filter((h) => !live.includes(h));
      if (unknown.length > 0) {
        const hosts = live.length > 0 ? `live hosts: ${live.join(", ")}` : "no worker host is alive";
        throw new UsageError(`no live worker host ${unknown.map((h) => `"${h}"`).join(", ")}; ${hosts}`);
      }
      const drains = new DrainRequests(s.client, s.keys);
      // requests of hosts no longer alive are forgotten (a host that died cannot clear its own)
      await drains.clear((await drains.list()).filter((id) => !live.includes(id)));
      const targets = all ? live : [...new Set(named)];
      if (targets.length === 0) {
        io.out("no worker host is alive: nothing to drain");
        return 0;
      }
      const added = await drains.request(targets);
      for (const h of targets) {
        io.out(
          added.includes(h)
            ? `draining ${h}: finishes its running chunks, then exits`
            : `${h}: drain already requested`,
        );
      }
      return 0;
    });
  },
};
