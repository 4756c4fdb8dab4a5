// Registers tsx's ESM loader, so a script can import the TypeScript of
// test/ (the chaos harness, the test harness's redis-server helpers) without
// a build step. tsx is found from packages/cli, which depends on it (its
// .cjs entry cannot register ESM hooks: the ESM one of its register API).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

export async function registerTsx() {
  const require = createRequire(new URL("../packages/cli/package.json", import.meta.url));
  const tsxPackage = require.resolve("tsx/package.json");
  const api = JSON.parse(readFileSync(tsxPackage, "utf8")).exports["./esm/api"].import.default;
  const { register } = await import(pathToFileURL(join(dirname(tsxPackage), api)).href);
  register();
}
