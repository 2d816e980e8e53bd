import { NO_ANSWER } from "@/lib/platform/pg-statements.ts";

// pg's and pg-pool's words for a wait given up (see postgresPool in db.ts), and Prisma's for a
// transaction whose BEGIN got no answer within its own wait (2 s).
const NO_CONNECTION = [
  "timeout exceeded when trying to connect",
  "Connection terminated due to connection timeout",
  NO_ANSWER,
  "Unable to start a transaction in the given time",
];
// Codes of a statement stopped: PostgreSQL's cancel (statement_timeout), SQLite's busy lock, and
// Prisma's name for the latter.
const STOPPED = new Set(["57014", "SQLITE_BUSY", "P1008"]);

type Failure = {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  address?: unknown;
  port?: unknown;
  meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; originalMessage?: unknown; kind?: unknown; host?: unknown; port?: unknown } } };
};

// Why a database cannot be used at all, by Prisma's codes, its driver adapters' kinds and the pg
// driver's own codes (our plain SQL): never the URL, which may hold the password.
const UNUSABLE: Array<{ codes: readonly string[]; why: string; where?: true }> = [
  { codes: ["P1000", "AuthenticationFailed", "28P01", "28000"], why: "its user or password was refused" },
  { codes: ["P1003", "DatabaseDoesNotExist", "3D000"], why: "that database does not exist" },
  { codes: ["P1010", "DatabaseAccessDenied", "42501"], why: "its user may not use that database" },
  { codes: ["P1011", "TlsConnectionError"], why: "the TLS connection failed" },
  { codes: ["P1001", "DatabaseNotReachable", "ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"], why: "no server answers", where: true },
];

/**
 * Whether an error is DATABASE_TIMEOUT_SECONDS run out, from our SQL or Prisma's (which keeps
 * the driver's error in `meta`), or an error it caused: `statement`, a statement stopped after
 * it, running or waiting for a lock, its transaction rolled back; `connection`, the database not
 * answering in time (no connection free or made, or a statement without any answer).
 */
export function databaseTimeout(err: unknown): "statement" | "connection" | undefined {
  let e = err as Failure | undefined;
  for (let depth = 0; e && depth < 5; depth++, e = e.cause as Failure | undefined) {
    const driver = e.meta?.driverAdapterError?.cause;
    if (STOPPED.has(e.code as string) || STOPPED.has(driver?.originalCode as string)) return "statement";
    const said = (message: unknown) => typeof message === "string" && NO_CONNECTION.some((words) => message.includes(words));
    if (said(e.message) || said(driver?.originalMessage)) return "connection";
  }
  return undefined;
}

/**
 * Why the database DATABASE_URL names cannot be used at all (no server answers there, its
 * credentials or database name are wrong), from Prisma's error or the driver's; undefined for any
 * other error.
 */
export function databaseUnusable(err: unknown): string | undefined {
  let e = err as Failure | undefined;
  for (let depth = 0; e && depth < 5; depth++, e = e.cause as Failure | undefined) {
    const driver = e.meta?.driverAdapterError?.cause;
    const said = [e.code, driver?.kind, driver?.originalCode].filter((code): code is string => typeof code === "string");
    const found = UNUSABLE.find(({ codes }) => said.some((code) => codes.includes(code)));
    if (!found) continue;
    const [host, port] = driver?.host !== undefined ? [driver.host, driver.port] : [e.address, e.port];
    if (!found.where || typeof host !== "string" || host === "") return found.why;
    return `${found.why} at ${host}${typeof port === "number" || typeof port === "string" ? `:${port}` : ""}`;
  }
  return undefined;
}

// PostgreSQL's codes for a transaction it ended to let another one on (a deadlock, a serialization
// failure), and Prisma's for either, from a model query; a raw one keeps the driver's in `meta`.
const CONFLICT = new Set(["40P01", "40001", "P2034"]);

/**
 * Whether the database ended a transaction because it conflicted with another one: it changed
 * nothing, and the same work can be tried again.
 */
export function transactionConflict(err: unknown): boolean {
  const e = err as Failure | undefined;
  const driver = e?.meta?.driverAdapterError?.cause;
  return CONFLICT.has(e?.code as string) || CONFLICT.has(driver?.originalCode as string) || driver?.kind === "TransactionWriteConflict";
}

/** How many times a transaction is run in all when the database keeps ending it for a conflict (againOnConflict). */
export const CONFLICT_ATTEMPTS = 3;

/**
 * Runs `transaction`, one database transaction that reads what it changes inside it, again when
 * PostgreSQL ends it to break a deadlock with another (or for a serialization failure): nothing
 * of it stayed, and the next run decides anew on what the other committed. Up to
 * CONFLICT_ATTEMPTS runs in all, then the last conflict is thrown; any other failure at once.
 */
export async function againOnConflict<T>(transaction: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (err) {
      if (attempt >= CONFLICT_ATTEMPTS || !transactionConflict(err)) throw err;
    }
  }
}
