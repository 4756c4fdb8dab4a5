/** `batchjob manager`: runs the manager daemon until SIGTERM/SIGINT; SIGHUP reloads its config file. */
import { type BatchjobConfig, MAX_TIMER_MS, UsageError } from "@batchjob/core";
import { parseListen } from "@batchjob/http";
import { int, str } from "../args.js";
import { CONFIG_FLAG_HELP, type Command, findConfig } from "../command.js";
import { loadConfigFile } from "../config-file.js";
import { serveForDaemon } from "../http-serve.js";

export const managerCommand: Command = {
  name: "manager",
  summary: "run a manager daemon: plans workers per job type by load, cooldown and backlog",
  help: `Usage: batchjob manager [options]

Runs a manager daemon. Several may run; one holds the leader lease and acts,
the others take over within two lease periods if it dies. Each tick the
leader reads the hosts' load level, plans the workers of every job type
(parallel.high/medium/low, cooldownSeconds, minQueueEntries, backlog),
prepares their first chunk, dispatches it to a host (round-robin or
least-load), reclaims expired leases, hands back dead hosts' work, and calls
enqueuers of types below their low watermark. Decisions and their reasons go
to the log and to Redis for 'batchjob status'.

SIGHUP reloads the config file: a file that fails validation is refused
(one log line names each problem) and the running config kept; a valid one
takes effect at the next tick (job types, parallel, cooldownSeconds, load
thresholds, allocator). redis.url, prefix, manager.tickMs,
manager.leaderLeaseMs and worker.hostTtlMs need a restart (logged when
changed). The flags above still win over the file.

Options:
${CONFIG_FLAG_HELP}
  --id ID              this manager's id (default: <hostname>-<pid>-<random>)
  --tick-ms MS         interval between ticks (default: config
                       manager.tickMs, 1000)
  --allocator NAME     round-robin or least-load (default: config
                       manager.allocator)
  --http HOST:PORT     serve the dashboard, its API, /metrics, /healthz
                       and /readyz here (default: config
                       manager.http.listen, else none); off 127.0.0.1
                       it needs $BATCHJOB_HTTP_TOKEN
  -h, --help           this help

Example:
  batchjob manager --config ./batchjob.config.ts --allocator round-robin`,
  flags: {
    config: { type: "string" },
    redis: { type: "string" },
    id: { type: "string" },
    "tick-ms": { type: "string" },
    allocator: { type: "string" },
    http: { type: "string" },
  },
  maxPositionals: 0,
  async run(p, io) {
    const { startManager } = await import("@batchjob/manager");
    const allocatorFlag = str(p, "allocator");
    if (allocatorFlag !== undefined && allocatorFlag !== "round-robin" && allocatorFlag !== "least-load") {
      throw new UsageError(`--allocator must be round-robin or least-load, got "${allocatorFlag}"`);
    }
    const allocator: "round-robin" | "least-load" | undefined = allocatorFlag;
    // a Node timer holds at most MAX_TIMER_MS: a longer tick would spin
    const tickMs = int(p, "tick-ms", { min: 50, max: MAX_TIMER_MS });
    const httpFlag = str(p, "http");
    const httpFlagAddress = httpFlag === undefined ? undefined : parseListen(httpFlag, "--http");
    const loaded = await findConfig(str(p, "config"), io);
    // the command line wins over the file, at start and on every reload
    const withFlags = (c: BatchjobConfig): BatchjobConfig => ({
      ...c,
      manager: { ...c.manager, ...(tickMs ? { tickMs } : {}), ...(allocator ? { allocator } : {}) },
    });
    const config = withFlags(loaded.config);
    const redisUrl = str(p, "redis");
    const id = str(p, "id");
    const m = config.manager;
    const listen = httpFlagAddress ?? (m.http.listen ? parseListen(m.http.listen, "manager.http.listen") : undefined);
    const http = listen ? await serveForDaemon({ listen, config, redisUrl, routes: "all", io }) : undefined;
    let daemon: Awaited<ReturnType<typeof startManager>>;
    try {
      daemon = await startManager({
        config,
        baseDir: loaded.baseDir,
        handleSignals: true,
        // SIGHUP: the same file again, validated as at start
        loadConfig: async () => withFlags((await loadConfigFile(loaded.path, io.env)).config),
        ...(redisUrl ? { redisUrl } : {}),
        ...(id ? { managerId: id } : {}),
        // the ticks this manager runs as leader go to /metrics' batchjob_manager_tick_seconds
        ...(http ? { onTick: (r) => http.server.observeTick(r.durationMs / 1000) } : {}),
      });
    } catch (err) {
      await http?.close();
      throw err;
    }
    http?.attach(daemon);
    await daemon.closed;
    return 0;
  },
};
