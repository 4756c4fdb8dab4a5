/**
 * The HTTP server of a daemon command (`manager --http`, `worker --http`):
 * its own Redis connection on the config's prefix, the token from
 * BATCHJOB_HTTP_TOKEN, readiness from the daemon; closed after the daemon's
 * other release functions, so the probes answer "stopping" meanwhile.
 */
import {
  type BatchjobConfig,
  BatchQueue,
  connectRedis,
  createLogger,
  daemonRedisUrl,
  daemonSecretValues,
  makeKeys,
} from "@batchjob/core";
import { type BatchjobHttpServer, type ListenAddress, startHttpServer, tokenFromEnv } from "@batchjob/http";
import type { Io } from "./command.js";

export interface ServedDaemon {
  isStopping(): boolean;
  addRelease(name: string, release: () => unknown): void;
}

/**
 * Starts the server before the daemon (a bad address fails first; the probes
 * say "starting" meanwhile); `attach` hands it the started daemon.
 */
export async function serveForDaemon(o: {
  listen: ListenAddress;
  config: BatchjobConfig;
  redisUrl: string | undefined;
  routes: "all" | "probes";
  io: Io;
}): Promise<{ server: BatchjobHttpServer; attach(d: ServedDaemon): void; close(): Promise<void> }> {
  const token = tokenFromEnv(o.io.env);
  const url = daemonRedisUrl(o.config, o.redisUrl);
  const client = connectRedis(url, { connectionName: "batchjob-http" });
  const keys = makeKeys(o.config.prefix);
  const queue = new BatchQueue({ redis: client, prefix: o.config.prefix, jobTypes: o.config.jobTypes });
  let daemon: ServedDaemon | undefined;
  const closeClient = () =>
    client.quit().then(
      () => undefined,
      () => client.disconnect(),
    );
  let server: BatchjobHttpServer;
  try {
    server = await startHttpServer({
      listen: o.listen,
      source: { client, keys, queue, config: o.config },
      token,
      routes: o.routes,
      // its address goes to the log as JSON, like the daemon's lines (never the token)
      log: createLogger("batchjob-http", {
        secrets: [...daemonSecretValues(o.config, o.redisUrl), ...(token ? [token] : [])],
      }),
      ready: () => (!daemon ? "the daemon is starting" : daemon.isStopping() ? "the daemon is stopping" : null),
    });
  } catch (err) {
    client.disconnect();
    throw err;
  }
  const close = async () => {
    await server.close();
    await closeClient();
  };
  return {
    server,
    attach(d) {
      daemon = d;
      d.addRelease("http server", close);
    },
    close,
  };
}
