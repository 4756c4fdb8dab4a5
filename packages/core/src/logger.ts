/**
 * pino JSON logs for the daemons and the CLI; `BATCHJOB_LOG_LEVEL` sets the
 * level. No secret in a log line: the config is never logged whole, URL
 * fields are redacted where they are logged, and every line passes through
 * `redactUrlsInText` (a URL password in an error message, a stack, a child's
 * stderr) and loses the secret values the daemon knows (`secrets`) before it
 * is written.
 */
import { type DestinationStream, type Logger, pino } from "pino";
import { redactUrl, redactUrlsInText } from "./config/secret-urls.js";
import { scrubSecretValues } from "./config/secrets.js";

export type { Logger };

/** Fields that may hold a URL, at the top or one level down (`{ url }`, `{ connection: { url } }`). */
const URL_FIELDS = ["url", "redisUrl", "href", "*.url", "*.redisUrl", "*.href", "err.input"];

export interface LoggerOptions {
  /** @defaultValue $BATCHJOB_LOG_LEVEL, else "info" */
  level?: string;
  /** Where lines go. @defaultValue stdout */
  destination?: DestinationStream;
  /** Values no line may show (`secretValuesOf(configSchema, config)`): replaced by "[redacted]". */
  secrets?: readonly string[];
}

export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const secrets = options.secrets ?? [];
  const settings = {
    name,
    level: options.level ?? process.env.BATCHJOB_LOG_LEVEL ?? "info",
    redact: {
      paths: URL_FIELDS,
      censor: (value: unknown) => (typeof value === "string" ? redactUrl(value) : value),
    },
    hooks: { streamWrite: (line: string) => scrubSecretValues(redactUrlsInText(line), secrets) },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
