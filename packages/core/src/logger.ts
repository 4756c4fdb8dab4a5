/** pino JSON logs for the daemons and the CLI; `BATCHJOB_LOG_LEVEL` sets the level. */
import { type Logger, pino } from "pino";

export type { Logger };

export function createLogger(name: string, options: { level?: string } = {}): Logger {
  return pino({ name, level: options.level ?? process.env.BATCHJOB_LOG_LEVEL ?? "info" });
}
