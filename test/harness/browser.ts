/**
 * A headless Debian chromium driven by playwright-core, for the dashboard's
 * browser tests and its screenshot script: a fresh profile each launch, no
 * network beyond what the page asks for, closed (and its profile deleted) by
 * `close()`. `.ci/run` installs chromium when /usr/bin/chromium is missing.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

/** A headless chromium with a fresh profile; `close()` ends it and deletes the profile. */
export async function launchChromium(options: { width?: number; height?: number } = {}): Promise<{
  context: BrowserContext;
  close(): Promise<void>;
}> {
  if (!hasChromium()) {
    throw new Error(
      `no chromium at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium; .ci/run does)`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), "bj-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
