#!/usr/bin/env node
// The CLI package's `prepack` and `postpack`: copies examples/demo into
// packages/cli/demo so the packed `batchjob demo` has its config and jobs
// (`node pack-demo.mjs copy`), and removes the copy after packing (`remove`).
import { cpSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const from = fileURLToPath(new URL("../examples/demo", import.meta.url));
const to = fileURLToPath(new URL("../packages/cli/demo", import.meta.url));
const action = process.argv[2];
if (action !== "copy" && action !== "remove") {
  console.error("usage: pack-demo.mjs copy|remove");
  process.exit(2);
}
rmSync(to, { recursive: true, force: true });
if (action === "copy") cpSync(from, to, { recursive: true });
