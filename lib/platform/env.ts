import path from "node:path";
import { z } from "zod";
import { trustProxyProblem } from "@/lib/platform/trust-proxy.ts";

/** A whole number from the environment, within its range, with its default. */
const integer = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/**
 * Every setting of the app, validated once at first use. Development needs none of them; a
 * production server refuses to start without its secrets (see `assertProductionSettings`).
 * `.env.example` documents each one.
 */
const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: integer(1, 65535, 3000),
  APP_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, "must be a file: URL (SQLite) or a postgresql:// URL")
    .default("file:prisma/data/dev.db"),
  NEXTAUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  LOGIN_CLIENT_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** How long a process may serve cached signing keys before reading them again (seconds). */
  KEY_CACHE_SECONDS: integer(0, 3600, 60),
  /** `key rotate`: how long a new key is published before it signs (seconds). */
  KEY_ROTATION_DELAY_SECONDS: integer(0, 604800, 600),
  /** How long a process may serve cached workspace and client settings (seconds). */
  CONFIG_CACHE_SECONDS: integer(0, 3600, 10),
  /**
   * A consumed refresh token presented again within this many seconds is refused without
   * revoking its family (a client's own concurrent refreshes). 0: every reuse revokes.
   */
  REFRESH_REUSE_GRACE_SECONDS: integer(0, 60, 0),
  /** Brute-force defence: failures allowed per (username, IP) and per IP within the window. */
  LOCKOUT_USER_IP_LIMIT: integer(1, 1000, 5),
  LOCKOUT_IP_LIMIT: integer(1, 100000, 50),
  LOCKOUT_WINDOW_SECONDS: integer(1, 86400, 900),
  /**
   * Proxies whose X-Forwarded-For is believed: a hop count (`1`, `2`: that many proxies in front),
   * or addresses, CIDR ranges and the names loopback, linklocal, uniquelocal. Unset: none.
   */
  TRUST_PROXY: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      const problem = value === undefined ? undefined : trustProxyProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  /** Failed sign-ins of one account from all addresses within the window before it is refused (429). */
  LOCKOUT_ACCOUNT_LIMIT: integer(1, 1000000, 100),
  /** An address a user signed in from this many days ago or less is spared the account and address limits. */
  LOCKOUT_KNOWN_ADDRESS_DAYS: integer(0, 365, 30),
  /** Unauthenticated failures (unknown client, bad secret, malformed) one address may cause per minute. */
  UNAUTHENTICATED_FAILURE_LIMIT: integer(1, 1000000, 300),
  /** Absolute lifetime of a sign-in (a refresh-token family), whatever its rotations (seconds). */
  SESSION_MAX_SECONDS: integer(60, 31536000, 2592000),
  /** How long an `mfa_token` (a sign-in waiting for its second factor) lives (seconds). */
  MFA_TOKEN_TTL_SECONDS: integer(30, 3600, 300),
  /** Audit events older than this many days are pruned. */
  AUDIT_RETENTION_DAYS: integer(1, 3650, 90),
  /** How often the server prunes expired rows, in small batches (seconds); 0: only `npm run cli -- prune`. */
  PRUNE_INTERVAL_SECONDS: integer(0, 86400, 600),
  /** The login app asks the authorization server whether a session still lives at most this often (seconds). */
  SESSION_CHECK_SECONDS: integer(0, 30, 5),
  /** The production server: time to receive a request's headers, and the whole request (seconds). */
  HEADERS_TIMEOUT_SECONDS: integer(1, 600, 10),
  REQUEST_TIMEOUT_SECONDS: integer(1, 3600, 30),
  /** The production server's cap on open connections. */
  MAX_CONNECTIONS: integer(1, 1000000, 1024),
  /** The login app's authorization server; default: this app's demo workspace. */
  OAUTH_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
  /** The login app's client at OAUTH_ISSUER. */
  LOGIN_CLIENT_ID: z.string().min(1).default("demo-web"),
});

type RawSettings = z.infer<typeof schema>;

export interface Settings extends Omit<RawSettings, "APP_URL"> {
  /** The public origin of the app, without a trailing slash. */
  APP_URL: string;
  /** An absolute path to the SQLite file; undefined on PostgreSQL. */
  databaseFile: string | undefined;
  isProduction: boolean;
}

/** The settings a production server cannot start without. */
export const REQUIRED_IN_PRODUCTION = ["APP_URL", "NEXTAUTH_SECRET", "LOGIN_CLIENT_SECRET"] as const;

/** The environment as read: any variable may be missing. */
export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function parseSettings(env: Env = process.env): Settings {
  // An empty variable counts as unset, as in a shell `VAR= npm start`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue?.path.join(".") ?? "environment";
    throw new ConfigError(`Invalid setting ${name}: ${issue?.message ?? "invalid"}. See .env.example.`);
  }
  const raw = parsed.data;
  const appUrl = (raw.APP_URL ?? `http://localhost:${raw.PORT}`).replace(/\/+$/, "");
  const file = raw.DATABASE_URL.startsWith("file:") ? raw.DATABASE_URL.slice("file:".length).replace(/\?.*$/, "") : undefined;
  return {
    ...raw,
    APP_URL: appUrl,
    // The file is found at run time, not traced into the build.
    databaseFile: file === undefined ? undefined : path.resolve(/*turbopackIgnore: true*/ process.cwd(), file),
    isProduction: raw.NODE_ENV === "production",
  };
}

/** Throws a ConfigError naming the first required production setting that is missing. */
export function assertProductionSettings(env: Env = process.env): void {
  for (const name of REQUIRED_IN_PRODUCTION) {
    if (!env[name]) throw new ConfigError(`${name} is required in production. See .env.example.`);
  }
  const { APP_URL } = parseSettings(env);
  // Tokens and session cookies must not cross the network in clear; localhost is for local tests.
  const url = new URL(APP_URL);
  if (url.protocol !== "https:" && !["localhost", "127.0.0.1", "[::1]"].includes(url.hostname)) {
    throw new ConfigError("APP_URL must be an https URL in production (http only for localhost). See .env.example.");
  }
}

let cached: Settings | undefined;

export function settings(): Settings {
  return (cached ??= parseSettings());
}
