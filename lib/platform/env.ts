import path from "node:path";
import { z } from "zod";
import { trustProxyProblem } from "@/lib/platform/trust-proxy.ts";
import { KEY_ENCRYPTION_KEY_FORMAT, parseKeyEncryptionKey } from "@/lib/platform/key-encryption-key.ts";
import { percentDecoded } from "@/lib/platform/percent-decoding.ts";

/**
 * A whole number from the environment, from `min` to `max`, in decimal digits: one message for
 * every way to miss it. JavaScript's Number() alone reads `0x10` as 16, `1e3` as 1000 and ` 80` as 80.
 */
const wholeNumber = (min: number, max: number, error: string) =>
  z
    .string({ error })
    .regex(/^[0-9]+$/, { error })
    .transform(Number)
    .pipe(z.number().int({ error }).min(min, { error }).max(max, { error }));
/** …with its default, which the message names. */
const integer = (min: number, max: number, fallback: number) =>
  wholeNumber(min, max, `must be a whole number from ${min} to ${max} (${fallback} when unset)`).default(fallback);
const optionalInteger = (min: number, max: number) => wholeNumber(min, max, `must be a whole number from ${min} to ${max}`).optional();

/** An OTLP/HTTP receiver's URL. */
const otlpUrl = () =>
  z
    .url({
      protocol: /^https?$/,
      error: "must be the http(s) URL of an OTLP/HTTP receiver, e.g. http://localhost:4318 (a collector); unset it to send no traces",
    })
    .optional();
const otlpProtocol = () =>
  z.literal("http/json", { error: "the trace exporter sends OTLP/HTTP JSON only: set http/json or unset it (collectors take both on port 4318)" }).optional();

/**
 * Fewer different characters than this, and a secret is a character or a few repeated (`x` × 32),
 * whatever its length. Random ones are far from it: 16 hex digits show fewer than 5 different ones
 * about once in two million.
 */
const MIN_DIFFERENT = 5;

/** Why `units` (a secret's characters or bytes) look like no random secret, or undefined. */
function repetition(units: Iterable<string | number>, length: number, kind: "character" | "byte"): string | undefined {
  const different = new Set(units).size;
  return different < MIN_DIFFERENT ? `has ${different} different ${kind}${different === 1 ? "" : "s"} in ${length}` : undefined;
}

/** A secret setting: at least `min` characters, and not a character or a few repeated. */
const secret = (name: string, min: number) =>
  z
    .string()
    .min(min, `must be at least ${min} characters`)
    .superRefine((value, ctx) => {
      const problem = value.length >= min ? repetition(value, value.length, "character") : undefined;
      if (problem) ctx.addIssue({ code: "custom", message: `${problem}: make it of random characters, e.g. ${name}=$(openssl rand -base64 32)` });
    })
    .optional();

/** `someone@example.com`, or `Some Name <someone@example.com>`: one address, no line breaks. */
const MAIL_ADDRESS = /^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/;

/** Does this URL carry a user name or password (`https://user:secret@host`)? */
function hasCredentials(url: string): boolean {
  const parsed = URL.parse(url);
  return parsed !== null && (parsed.username !== "" || parsed.password !== "");
}

/**
 * Every setting of the app, validated once at first use. Development needs none of them; a
 * production server refuses to start without its secrets (see `assertProductionSettings`).
 * `.env.example` documents each one.
 */
const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: integer(1, 65535, 3000),
  // The app is served at the root of its origin: a path would misplace the issuer and every link.
  APP_URL: z
    .url({ protocol: /^https?$/, error: "must be the app's public http(s) origin, e.g. https://login.example.com" })
    .refine((url) => !/^https?:\/\//i.test(url) || /^https?:\/\/[^/?#]+\/?$/i.test(url), {
      error: "must be the app's public origin, without a path, query or fragment, e.g. https://login.example.com",
    })
    // It is published (every issuer, link and mail is built on it): a user name or password in it
    // would be too.
    .refine((url) => !hasCredentials(url), { error: "must not hold a user name or password: it is published, e.g. https://login.example.com" })
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, "must be a file: URL (SQLite) or a postgresql:// URL")
    // Prisma's migrations would make the tables in that schema, and the servers' connections would
    // look for them in `public`: a start that fails saying migrations are missing.
    .refine((url) => !/^postgres(ql)?:/.test(url) || (URL.parse(url)?.searchParams.get("schema") ?? "public") === "public", {
      error:
        "must not name a schema other than public (?schema=…): the app's tables are in the database's public schema; give the app a database of its own instead",
    })
    // Development only: production requires it (REQUIRED_IN_PRODUCTION).
    .default("file:prisma/data/dev.db"),
  NEXTAUTH_SECRET: secret("NEXTAUTH_SECRET", 32),
  /**
   * next-auth's own: the origin its redirects are built on. `npm start` sets it to APP_URL when
   * unset; set, it must be APP_URL's (checked in parseSettings).
   */
  NEXTAUTH_URL: z.string().optional(),
  LOGIN_CLIENT_SECRET: secret("LOGIN_CLIENT_SECRET", 16),
  /**
   * Seals what the database keeps that would let its reader act as the server (signing keys,
   * server secrets, TOTP secrets, secrets kept for client_secret_jwt): see lib/platform/at-rest.ts.
   */
  KEY_ENCRYPTION_KEY: z
    .string()
    .superRefine((value, ctx) => {
      const key = parseKeyEncryptionKey(value);
      const problem = key === null ? KEY_ENCRYPTION_KEY_FORMAT : repetition(key, key.length, "byte");
      if (problem === undefined) return;
      ctx.addIssue({
        code: "custom",
        message: key === null ? problem : `${problem}: make it of random bytes, e.g. KEY_ENCRYPTION_KEY=$(openssl rand -base64 32)`,
      });
    })
    .optional(),
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
  /**
   * Prometheus metrics: on their own port (every interface HOSTNAME names), and/or at /metrics on
   * the app's port behind `Authorization: Bearer {METRICS_TOKEN}`. Neither set: not served.
   */
  METRICS_PORT: optionalInteger(1, 65535),
  METRICS_TOKEN: secret("METRICS_TOKEN", 16),
  /** The production server's access log: one line per request (`info`), or none (`off`). */
  ACCESS_LOG: z.enum(["off", "info"]).default("off"),
  /** `npm start` and `npm run setup`: how long to wait for an SQLite file another process is writing (seconds). */
  DATABASE_BUSY_TIMEOUT_SECONDS: integer(1, 600, 30),
  /**
   * How long the database may keep a request (or a CLI command) waiting, in seconds: for one of
   * PostgreSQL's pooled connections, for a statement (which the server then cancels, lock waits
   * included), between a transaction's statements; for SQLite's write lock (lib/platform/db.ts).
   */
  DATABASE_TIMEOUT_SECONDS: integer(1, 3600, 5),
  /** How far ahead a client assertion's `exp` may be (private_key_jwt, client_secret_jwt; seconds). */
  CLIENT_ASSERTION_MAX_SECONDS: integer(30, 3600, 300),
  /** How old a DPoP proof's `iat` may be (RFC 9449 §11.1; seconds), besides the clock skew. */
  DPOP_PROOF_MAX_AGE_SECONDS: integer(5, 600, 60),
  /** The login app's authorization server; default: this app's demo workspace. */
  OAUTH_ISSUER: z
    .url({ protocol: /^https?$/ })
    // An issuer identifier has no query or fragment (RFC 8414 §2), and fetch refuses a URL with
    // credentials, which the login app's log lines would also show.
    .refine((url) => !hasCredentials(url) && !/[?#]/.test(url), {
      error: "must be the issuer's URL, without a user name, password, query or fragment, e.g. https://login.example.com/demo/default",
    })
    .optional(),
  /** The login app's client at OAUTH_ISSUER. */
  LOGIN_CLIENT_ID: z.string().min(1).default("demo-web"),
  /**
   * Traces (OpenTelemetry, OTLP/HTTP): the receiver's base URL, to which `/v1/traces` is added, or
   * the traces URL itself. Neither set: no traces, and the SDK is not even loaded.
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpUrl(),
  /** The exporter speaks OTLP/HTTP with JSON bodies, which collectors take on their HTTP port (4318). */
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol(),
  /** The traces' `service.name`. */
  OTEL_SERVICE_NAME: z.string().min(1).default("ropc-login-kit"),
  /**
   * Whether the login app passes its end user's address and User-Agent (ropc-forwarded-for,
   * ropc-forwarded-user-agent) to OAUTH_ISSUER: `auto` when the issuer is on APP_URL's origin
   * (this app's own server, which knows the headers), `yes`, or `no`.
   */
  LOGIN_FORWARD_END_USER: z.enum(["auto", "yes", "no"]).default("auto"),
  /**
   * Outgoing mail (password recovery, email verification): smtp:// (STARTTLS when the server
   * offers it) or smtps:// (TLS from the start), with the account in the URL. Unset: development
   * writes mail to the log and /dev/mailbox; production sends none and turns recovery off.
   */
  SMTP_URL: z
    .url({
      protocol: /^smtps?$/,
      error:
        "must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.com:587 or smtps://user:password@mail.example.com:465; unset it to send no mail",
    })
    // Decoded at every send (lib/platform/mail.ts): a bare % would fail every mail, not the start.
    .refine((url) => [URL.parse(url)?.username ?? "", URL.parse(url)?.password ?? ""].every((part) => percentDecoded(part) !== undefined), {
      error:
        "must have its user name and password percent-encoded (% as %25, @ as %40, : as %3A, / as %2F), e.g. smtp://user:100%25%40home@mail.example.com:587",
    })
    .optional(),
  /** The sender of every mail: an address, or a name and an address. */
  MAIL_FROM: z.string().regex(MAIL_ADDRESS, "must be an address or a name and an address, e.g. MAIL_FROM='Example Login <no-reply@example.com>'").optional(),
  /**
   * Whether a sign-in from an address the account has not signed in from lately (see
   * LOCKOUT_KNOWN_ADDRESS_DAYS) is mailed to its owner, when mail is on: `on` or `off`.
   */
  SIGN_IN_NOTICE: z.enum(["on", "off"]).default("on"),
  /** How long a password-reset link works (seconds). */
  PASSWORD_RESET_TTL_SECONDS: integer(300, 86400, 1800),
  /** How long a link confirming a new email address works (seconds). */
  EMAIL_VERIFICATION_TTL_SECONDS: integer(300, 604800, 86400),
});

/** Every setting the server reads from its environment (`.env.example` and the README's table document each). */
export const SETTING_NAMES: readonly string[] = Object.keys(schema.shape);

type RawSettings = z.infer<typeof schema>;

export interface Settings extends Omit<RawSettings, "APP_URL"> {
  /** The public origin of the app, without a trailing slash. */
  APP_URL: string;
  /** An absolute path to the SQLite file; undefined on PostgreSQL. */
  databaseFile: string | undefined;
  isProduction: boolean;
}

/**
 * The settings a production server cannot start without. DATABASE_URL is one: production never
 * falls back to the development database file.
 */
export const REQUIRED_IN_PRODUCTION = ["APP_URL", "DATABASE_URL", "NEXTAUTH_SECRET", "LOGIN_CLIENT_SECRET"] as const;

/** The environment as read: any variable may be missing. */
export type Env = Record<string, string | undefined>;

/** Bad settings: one line per problem, each naming its variable and how to fix it. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    super(`${list.join("\n")}\nSee .env.example.`);
    this.problems = list;
  }
}

/** The max-age of the discovery document and the JWKS (seconds): how long anyone may keep them. */
export const DISCOVERY_MAX_AGE_SECONDS = 300;

export function parseSettings(env: Env = process.env): Settings {
  // An empty variable counts as unset, as in a shell `VAR= npm start`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    // Every bad setting at once: an operator fixes them in one go, not one restart each.
    const problems = parsed.error.issues.map((issue) => `Invalid setting ${issue.path.join(".") || "environment"}: ${issue.message}.`);
    throw new ConfigError(problems);
  }
  const raw = parsed.data;
  if (raw.SMTP_URL !== undefined && raw.MAIL_FROM === undefined) {
    throw new ConfigError(
      "Invalid setting MAIL_FROM: required with SMTP_URL, the sender of every mail, e.g. MAIL_FROM='Example Login <no-reply@example.com>'.",
    );
  }
  // A rotated key signs only once every verifier knows it: each process reads keys every
  // KEY_CACHE_SECONDS, and anyone else may keep our JWKS for its max-age.
  const published = raw.KEY_CACHE_SECONDS + DISCOVERY_MAX_AGE_SECONDS;
  if (raw.KEY_ROTATION_DELAY_SECONDS < published) {
    throw new ConfigError(
      `Invalid setting KEY_ROTATION_DELAY_SECONDS: ${raw.KEY_ROTATION_DELAY_SECONDS} s is shorter than a process's key cache (KEY_CACHE_SECONDS, ${raw.KEY_CACHE_SECONDS} s) plus the JWKS's max-age (${DISCOVERY_MAX_AGE_SECONDS} s): a new key would sign before every verifier knows it. Set it to at least ${published}, or lower KEY_CACHE_SECONDS.`,
    );
  }
  if (raw.METRICS_PORT === raw.PORT) {
    throw new ConfigError(
      `Invalid setting METRICS_PORT: ${raw.METRICS_PORT} is PORT too; the metrics listen on a port of their own: set another (or unset it, and set METRICS_TOKEN to serve /metrics on PORT).`,
    );
  }
  // Written as the URL standard writes its origin (scheme and host in lower case, no default port):
  // every "is it https" and same-origin check compares strings with it, and HTTPS://Login.Example.com
  // must not pass for http (no Secure cookie, no HSTS). Refused rather than rewritten: the issuers
  // are built on it, and one that changed under the operator's feet would break every client.
  const appUrl = (raw.APP_URL ?? `http://localhost:${raw.PORT}`).replace(/\/$/, "");
  const origin = URL.parse(appUrl)?.origin;
  if (origin !== appUrl) {
    throw new ConfigError(
      `Invalid setting APP_URL: ${raw.APP_URL} is not written as the origin it is${origin ? `, ${origin}` : ""} (scheme and host in lower case, no default port, no path): set APP_URL=${origin ?? "https://login.example.com"}.`,
    );
  }
  if (raw.NEXTAUTH_URL !== undefined && !isAppUrlOwn(raw.NEXTAUTH_URL, appUrl)) {
    throw new ConfigError(
      `Invalid setting NEXTAUTH_URL: ${raw.NEXTAUTH_URL} is not APP_URL (${appUrl}); the login app's links and redirects are built on APP_URL: unset NEXTAUTH_URL (npm start sets it to APP_URL).`,
    );
  }
  const file = raw.DATABASE_URL.startsWith("file:") ? raw.DATABASE_URL.slice("file:".length).replace(/\?.*$/, "") : undefined;
  return {
    ...raw,
    APP_URL: appUrl,
    // The file is found at run time, not traced into the build.
    databaseFile: file === undefined ? undefined : path.resolve(/*turbopackIgnore: true*/ process.cwd(), file),
    isProduction: raw.NODE_ENV === "production",
  };
}

/**
 * Whether next-auth's NEXTAUTH_URL says what APP_URL says: its origin, at the root or at
 * next-auth's own path (/api/auth, where the login app serves it).
 */
function isAppUrlOwn(nextAuthUrl: string, appUrl: string): boolean {
  const url = URL.parse(nextAuthUrl);
  return url !== null && url.origin === new URL(appUrl).origin && /^\/(api\/auth\/?)?$/.test(url.pathname) && url.search === "" && url.hash === "";
}

/**
 * Why a PostgreSQL DATABASE_URL may not serve production, or undefined: a server across the
 * network without `sslmode` would be sent every password hash and token in clear, unless someone
 * said so (`sslmode=disable`). A server on this machine (loopback, a Unix socket) needs neither.
 */
function databaseTransportProblem(databaseUrl: string | undefined): string | undefined {
  if (!databaseUrl || !/^postgres(ql)?:\/\//.test(databaseUrl)) return undefined;
  const url = URL.parse(databaseUrl);
  if (url === null || url.searchParams.has("sslmode") || url.searchParams.has("ssl")) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const socket = url.searchParams.get("host")?.startsWith("/") ?? false;
  if (socket || host === "" || host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host)) return undefined;
  return `DATABASE_URL names the PostgreSQL server ${host} without sslmode: add ?sslmode=verify-full to encrypt the connection and check the server's certificate, or ?sslmode=disable if the network between them is private.`;
}

/** How to give each required production setting a value. */
const HOW_TO_SET: Readonly<Record<(typeof REQUIRED_IN_PRODUCTION)[number], string>> = {
  APP_URL: "the public https origin of the app, e.g. APP_URL=https://login.example.com",
  DATABASE_URL: "e.g. DATABASE_URL=file:/var/lib/ropc-login-kit/ropc.db (SQLite) or postgresql://user:password@host:5432/db?sslmode=verify-full",
  NEXTAUTH_SECRET: "at least 32 random characters: NEXTAUTH_SECRET=$(openssl rand -base64 32)",
  LOGIN_CLIENT_SECRET: "the login app's client secret: `npm run setup` prints a new one, or stores the one you set",
};

/**
 * Every problem with a production environment: each required setting that is missing, each
 * invalid one, an http APP_URL. Empty when it is complete. `required` narrows the required ones
 * (the first-run setup needs no NEXTAUTH_SECRET and may make LOGIN_CLIENT_SECRET itself).
 */
export function productionProblems(env: Env = process.env, required: readonly (typeof REQUIRED_IN_PRODUCTION)[number][] = REQUIRED_IN_PRODUCTION): string[] {
  const problems = required.filter((name) => !env[name]).map((name) => `${name} is required in production: ${HOW_TO_SET[name]}.`);
  try {
    parseSettings(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  const url = URL.parse(env.APP_URL ?? "");
  if (url?.protocol === "http:" && !safeForSecrets(url)) {
    problems.push("APP_URL must be an https URL in production (http only for localhost).");
  }
  const transport = databaseTransportProblem(env.DATABASE_URL);
  if (transport) problems.push(transport);
  return problems;
}

/**
 * Whether a production server may send something secret to `url`: over https, or over http only
 * on this machine. Tokens and session cookies must not cross the network in clear; localhost is
 * for local tests.
 */
export function safeForSecrets(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && isThisMachine(url.hostname));
}

/** Whether a URL's host name is this machine's own (what may be reached in clear in production). */
export function isThisMachine(hostname: string): boolean {
  return ["localhost", "127.0.0.1", "[::1]"].includes(hostname);
}

/** Throws a ConfigError listing every problem of a production environment (see productionProblems). */
export function assertProductionSettings(env: Env = process.env, required?: readonly (typeof REQUIRED_IN_PRODUCTION)[number][]): void {
  const problems = productionProblems(env, required);
  if (problems.length > 0) throw new ConfigError(problems);
}

let cached: Settings | undefined;

export function settings(): Settings {
  return (cached ??= parseSettings());
}
