/** `batchjob worker`: runs the worker daemon until SIGTERM/SIGINT or a drain; SIGHUP reloads its config file. */
import { type BatchjobConfig, MAX_TIMER_MS, UsageError } from "@batchjob/core";
import { parseListen } from "@batchjob/http";
import { int, list, str } from "../args.js";
import { CONFIG_FLAG_HELP, type Command, findConfig } from "../command.js";
import { assertConfigFiles, loadConfigFile } from "../config-file.js";
import { serveForDaemon } from "../http-serve.js";

export const workerCommand: Command = {
  name: "worker",
  summary: "run a worker daemon: takes dispatched chunks and runs them through their launchers",
  help: `Usage: batchjob worker [options]

Runs a worker daemon on this host. It registers a heartbeat with its load,
takes "start a worker" dispatches from the manager through its inbox, runs
each chunk through the job type's launcher (inline, fork, spawn, process,
http), acks or releases the items, and acquires the next chunk itself until
the queue is empty or the manager scales the type down.

Options:
${CONFIG_FLAG_HELP}
  --host-id ID         this daemon's id (default: $BATCHJOB_HOST_ID, else
                       <hostname>-<pid>)
  --slots N            most workers at once (default: $BATCHJOB_WORKER_SLOTS,
                       else config worker.slots, 4)
  --job-types A,B      serve only these job types (default: config
                       worker.jobTypes, else all)
  --grace-ms MS        on SIGTERM, time running chunks get to finish
                       (default: config worker.shutdownGraceMs)
  --load-file FILE     report the number in FILE as this host's load (drills
                       and tests)
  --http HOST:PORT     serve /healthz, /readyz and /metrics here (container
                       probes); off 127.0.0.1 it needs $BATCHJOB_HTTP_TOKEN
  -h, --help           this help

Stop it with SIGTERM or Ctrl-C: it stops taking chunks, lets running ones
finish within the grace period, releases what is still held, and exits.
A second signal releases at once. 'batchjob drain' does the same without a
grace limit: the running chunks finish, then the daemon exits.

SIGHUP reloads the config file: a file that fails validation (or drops a
type this host serves) is refused (one log line names each problem) and
the running config kept; with a valid one, workers started from then on
use its job type settings and launchers (running ones keep theirs).
redis.url, prefix, worker.slots, worker.jobTypes, worker.heartbeatMs,
worker.hostTtlMs, history.cap and queue.maxPayloadBytes need a restart
(logged when changed).

Example:
  REDIS_URL=redis://10.0.0.5:6379 batchjob worker \\
    --config /etc/batchjob/config.ts --slots 8`,
  flags: {
    config: { type: "string" },
    redis: { type: "string" },
    "host-id": { type: "string" },
    slots: { type: "string" },
    "job-types": { type: "string" },
    "grace-ms": { type: "string" },
    "load-file": { type: "string" },
    http: { type: "string" },
  },
  maxPositionals: 0,
  async run(p, io) {
    const { startWorker } = await import("@batchjob/worker");
    const envSlots = io.env.BATCHJOB_WORKER_SLOTS;
    if (envSlots !== undefined && !(Number.isInteger(Number(envSlots)) && Number(envSlots) >= 1)) {
      throw new UsageError(`BATCHJOB_WORKER_SLOTS must be an integer ≥ 1, got "${envSlots}"`);
    }
    const slots = int(p, "slots", { min: 1 }) ?? (envSlots ? Number(envSlots) : undefined);
    const graceMs = int(p, "grace-ms", { min: 0, max: MAX_TIMER_MS });
    const hostId = str(p, "host-id") ?? io.env.BATCHJOB_HOST_ID;
    const jobTypes = list(p, "job-types");
    const loadFile = str(p, "load-file");
    const redisUrl = str(p, "redis");
    const httpFlag = str(p, "http");
    const listen = httpFlag === undefined ? undefined : parseListen(httpFlag, "--http");
    const loaded = await findConfig(str(p, "config"), io);
    const served = jobTypes ?? loaded.config.worker.jobTypes;
    // a job module, command or folder that is not here: refused now, not at each start of a worker
    await assertConfigFiles(loaded, { jobTypes: served, enqueuers: false, env: io.env });
    // the command line wins over the file, at start and on every reload
    const withFlags = (c: BatchjobConfig): BatchjobConfig =>
      graceMs === undefined ? c : { ...c, worker: { ...c.worker, shutdownGraceMs: graceMs } };
    const config = withFlags(loaded.config);
    // SIGHUP: the same file again, validated as at start
    const loadConfig = async () => {
      const again = await loadConfigFile(loaded.path, io.env);
      await assertConfigFiles(again, { jobTypes: served, enqueuers: false, env: io.env });
      return withFlags(again.config);
    };
    const http = listen ? await serveForDaemon({ listen, config, redisUrl, routes: "probes", io }) : undefined;
    let daemon: Awaited<ReturnType<typeof startWorker>>;
    try {
      daemon = await startWorker({
        config,
        baseDir: loaded.baseDir,
        handleSignals: true,
        loadConfig,
        ...(redisUrl ? { redisUrl } : {}),
        ...(hostId ? { hostId } : {}),
        ...(slots ? { slots } : {}),
        ...(jobTypes ? { jobTypes } : {}),
        ...(loadFile ? { loadFile } : {}),
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
