/**
 * How a non-daemon connection (the CLI, `BatchQueue` on a URL) fails when
 * Redis cannot answer: fast, and in one line. It remembers the connection's
 * last error (a command that fails on a timeout says why it timed out), maps
 * what ioredis rejects with to a `RedisUnavailableError` ("cannot reach Redis
 * at <url>: <reason>", "cluster down: <reason>; cluster <url>"), and never sends a
 * command later that its caller was already told had failed.
 */
import { Cluster, type ClusterNode, type ClusterOptions, Command, Redis, type RedisOptions } from "ioredis";
import { BatchjobError, RedisUnavailableError } from "./errors.js";

export interface FailureContext {
  /** The URL, its password redacted. */
  url: string;
  cluster: boolean;
  /** The Sentinel master name, for a Sentinel URL. */
  masterName?: string;
  commandTimeoutMs: number;
}

type Stream = Parameters<Redis["sendCommand"]>[1];
/** Options of a connection whose replies have the RESP2 shapes the code expects. */
export type NodeOptions = RedisOptions & { replyMapping?: "legacy" };
export type ClusterConnectOptions = ClusterOptions & { redisOptions?: NodeOptions };

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);

/** Messages that say a command failed, not why: the connection's last error says why. */
const GENERIC = [
  /^Command timed out$/,
  /^Reached the max retries per request limit/,
  /^Connection is closed\.?$/,
  /^Command aborted due to connection close/,
  /^Stream isn't writeable/,
  /^None of startup nodes is available$/,
  /^Cluster is ended\.?$/,
  /^Cluster isn't ready/,
];

const NETWORK = [/^All sentinels are unreachable/, /^connect ETIMEDOUT/, /^MASTERDOWN\b/, /^LOADING\b/];

/** A TLS handshake that failed: a certificate not trusted, expired, for another name; a protocol mismatch. */
const isTlsCode = (code: string) => code === "EPROTO" || code.startsWith("ERR_TLS") || /CERT|SIGNATURE/.test(code);

type Kind = "auth" | "readonly" | "cluster" | "network";

/** EXECABORT because the connection was lost (or the node turned replica) mid-MULTI: nothing of it ran. */
function abortedByConnection(err: Error): boolean {
  const previous = (err as Error & { previousErrors?: Error[] }).previousErrors ?? [];
  return (
    /^EXECABORT\b/.test(err.message) &&
    previous.length > 0 &&
    previous.every((e) => e instanceof RedisUnavailableError || kindOf(e) !== null)
  );
}

function kindOf(err: Error): Kind | null {
  const m = err.message;
  if (abortedByConnection(err)) return "network";
  if (/^(WRONGPASS|NOAUTH)\b/.test(m) || /invalid (username-)?password/i.test(m)) return "auth";
  if (/^READONLY\b/.test(m)) return "readonly";
  if (/^CLUSTERDOWN\b/.test(m) || /^Too many Cluster redirections/.test(m) || /^Failed to refresh slots cache/.test(m))
    return "cluster";
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && (NETWORK_CODES.has(code) || isTlsCode(code))) return "network";
  if (err.name === "MaxRetriesPerRequestError") return "network";
  if ([...GENERIC, ...NETWORK].some((re) => re.test(m))) return "network";
  return null;
}

const isGeneric = (err: Error) =>
  err.name === "MaxRetriesPerRequestError" || GENERIC.some((re) => re.test(err.message));

/** What a connection saw last: the reason behind a command's generic failure. */
export interface RecentErrors {
  /** The last connection error (cleared when the connection is ready). */
  last?: Error;
  /** The last complaint of a sentinel (one that does not know the master name says so only here). */
  lastSentinel?: Error;
}

/** Keeps a connection's `RecentErrors`. */
class ConnectionWatch {
  readonly recent: RecentErrors = {};

  constructor(client: Redis | Cluster) {
    client.on("error", (err: Error) => {
      this.recent.last = err;
    });
    client.on("sentinelError", (err: Error) => {
      this.recent.lastSentinel = err;
    });
    client.on("node error", (err: Error) => {
      this.recent.last ??= err;
    });
    client.on("ready", () => {
      this.recent.last = undefined;
      this.recent.lastSentinel = undefined;
    });
  }
}

/**
 * `err` as one `RedisUnavailableError` line when it says Redis cannot answer
 * ("cannot reach Redis at <url>: <reason>", "cluster down: <reason>; cluster
 * <url>"); null for anything else (a script error, a wrong type, ...).
 */
export function describeFailure(
  err: unknown,
  ctx: FailureContext,
  recent: RecentErrors = {},
): RedisUnavailableError | null {
  if (!(err instanceof Error) || err instanceof BatchjobError || kindOf(err) === null) return null;
  // the real reason of a timeout or a flushed queue is the connection's last error
  const last = recent.last;
  const cause = isGeneric(err) && last && !(last instanceof BatchjobError) && kindOf(last) !== null ? last : err;
  const kind = kindOf(cause) ?? "network";
  const reason = oneLine(reasonOf(cause, kind, ctx, recent));
  const message =
    ctx.cluster && kind !== "auth"
      ? `cluster down: ${reason}; cluster ${ctx.url}`
      : `cannot reach Redis at ${ctx.url}: ${reason}`;
  return new RedisUnavailableError(message, { cause: err });
}

function reasonOf(cause: Error, kind: Kind, ctx: FailureContext, recent: RecentErrors): string {
  const m = cause.message;
  if (kind === "auth") return `authentication failed (${m})`;
  if (kind === "readonly") return `the server is a read-only replica, not the master (${m})`;
  if (/^Failed to refresh slots cache/.test(m)) {
    const last = (cause as Error & { lastNodeError?: Error }).lastNodeError;
    return `no node answers${detail(last?.message)}`;
  }
  const redirected = /^Too many Cluster redirections\. Last error: (?:\w*Error: )?(.*)$/s.exec(m);
  if (redirected) {
    const last = redirected[1] ?? "";
    const moved = /^MOVED (\d+) (\S+)/.exec(last);
    return moved ? `slot ${moved[1]} is served by ${moved[2]}, which does not answer` : last;
  }
  if (/^All sentinels are unreachable/.test(m)) {
    const last = /Last error: (.*)$/s.exec(m)?.[1];
    const unknown = `no sentinel knows a master named "${ctx.masterName ?? "?"}"`;
    if (last && /No such master/i.test(last)) return unknown;
    if (last && !isGeneric(new Error(last))) return `no sentinel answers${detail(last)}`;
    if (recent.lastSentinel && /invalid reply|No such master/i.test(recent.lastSentinel.message)) return unknown;
    return "no sentinel answers";
  }
  if (abortedByConnection(cause)) return "the connection was lost during a MULTI, none of which ran";
  if (!isGeneric(cause)) return m;
  if (/^Command timed out$/.test(m)) return `no reply within ${ctx.commandTimeoutMs} ms`;
  if (ctx.cluster) return "no node answers";
  return `the connection failed (${m})`;
}

/** " (<message>)" when it says more than that something failed. */
function detail(message: string | undefined): string {
  return message && !isGeneric(new Error(message)) ? ` (${message})` : "";
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/**
 * What a fail-fast connection does with each command: maps its rejection,
 * and skips sending it (from the offline queue, on a reconnect) once its
 * caller was told it failed; a pipeline is skipped whole once one of its
 * commands timed out, so no part of a MULTI runs alone.
 */
class FailFast {
  private readonly watched = new WeakSet<Command>();
  private readonly deadPipelines = new WeakSet<object>();
  readonly watch: ConnectionWatch;

  constructor(
    client: Redis | Cluster,
    readonly ctx: FailureContext,
  ) {
    this.watch = new ConnectionWatch(client);
    this.wrapPipelines(client);
  }

  /** Call from `sendCommand`: true when the command must not be sent. */
  intercept(command: Command, stream: Stream | undefined, status: string): boolean {
    if (stream ? this.deadPipelines.has(stream) : command.isSettled) return true;
    if (this.watched.has(command)) return false;
    // ioredis's own handshake (HELLO, AUTH, CLIENT SETNAME, INFO) keeps its errors as they are
    if (status === "connect" && Command.checkFlag("HANDSHAKE_COMMANDS", command.name)) return false;
    this.watched.add(command);
    const reject = command.reject;
    command.reject = (err: Error) => {
      if (stream && /^Command timed out$/.test(err.message)) this.deadPipelines.add(stream);
      reject.call(command, this.map(err));
    };
    return false;
  }

  map(err: Error): Error {
    return describeFailure(err, this.ctx, this.watch.recent) ?? err;
  }

  /** A pipeline's or a MULTI's `exec` rejects with the mapped error too (a cluster that never got ready). */
  private wrapPipelines(client: Redis | Cluster): void {
    const self = this;
    for (const name of ["pipeline", "multi"] as const) {
      const original = client[name] as (...args: unknown[]) => unknown;
      // biome-ignore lint/suspicious/noExplicitAny: replaces an overloaded method with the same overloads
      (client as any)[name] = function (this: unknown, ...args: unknown[]) {
        const p = original.apply(this, args) as { exec?: (...a: unknown[]) => Promise<unknown> };
        if (p && typeof p.exec === "function") {
          const exec = p.exec;
          p.exec = function (this: unknown, ...a: unknown[]) {
            if (typeof a[0] === "function") return exec.apply(this, a);
            return exec.apply(this, a).catch((err: Error) => {
              throw self.map(err);
            });
          };
        }
        return p;
      };
    }
  }
}

/** A single-node or Sentinel connection that fails fast (see `FailFast`). */
export class FailFastRedis extends Redis {
  // set right after super(), which sends no command before it returns
  private readonly failFast: FailFast;

  constructor(options: NodeOptions, ctx: FailureContext) {
    super(options);
    this.failFast = new FailFast(this, ctx);
  }

  override sendCommand(command: Command, stream?: Stream): unknown {
    if (this.failFast.intercept(command, stream, this.status)) return command.promise;
    // QUIT while not connected: close now (ioredis does so only when no command waits, and timed-out ones may)
    if (command.name === "quit" && !stream && this.status !== "ready") {
      this.disconnect();
      command.resolve(Buffer.from("OK"));
      return command.promise;
    }
    return super.sendCommand(command, stream);
  }

  /**
   * Closed between two reconnect attempts, ioredis clears the timer but stays
   * "reconnecting" for ever, with no "end": end it, failing what still waits.
   */
  override disconnect(reconnect = false): void {
    const between = this.status === "reconnecting";
    super.disconnect(reconnect);
    if (!between || reconnect) return;
    // both private in ioredis's types; what its own close does
    const self = this as unknown as { setStatus(status: string): void; flushQueue(err: Error): void };
    self.setStatus("end");
    self.flushQueue(new Error("Connection is closed."));
  }
}

/**
 * A cluster connection that fails fast: besides `FailFast`, each command
 * gets its deadline here, since a command waiting in the cluster's own queue
 * (no node reachable) is not yet on any node connection, whose
 * `commandTimeout` would bound it.
 */
export class FailFastCluster extends Cluster {
  private readonly failFast: FailFast;

  constructor(nodes: ClusterNode[], options: ClusterConnectOptions, ctx: FailureContext) {
    super(nodes, options);
    this.failFast = new FailFast(this, ctx);
  }

  override sendCommand(command: Command, stream?: Stream, node?: unknown): unknown {
    if (this.failFast.intercept(command, stream, this.status)) return command.promise;
    command.setTimeout(this.failFast.ctx.commandTimeoutMs);
    return super.sendCommand(command, stream, node);
  }

  /**
   * Closed while no node is connected (all gone), ioredis waits for the last
   * node to end, which already happened, and stays "disconnecting" for ever:
   * end it.
   */
  override disconnect(reconnect = false): void {
    super.disconnect(reconnect);
    if (!reconnect) this.endIfNoNode();
  }

  override quit(callback?: Parameters<Cluster["quit"]>[0]): Promise<"OK"> {
    if (this.nodes().length > 0 || this.status === "wait") return super.quit(callback);
    this.disconnect();
    callback?.(null, "OK");
    return Promise.resolve("OK");
  }

  private endIfNoNode(): void {
    if (this.status !== "disconnecting" || this.nodes().length > 0) return;
    // both private in ioredis's types; what the pool's "drain" leads to
    const self = this as unknown as { setStatus(status: string): void; handleCloseEvent(): void };
    self.setStatus("close");
    self.handleCloseEvent();
  }
}
