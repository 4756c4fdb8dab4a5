/**
 * Who may call the server and how an action proves it is not a cross-site
 * request. With a token: `Authorization: Bearer <token>`, or the dashboard's
 * cookie (HttpOnly, SameSite=Strict, set by opening `/?token=<token>` once),
 * which holds an HMAC of the token, never the token. Actions (POST) also need
 * the `X-Batchjob-Action: 1` header or a JSON body, which a cross-site form
 * cannot send, and a same-origin `Origin` when the browser sends one.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const COOKIE_NAME = "batchjob_session";
export const ACTION_HEADER = "x-batchjob-action";

/** Constant-time comparison (of digests, so the lengths never show either). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHmac("sha256", "batchjob-compare").update(given).digest();
  const b = createHmac("sha256", "batchjob-compare").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The cookie value standing for `token`: an HMAC of it, so the browser never stores the token itself. */
export function sessionValue(token: string): string {
  return createHmac("sha256", token).update("batchjob-dashboard-session").digest("base64url");
}

/** The Set-Cookie header for `token`. */
export function sessionCookie(token: string, secure: boolean): string {
  return `${COOKIE_NAME}=${sessionValue(token)}; Path=/; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** True when no token is set, or the request carries it (bearer header or session cookie). */
export function isAuthorized(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return sameSecret(auth.slice("Bearer ".length), token);
  const session = cookie(req, COOKIE_NAME);
  return session !== undefined && sameSecret(session, sessionValue(token));
}

/** Why an action request may be cross-site (refused), or undefined when it is not. */
export function crossSiteReason(req: IncomingMessage): string | undefined {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (req.headers[ACTION_HEADER] !== "1" && type !== "application/json") {
    return `an action needs the header "X-Batchjob-Action: 1" or a JSON body (Content-Type: application/json)`;
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    // behind a proxy that rewrites Host, the public host comes as X-Forwarded-Host (a header no
    // cross-site form can send, nor a cross-site script without a CORS preflight this server never allows)
    const own = [req.headers.host, req.headers["x-forwarded-host"]];
    if (host === undefined || !own.includes(host)) return `origin ${JSON.stringify(origin)} is not this server`;
  }
  return undefined;
}
