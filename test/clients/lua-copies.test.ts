/**
 * The clients ship core's enqueue script as a file of their own
 * (scripts/sync-client-lua.mjs writes them): each copy must be the text core
 * runs, byte for byte, so every producer runs the same script (one SHA in
 * Redis's script cache) and none drifts from core's.
 */
import { readFileSync } from "node:fs";
import { scriptSource } from "@batchjob/core/internal";
import { describe, expect, it } from "vitest";
import { ROOT } from "./run-client-tests.js";

const COPIES = ["clients/python/batchjob_client/enqueue.lua", "clients/php/src/enqueue.lua"];

describe("the clients' copies of the enqueue script", () => {
  for (const copy of COPIES) {
    it(`${copy} is core's enqueue script as core runs it`, () => {
      const text = readFileSync(`${ROOT}${copy}`, "utf8");
      // on a difference: `pnpm sync:clients` writes the copies again
      expect(
        text === scriptSource("enqueue"),
        `${copy} differs from core's enqueue script: run pnpm sync:clients`,
      ).toBe(true);
    });
  }
});
