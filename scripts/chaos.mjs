#!/usr/bin/env node
// `pnpm chaos`: runs the chaos harness (test/chaos/run.ts, TypeScript) through
// tsx's loader (scripts/tsx-register.mjs); the code under test is the built
// tree (`tsc -b` runs first). Arguments go to the harness (--help).
import { registerTsx } from "./tsx-register.mjs";

await registerTsx();
const { main } = await import("../test/chaos/run.ts");
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
