#!/usr/bin/env node
// `pnpm chaos`: runs the chaos harness (test/chaos/run.ts, TypeScript) through
// tsx's loader, which packages/cli already depends on; the code under test is
// the built tree (`tsc -b` runs first). Arguments go to the harness (--help).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

// tsx's ESM entry of its register API, found from packages/cli (the .cjs one cannot register ESM hooks)
const require = createRequire(new URL("../packages/cli/package.json", import.meta.url));
const tsxPackage = require.resolve("tsx/package.json");
const api = JSON.parse(readFileSync(tsxPackage, "utf8")).exports["./esm/api"].import.default;
const { register } = await import(pathToFileURL(join(dirname(tsxPackage), api)).href);
register();
const { main } = await import("../test/chaos/run.ts");
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
