/**
 * Where the server listens: `HOST:PORT` parsed strictly (`[::1]:PORT` for
 * IPv6), and the rule that a non-loopback address needs a token, so a
 * dashboard with pause and purge buttons is never open to a network by mistake.
 */
import { isIP } from "node:net";
import { UsageError } from "@batchjob/core";

/** The environment variable holding the server's bearer token. */
export const TOKEN_ENV = "BATCHJOB_HTTP_TOKEN";

export interface ListenAddress {
  host: string;
  /** 0: a free port chosen by the system (tests). */
  port: number;
}

/** `HOST:PORT` (or `[V6]:PORT`); `what` names the flag or config field in the error. */
export function parseListen(value: string, what: string): ListenAddress {
  const m = /^(?:\[([^\]\s]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || port > 65535) {
    throw new UsageError(`${what} must be HOST:PORT (like 127.0.0.1:8080 or [::1]:8080), got "${value}"`);
  }
  if (m[1] !== undefined && isIP(host) !== 6) throw new UsageError(`${what}: "${host}" is not an IPv6 address`);
  return { host, port };
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || (isIP(h) === 4 && h.startsWith("127."));
}

/** "host:port", brackets around an IPv6 host. */
export function formatAddress(a: ListenAddress): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Refuses a non-loopback address without a token: the error names the address and the variable. */
export function assertSafeListen(a: ListenAddress, token: string | undefined): void {
  if (token || isLoopback(a.host)) return;
  throw new UsageError(
    `refusing to listen on ${formatAddress(a)} without a token: anyone who can reach it could pause job types and purge dead letters; set ${TOKEN_ENV} (clients then send "Authorization: Bearer <token>") or listen on 127.0.0.1`,
  );
}

/** The token from the environment: unset is none, set but empty is an error. */
export function tokenFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const t = env[TOKEN_ENV];
  if (t === undefined) return undefined;
  if (t.trim() === "") throw new UsageError(`${TOKEN_ENV} is set but empty: unset it or give it a token`);
  return t;
}
