/**
 * `batchjob dashboard --listen HOST:PORT`: the HTTP server on its own (the
 * dashboard, its API, /metrics, /healthz, /readyz), reading the deployment's
 * Redis; prints its URL (never the token) and serves until SIGTERM/Ctrl-C.
 */
import { UsageError } from "@batchjob/core";
import { parseListen, startHttpServer, TOKEN_ENV, tokenFromEnv } from "@batchjob/http";
import { str } from "../args.js";
import type { Command } from "../command.js";
import { CONNECT_FLAGS, CONNECT_HELP, openSession } from "../connect.js";

export const dashboardCommand: Command = {
  name: "dashboard",
  summary: "serve the web dashboard, its JSON API, /metrics and health probes",
  help: `Usage: batchjob dashboard --listen HOST:PORT [options]

Serves, reading the deployment's Redis:
  /                    the dashboard: job types, workers against target,
                       pause and resume, hosts, history, dead letters with
                       retry and purge; refreshed every 2 s
  /api/status          the JSON of 'batchjob status --json'
  /api/types/T/...     POST pause, resume, dead/retry, dead/purge (with the
                       header X-Batchjob-Action: 1 or a JSON body)
  /metrics             Prometheus text
  /healthz, /readyz    probes (200, or 503 when Redis does not answer)

With $${TOKEN_ENV} set, every route but the probes needs the header
"Authorization: Bearer TOKEN"; a browser opens /?token=TOKEN once and gets a
cookie. Without a token it listens on a loopback address only.

Options:
  --listen HOST:PORT   where to listen (like 127.0.0.1:8080; port 0 picks a
                       free one)
${CONNECT_HELP}
  -h, --help           this help`,
  flags: { ...CONNECT_FLAGS, listen: { type: "string" } },
  maxPositionals: 0,
  async run(p, io) {
    const listenFlag = str(p, "listen");
    if (listenFlag === undefined) throw new UsageError("say where to listen: --listen HOST:PORT (like 127.0.0.1:8080)");
    const listen = parseListen(listenFlag, "--listen");
    const token = tokenFromEnv(io.env);
    const s = await openSession(p, io);
    try {
      const server = await startHttpServer({ listen, source: s, token });
      io.out(
        `batchjob dashboard at ${server.url}/ (prefix ${s.keys.prefix})${token ? `; token required: open ${server.url}/?token=… once` : ""}`,
      );
      await new Promise<void>((resolve) => {
        process.once("SIGTERM", () => resolve());
        process.once("SIGINT", () => resolve());
      });
      await server.close();
      return 0;
    } finally {
      await s.close();
    }
  },
};
