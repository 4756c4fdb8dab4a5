/**
 * The password of a URL: `redactUrl` hides it in a URL given as such (a
 * `redis.url`, an http launcher's `url`), `redactUrlsInText` in any text (the
 * last line of defence for error messages and log lines), `urlSecrets` names
 * it for `scrubSecretValues`.
 */

/** What the password of a URL is replaced by. */
export const URL_PASSWORD_MASK = "***";

/** Query parameters whose value is a credential (ioredis reads `password` from the query, too). */
const SECRET_QUERY = /^(password|pass|pwd|secret|token|access_token|auth|api[-_]?key|apikey|sig|signature)$/i;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
/** The schemes of redis-url.ts, whose parser ends the credentials at the last "@" of the URL. */
const REDIS_SCHEME = /^rediss?(-cluster|-sentinel)?:\/\//i;

/** Where a URL's parts are: its password (a span of `url`, when it has one) and where its query starts. */
function urlLayout(url: string): { password?: [number, number]; queryAt: number } {
  // without a scheme: as ioredis reads it, "user:password@host:port"
  const scheme = SCHEME.exec(url)?.[0].length ?? 0;
  const rest = url.slice(scheme);
  if (REDIS_SCHEME.test(url)) {
    // as the daemons read it (redis-url.ts): a password may hold "@", "/", "?" unencoded
    const at = rest.lastIndexOf("@");
    const q = rest.slice(at + 1).search(/[?#]/);
    const queryAt = q < 0 ? url.length : scheme + at + 1 + q;
    const colon = at < 0 ? -1 : rest.slice(0, at).indexOf(":");
    return colon < 0 ? { queryAt } : { password: [scheme + colon + 1, scheme + at], queryAt };
  }
  const q = rest.search(/[?#]/);
  const head = q < 0 ? rest : rest.slice(0, q);
  const queryAt = q < 0 ? url.length : scheme + q;
  // userinfo ends at the last "@" of the authority; a password holding "/" ends it early, so look further
  const authorityEnd = head.search(/[/\\]/);
  const authority = authorityEnd < 0 ? head : head.slice(0, authorityEnd);
  let at = authority.lastIndexOf("@");
  if (at < 0) {
    const colon = authority.indexOf(":");
    const looksLikePassword = colon >= 0 && !/^\d*$/.test(authority.slice(colon + 1));
    if (looksLikePassword) at = head.lastIndexOf("@");
  }
  const colon = at < 0 ? -1 : head.slice(0, at).indexOf(":");
  return colon < 0 ? { queryAt } : { password: [scheme + colon + 1, scheme + at], queryAt };
}

/**
 * `url` with its password replaced by "***" (`redis://user:***@host:6379`),
 * and the values of credential query parameters (`?password=***`). The user
 * name stays. Works on text no URL parser accepts (an unencoded "@" or "/"
 * in the password): it never throws and never shows more than it hides.
 */
export function redactUrl(url: string): string {
  const { password, queryAt } = urlLayout(url);
  const head = password
    ? url.slice(0, password[0]) + URL_PASSWORD_MASK + url.slice(password[1], queryAt)
    : url.slice(0, queryAt);
  return head + redactQuery(url.slice(queryAt));
}

/** The secrets of a URL: its password (as written and decoded) and its credential query values. */
export function urlSecrets(url: string): string[] {
  const { password, queryAt } = urlLayout(url);
  const out: string[] = [];
  if (password) out.push(url.slice(...password));
  for (const m of url.slice(queryAt).matchAll(QUERY_PARAM)) if (SECRET_QUERY.test(m[2] ?? "")) out.push(m[3] ?? "");
  for (const v of [...out]) {
    try {
      out.push(decodeURIComponent(v));
    } catch {
      // not percent-encoded
    }
  }
  return out;
}

const QUERY_PARAM = /([?&;])([^=&#;\s]+)=([^&#;\s]*)/g;

function redactQuery(text: string): string {
  return text.replace(QUERY_PARAM, (all, sep: string, name: string) =>
    SECRET_QUERY.test(name) ? `${sep}${name}=${URL_PASSWORD_MASK}` : all,
  );
}

/** `scheme://user:password@` anywhere in a text (a JSON log line too): the password becomes "***". */
const URL_PASSWORD_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#"'<>\\]*):([^\s@/?#"'<>\\]+)@/gi;
const SECRET_QUERY_IN_TEXT =
  /([?&;])(password|pass|pwd|secret|token|access_token|auth|api[-_]?key|apikey|sig|signature)=([^&#;\s"'<>\\]*)/gi;

/**
 * Free text (an error message, a log line) with every URL password and
 * credential query value replaced by "***". For text whose URLs nobody
 * parsed; where the URL is known, `redactUrl` it at the source.
 */
export function redactUrlsInText(text: string): string {
  if (!text.includes("://") && !text.includes("=")) return text;
  return text
    .replace(URL_PASSWORD_IN_TEXT, (_all, scheme: string, user: string) => `${scheme}${user}:${URL_PASSWORD_MASK}@`)
    .replace(SECRET_QUERY_IN_TEXT, (_all, sep: string, name: string) => `${sep}${name}=${URL_PASSWORD_MASK}`);
}
