/** Every command of the CLI, in the order `batchjob --help` lists them. */
import type { Command } from "../command.js";
import { aclCommand } from "./acl.js";
import { configCheckCommand } from "./config-check.js";
import { dashboardCommand } from "./dashboard.js";
import { deadListCommand, deadPurgeCommand, deadRetryCommand } from "./dead.js";
import { demoCommand } from "./demo.js";
import { drainCommand } from "./drain.js";
import { enqueueCommand } from "./enqueue.js";
import { historyCommand } from "./history.js";
import { managerCommand } from "./manager.js";
import { pauseCommand, resumeCommand } from "./pause.js";
import { statusCommand } from "./status.js";
import { workerCommand } from "./worker.js";

export const commands: Command[] = [
  managerCommand,
  workerCommand,
  statusCommand,
  dashboardCommand,
  enqueueCommand,
  historyCommand,
  deadListCommand,
  deadRetryCommand,
  deadPurgeCommand,
  pauseCommand,
  resumeCommand,
  drainCommand,
  configCheckCommand,
  aclCommand,
  demoCommand,
];
