import pino from "pino";
import pretty from "pino-pretty";
import { settings } from "@/lib/env.ts";

const options: pino.LoggerOptions = {
  level: settings().LOG_LEVEL,
  base: { service: "ropc-login-kit" },
  timestamp: pino.stdTimeFunctions.isoTime,
  // Secrets never reach the logger by design (we log reasons, not requests); this is a second
  // line of defence.
  redact: {
    paths: ["password", "client_secret", "secret", "token", "access_token", "id_token", "refresh_token", "authorization", "*.password", "*.client_secret", "*.authorization"],
    censor: "[redacted]",
  },
};

/**
 * The one logger of the app: JSON lines in production (one object per event, for a log
 * pipeline), readable lines in development. Endpoints log through a child carrying the request id.
 */
export const logger =
  settings().NODE_ENV === "development"
    ? pino(options, pretty({ colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname,service", sync: true }))
    : settings().NODE_ENV === "production"
      ? // Buffered writes (a write per 4 KiB, not per line): one syscall per request is a
        // measurable share of the token endpoint's CPU. Flushed on shutdown (serve.ts).
        pino(options, pino.destination({ dest: 1, sync: false, minLength: 4096 }))
      : pino(options);

// The server's shutdown flushes the log through this, without loading this module itself.
(globalThis as Record<symbol, unknown>)[Symbol.for("ropc.logger.flush")] = () => logger.flush();

export type Logger = pino.Logger;
