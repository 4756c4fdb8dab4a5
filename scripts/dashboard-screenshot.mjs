#!/usr/bin/env node
// Saves a screenshot of the dashboard during a run of the demo to docs/dashboard.png:
//   1. `batchjob demo --items N` (REDIS_URL when set, else its private redis-server),
//   2. the dashboard the demo serves on loopback (it prints the URL),
//   3. headless Debian chromium (playwright-core) opens it once workers run, and
//      screenshots the whole page; then the demo is interrupted (it stops its daemons).
// Usage: pnpm build && node scripts/dashboard-screenshot.mjs [--items N] [--out FILE]
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const BIN = join(ROOT, "packages/cli/dist/bin.js");
const CHROMIUM = "/usr/bin/chromium";
const { values } = parseArgs({
  options: { items: { type: "string", default: "200000" }, out: { type: "string", default: "docs/dashboard.png" } },
});
if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run pnpm build first`);
if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install -y chromium`);

/** A CLI process whose output is kept; `waitFor(re)` resolves with the first match. */
function cli(args, env) {
  // no token: the dashboard listens on loopback only, for this script
  const { BATCHJOB_HTTP_TOKEN: _, ...base } = process.env;
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d.toString();
  });
  child.stderr.on("data", (d) => {
    out += d.toString();
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    child,
    exited,
    async waitFor(re, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (child.exitCode !== null) throw new Error(`batchjob ${args[0]} exited: ${out.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}: ${out.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

const demo = cli(["demo", "--items", values.items], { BATCHJOB_LOG_LEVEL: "warn" });
let context;
const profile = mkdtempSync(join(tmpdir(), "bj-chromium-"));
try {
  // the demo serves the dashboard of its run on loopback and prints its URL (its lines wrap at 80 columns)
  const [, prefix] = await demo.waitFor(/--prefix ([\w-]+)/);
  const [, url] = await demo.waitFor(/or open the dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/);
  await demo.waitFor(/enqueued [\d,]+ items/);
  // workers running on both hosts: a page with something in most sections
  for (const deadline = Date.now() + 60_000; ; ) {
    const s = await (await fetch(`${url}api/status`)).json();
    const running = s.jobTypes.reduce((n, t) => n + t.running, 0);
    if (s.hosts.filter((h) => h.alive).length >= 2 && running >= 2) break;
    if (Date.now() > deadline)
      throw new Error(`the demo did not get going within 60 s: ${JSON.stringify(s).slice(0, 1500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  await page.goto(url);
  await page.locator("#types tr[data-type]").first().waitFor();
  await page.locator("#workers tbody tr").first().waitFor();
  const out = join(ROOT, values.out);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`saved ${out} (prefix ${prefix})`);
} finally {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
  demo.child.kill("SIGINT");
  await demo.exited;
}
