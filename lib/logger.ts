import pino from "pino";
import { settings } from "@/lib/env.ts";

/**
 * The one logger of the app: JSON lines, one object per event. Secrets never reach it by design
 * (we log reasons, not requests); the redaction list is a second line of defence.
 */
export const logger = pino({
  level: settings().LOG_LEVEL,
  base: { service: "ropc-login-kit" },
  timestamp: pino.stdTimeFunctions.isoTime,
  redact: {
    paths: ["password", "client_secret", "secret", "token", "access_token", "id_token", "refresh_token", "authorization", "*.password", "*.client_secret", "*.authorization"],
    censor: "[redacted]",
  },
});

export type Logger = pino.Logger;
