/** Per-file setup: after each test, delete its keys and fail it if it left a connection, daemon or process open. */
import { afterEach } from "vitest";
import { closeLeftovers, deleteTestKeys } from "./index.js";

afterEach(async () => {
  const left = await closeLeftovers();
  await deleteTestKeys();
  if (left.length > 0) throw new Error(`the test left open: ${left.join(", ")}`);
});
