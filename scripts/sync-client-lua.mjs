// Writes the producer protocol's script (core's enqueue, assembled as core
// runs it: version line, includes, keys, script) into each client of
// clients/, which ship it as a file of their own. `--check` only compares
// and exits 1 on a difference; test/clients/lua-copies.test.ts does the same
// in `npm test`, so a copy cannot drift from core's script.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LUA_DIR, scriptSource } from "../packages/core/dist/internal.js";

export const COPIES = ["clients/python/batchjob_client/enqueue.lua", "clients/php/src/enqueue.lua"];

const root = fileURLToPath(new URL("../", import.meta.url));
const check = process.argv.includes("--check");
const text = scriptSource("enqueue");
let stale = 0;
for (const copy of COPIES) {
  const path = root + copy;
  let old = null;
  try {
    old = readFileSync(path, "utf8");
  } catch {
    // not written yet
  }
  if (old === text) continue;
  if (check) {
    stale++;
    console.error(`${copy} differs from core's enqueue script (${LUA_DIR}enqueue.lua)`);
  } else {
    writeFileSync(path, text);
    console.log(`wrote ${copy}`);
  }
}
if (stale > 0) {
  console.error("run `pnpm sync:clients` to write them again");
  process.exit(1);
}
