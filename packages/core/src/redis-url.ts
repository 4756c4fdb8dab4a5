/**
 * The one parser of Redis URLs: `connectRedis` connects by what it returns and
 * the config schema checks `redis.url` with it, so `config check` accepts
 * exactly what the daemons accept. `redactRedisUrl` hides a URL's password in
 * anything printed (errors, logs, issues), even for a URL that does not parse.
 *
 *   redis://[[user]:password@]host[:port][/db]              one node (port 6379, db 0)
 *   rediss://...                                            the same over TLS
 *   redis-cluster://[[user]:password@]host:port[,host:port...]        a Redis Cluster
 *   redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/master-name[?db=N]
 *   rediss-sentinel://...                                   Sentinel, TLS to sentinels and nodes
 *
 * Sentinels default to port 26379. The credentials are those of the master
 * and replicas; the sentinels are asked without a password. User and
 * password are percent-decoded (`%40` for `@`).
 */
import { InvalidArgumentError } from "./errors.js";

export interface RedisAddress {
  host: string;
  port: number;
}

export interface RedisCredentials {
  username?: string;
  password?: string;
}

export type RedisTarget =
  | ({ kind: "single"; tls: boolean; db: number } & RedisAddress & RedisCredentials)
  | ({ kind: "cluster"; nodes: RedisAddress[] } & RedisCredentials)
  | ({ kind: "sentinel"; tls: boolean; sentinels: RedisAddress[]; masterName: string; db: number } & RedisCredentials);

export const REDIS_URL_FORMS =
  "redis://[user:password@]host[:port][/db], rediss://..., redis-cluster://host:port,host:port, " +
  "redis-sentinel://[user:password@]host:port,host:port/master-name[?db=N] or rediss-sentinel://...";

const SCHEMES = ["redis", "rediss", "redis-cluster", "redis-sentinel", "rediss-sentinel"] as const;
const SENTINEL_PORT = 26379;
const REDIS_PORT = 6379;
const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
/** What sentinel.conf allows in a master name. */
const MASTER_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** A problem with a URL, said without the URL (the caller names it, redacted). */
class UrlProblem extends Error {}

/**
 * The URL with its password replaced by `***` (`user:***@`, `:***@`; a
 * user part without a colon is hidden whole). Works on any string.
 */
export function redactRedisUrl(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url)?.[0] ?? "";
  const rest = url.slice(scheme.length);
  // the credentials end at the last "@": a password may hold "@", "/", ":" unencoded
  const at = rest.lastIndexOf("@");
  if (at < 0) return url;
  const info = rest.slice(0, at);
  const colon = info.indexOf(":");
  return `${scheme}${colon < 0 ? "***" : `${info.slice(0, colon)}:***`}@${rest.slice(at + 1)}`;
}

/** Parses a Redis URL; throws `InvalidArgumentError` naming the URL (redacted) and what is wrong. */
export function parseRedisUrl(url: string): RedisTarget {
  try {
    return parse(url);
  } catch (err) {
    if (err instanceof UrlProblem) throw new InvalidArgumentError(`redis URL ${redactRedisUrl(url)}: ${err.message}`);
    throw err;
  }
}

/** What is wrong with `url` (without naming it), or null when it parses. */
export function redisUrlProblem(url: string): string | null {
  try {
    parse(url);
    return null;
  } catch (err) {
    if (err instanceof UrlProblem) return err.message;
    throw err;
  }
}

function parse(url: string): RedisTarget {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(url);
  if (!m) throw new UrlProblem(`expected one of ${REDIS_URL_FORMS}`);
  const scheme = (m[1] ?? "").toLowerCase();
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    throw new UrlProblem(
      `unknown scheme "${m[1]}://": use redis://, rediss://, redis-cluster://, redis-sentinel:// or rediss-sentinel://`,
    );
  }
  let rest = m[2] ?? "";
  if (/\s/.test(rest)) throw new UrlProblem("remove the white space");
  const at = rest.lastIndexOf("@");
  const credentials = at < 0 ? {} : parseCredentials(rest.slice(0, at));
  rest = at < 0 ? rest : rest.slice(at + 1);
  if (rest.includes("#")) throw new UrlProblem("remove the #fragment");
  const q = rest.indexOf("?");
  const query = q < 0 ? undefined : rest.slice(q + 1);
  rest = q < 0 ? rest : rest.slice(0, q);
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? undefined : rest.slice(slash + 1);
  const tls = scheme.startsWith("rediss");

  if (scheme === "redis-sentinel" || scheme === "rediss-sentinel") {
    const sentinels = parseHosts(authority, SENTINEL_PORT, "sentinel");
    if (!path) {
      throw new UrlProblem(`name the master after the sentinels: ${scheme}://host:26379,host:26379/master-name`);
    }
    const masterName = decode(path, "master name");
    if (!MASTER_NAME.test(masterName)) {
      throw new UrlProblem(`master name "${masterName}": use 1 to 128 characters from A-Z a-z 0-9 . _ -`);
    }
    const params = parseQuery(query, ["db"]);
    const db = params.db === undefined ? 0 : parseDb(params.db);
    return { kind: "sentinel", tls, sentinels, masterName, db, ...credentials };
  }
  if (query !== undefined) {
    throw new UrlProblem(
      scheme === "redis-cluster"
        ? "redis-cluster:// takes no ?parameters"
        : `${scheme}:// takes no ?parameters; give the db as a path: ${scheme}://host:port/db`,
    );
  }
  if (scheme === "redis-cluster") {
    if (path) throw new UrlProblem("a cluster has only db 0: remove the /path");
    const nodes = parseHosts(authority, undefined, "node");
    return { kind: "cluster", nodes, ...credentials };
  }
  const hosts = parseHosts(authority, REDIS_PORT, "host");
  const [node] = hosts;
  if (!node || hosts.length > 1) {
    throw new UrlProblem(
      `${scheme}:// takes one host; for several use redis-cluster://h1:p1,h2:p2 or redis-sentinel://h1:p1,h2:p2/master-name`,
    );
  }
  const db = path === undefined || path === "" ? 0 : parseDb(path);
  return { kind: "single", tls, host: node.host, port: node.port, db, ...credentials };
}

function parseCredentials(info: string): RedisCredentials {
  const colon = info.indexOf(":");
  if (colon < 0) {
    throw new UrlProblem("write the credentials as user:password@ or :password@ (the part before @ has no colon)");
  }
  const username = decode(info.slice(0, colon), "user name");
  const password = decode(info.slice(colon + 1), "password");
  if (password === "")
    throw new UrlProblem("the password is empty: write user:password@, or leave the credentials out");
  return username ? { username, password } : { password };
}

function parseHosts(authority: string, defaultPort: number | undefined, what: string): RedisAddress[] {
  if (authority === "") throw new UrlProblem(`name at least one ${what} as host:port`);
  return authority.split(",").map((part) => parseHost(part, defaultPort, what));
}

function parseHost(part: string, defaultPort: number | undefined, what: string): RedisAddress {
  let host: string;
  let port: string | undefined;
  if (part.startsWith("[")) {
    const end = part.indexOf("]");
    if (end < 0) throw new UrlProblem(`${what} "${part}": close the IPv6 address with ]`);
    host = part.slice(1, end);
    const after = part.slice(end + 1);
    if (after !== "" && !after.startsWith(":")) throw new UrlProblem(`${what} "${part}": expected [address]:port`);
    port = after === "" ? undefined : after.slice(1);
    if (!/^[0-9A-Fa-f:.]+$/.test(host) || !host.includes(":")) {
      throw new UrlProblem(`${what} "${part}": "${host}" is not an IPv6 address`);
    }
  } else {
    const colon = part.indexOf(":");
    host = colon < 0 ? part : part.slice(0, colon);
    port = colon < 0 ? undefined : part.slice(colon + 1);
    if (host === "") throw new UrlProblem(`${what} "${part}": the host is missing (expected host:port)`);
    if (!HOSTNAME.test(host)) throw new UrlProblem(`${what} "${part}": "${host}" is not a host name or address`);
  }
  if (port === undefined) {
    if (defaultPort === undefined) throw new UrlProblem(`${what} "${part}": give its port (host:port)`);
    return { host, port: defaultPort };
  }
  const n = /^\d{1,5}$/.test(port) ? Number(port) : Number.NaN;
  if (!(n >= 1 && n <= 65535)) throw new UrlProblem(`${what} "${part}": the port must be a number from 1 to 65535`);
  return { host, port: n };
}

function parseQuery(query: string | undefined, known: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (query === undefined || query === "") return out;
  for (const pair of query.split("&")) {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (!known.includes(key)) {
      throw new UrlProblem(`unknown parameter "${key}" (known: ${known.join(", ")})`);
    }
    if (key in out) throw new UrlProblem(`parameter "${key}" is given twice`);
    out[key] = eq < 0 ? "" : pair.slice(eq + 1);
  }
  return out;
}

function parseDb(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new UrlProblem(`db must be a whole number ≥ 0 (got "${text}")`);
  return Number(text);
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UrlProblem(`the ${what} has a bad %-escape (write % as %25)`);
  }
}
