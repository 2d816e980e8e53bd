import pino from "pino";
import pretty from "pino-pretty";
import { settings, type Settings } from "@/lib/platform/env.ts";

const REDACT: pino.LoggerOptions["redact"] = {
  paths: [
    "password",
    "client_secret",
    "secret",
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "authorization",
    "*.password",
    "*.client_secret",
    "*.authorization",
  ],
  censor: "[redacted]",
};

// The buffered production log is written at least this often: the line of a failure must reach
// the log pipeline while it still matters, not when 4 KiB of later lines have piled up.
const FLUSH_INTERVAL_MS = 1000;

/**
 * A logger for these settings: JSON lines in production (one object per event, for a log
 * pipeline), readable lines in development. `destination` replaces the production default
 * (standard output, buffered).
 */
export function createLogger(s: Pick<Settings, "NODE_ENV" | "LOG_LEVEL">, destination?: pino.DestinationStream): pino.Logger {
  const options: pino.LoggerOptions = {
    level: s.LOG_LEVEL,
    base: { service: "ropc-login-kit" },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Secrets never reach the logger by design (we log reasons, not requests); this is a second
    // line of defence.
    redact: REDACT,
  };
  if (s.NODE_ENV === "development") return pino(options, pretty({ colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname,service", sync: true }));
  if (s.NODE_ENV !== "production") return pino(options);
  // Buffered writes (a write per 4 KiB, not per line): one syscall per request is a measurable
  // share of the token endpoint's CPU. Flushed every second, and on shutdown (serve.ts).
  const log = pino(options, destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 }));
  // pino's flush never throws (a closed destination reports to a callback it ignores).
  setInterval(() => log.flush(), FLUSH_INTERVAL_MS).unref();
  return log;
}

/** The one logger of the app. Endpoints log through a child carrying the request id. */
export const logger = createLogger(settings());

/**
 * The audit trail's lines: the same logger without the redaction pass, which would copy every
 * line's object. An audit record holds no secret by construction (AuditRecord: names, addresses,
 * reasons), and it is written on every token request.
 */
export const auditLogger = logger.child({}, { redact: { paths: [] } });

// The server's shutdown flushes the log through this, without loading this module itself.
(globalThis as Record<symbol, unknown>)[Symbol.for("ropc.logger.flush")] = () => logger.flush();

export type Logger = pino.Logger;
