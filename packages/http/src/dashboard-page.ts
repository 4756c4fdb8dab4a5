/**
 * The dashboard page and its assets, all shipped in this package (no CDN):
 * the HTML shell rendered here (every value escaped), the stylesheet and the
 * script from `assets/`. The script fills the page from the JSON API and
 * polls it every 2 s; it writes values with textContent, never as HTML.
 */
import { readFile } from "node:fs/promises";

const ASSETS = new URL("../assets/", import.meta.url);

/** The assets served under /assets/, with their content types. */
export const ASSET_TYPES: Record<string, string> = {
  "dashboard.js": "text/javascript; charset=utf-8",
  "dashboard.css": "text/css; charset=utf-8",
};

/** The content security policy of every page: nothing but this server. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const cache = new Map<string, Buffer>();

/** An asset's bytes (read once), or undefined for a name that is not one. */
export async function asset(name: string): Promise<Buffer | undefined> {
  if (!Object.hasOwn(ASSET_TYPES, name)) return undefined;
  let b = cache.get(name);
  if (!b) {
    b = await readFile(new URL(name, ASSETS));
    cache.set(name, b);
  }
  return b;
}

/** Text made safe for HTML content and quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function shell(title: string, body: string, bodyAttrs = ""): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body${bodyAttrs}>
${body}
</body>
</html>
`;
}

/** The dashboard: sections the script fills; `metrics` says whether charts can be drawn. */
export function dashboardPage(o: { prefix: string; metrics: boolean }): string {
  const section = (id: string, title: string) =>
    `<section id="${id}"><h2>${escapeHtml(title)}</h2><div class="body"><p class="muted">Loading…</p></div></section>`;
  return shell(
    `batchjob · ${o.prefix}`,
    `<header>
<h1>batchjob <span class="muted">prefix</span> <code id="prefix">${escapeHtml(o.prefix)}</code></h1>
<p id="summary" class="muted">Loading…</p>
<p id="problems" class="problems" hidden></p>
</header>
<main>
${section("types", "Job types")}
${section("charts", "Throughput and latency (last hour)")}
${section("hosts", "Hosts")}
${section("workers", "Workers")}
${section("history", "Recent workers")}
${section("dead", "Dead letters")}
</main>
<footer class="muted">Live: refreshed every 2 s from <a href="/api/status">/api/status</a> · <a href="/metrics">/metrics</a></footer>
<script src="/assets/dashboard.js"></script>`,
    ` data-metrics="${o.metrics ? "1" : "0"}"`,
  );
}

/** The page a browser without the token gets: how to open the dashboard with it. */
export function tokenPage(wrong: boolean): string {
  return shell(
    "batchjob · token needed",
    `<main class="narrow">
<h1>batchjob dashboard</h1>
<p>${wrong ? "That token is not this server's." : "This server needs its token (BATCHJOB_HTTP_TOKEN)."}</p>
<form method="get" action="/">
<label>Token <input type="password" name="token" autocomplete="off" required></label>
<button type="submit">Open</button>
</form>
<p class="muted">The token is exchanged for an HttpOnly, SameSite=Strict cookie that holds a hash of it; the address bar is cleared at once.</p>
</main>`,
  );
}
