import path from "node:path";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlDriverAdapter, SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import type pg from "pg";
import { PrismaClient, Prisma } from "@/lib/generated/prisma/client.ts";
import { PrismaClient as PostgresPrismaClient } from "@/lib/generated/prisma-pg/client.ts";
import { settings } from "@/lib/platform/env.ts";
import { logger } from "@/lib/platform/logger.ts";
import { measureDatabasePool } from "@/lib/platform/metrics.ts";
import { BoundedClient, pgQuery, pgTransaction } from "@/lib/platform/pg-statements.ts";
import { startCheckpoints } from "@/lib/platform/sqlite-checkpoints.ts";
import { childSpan, tracing } from "@/lib/platform/tracing.ts";
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_SUMMARY,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
} from "@opentelemetry/semantic-conventions";

/**
 * The database client. Both generated clients (prisma/schema.prisma for SQLite, the generated
 * prisma/postgres/schema.prisma for PostgreSQL) come from one schema and have the same API; this
 * type is the SQLite one's.
 */
export type Db = PrismaClient;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

// WAL lets readers run beside the one writer and makes a commit an append (0.06 ms against
// ~3 ms with the rollback journal here); NORMAL sync is durable across a process crash, which
// is the failure we plan for. The page cache is SQLite's own default of 2 MB: better-sqlite3
// builds SQLite with 16 MB, which a server fills as its tables grow and keeps (18 MB of its RSS
// after the benchmark's refresh load) for no measurable speed, the file's pages being in the
// system's cache anyway (README, Performance). The adapter sets no pragmas itself.
const SQLITE_PRAGMAS = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -2000;";

/** `busyMs`: how long a statement waits for another connection's write lock (DATABASE_TIMEOUT_SECONDS), blocking the event loop. */
function sqliteAdapter(file: string, busyMs: number): SqlDriverAdapterFactory {
  const base = new PrismaBetterSqlite3({ url: `file:${file}`, timeout: busyMs });
  return {
    provider: base.provider,
    adapterName: base.adapterName,
    async connect() {
      const adapter = await base.connect();
      await adapter.executeScript(SQLITE_PRAGMAS);
      const connection = (adapter as unknown as { client?: unknown }).client;
      reuseStatements(connection);
      if (isConnection(connection)) {
        // The log's fsync'd copy into the file, off the event loop (see sqlite-checkpoints.ts).
        const checkpoints = startCheckpoints(connection, file, { warn: (message, detail) => logger.warn({ event: "db.checkpoints", ...detail }, message) });
        const dispose = adapter.dispose.bind(adapter);
        adapter.dispose = () => checkpoints.stop(dispose);
      }
      return adapter;
    },
  };
}

function isConnection(value: unknown): value is { pragma(source: string): unknown } {
  return typeof (value as { pragma?: unknown } | undefined)?.pragma === "function";
}

interface Statement {
  reader: boolean;
  run(params: unknown[]): { changes: number };
  columns(): unknown[];
  raw(on: boolean): { all(params: unknown[]): unknown[] };
}

/**
 * The SQLite adapter (@prisma/adapter-better-sqlite3 7.10.0, pinned) prepares every statement
 * anew: `client.prepare(sql).bind(args)`. Preparing costs more than running our hot queries, so
 * the connection's `prepare` is given a cache: the same SQL reuses its compiled statement, and
 * `bind` returns a view that passes the arguments at each run instead of binding them for good.
 * Where the adapter's shape is not the expected one, nothing is changed.
 */
export function reuseStatements(client: unknown, max = 256): void {
  const connection = client as { prepare?: (sql: string) => Statement } | undefined;
  if (typeof connection?.prepare !== "function") return;
  const prepare = connection.prepare.bind(connection);
  const cache = new Map<string, Statement>();
  connection.prepare = (sql: string) => {
    let reused = cache.get(sql);
    if (!reused) {
      reused = reusable(prepare(sql));
      if (cache.size >= max) cache.clear();
      cache.set(sql, reused);
    }
    return reused;
  };
}

/** A compiled statement as the adapter and `sqlRows` use it, made once per SQL text. */
function reusable(stmt: Statement): Statement {
  return {
    reader: stmt.reader,
    run: (params: unknown[] = []) => stmt.run(params),
    columns: () => stmt.columns(),
    raw: (on = true) => ({ all: (params: unknown[] = []) => stmt.raw(on).all(params) }),
    // Rows as objects, for our own reads (sqlRows): the adapter leaves raw mode on.
    all: (params: unknown[] = []) => stmt.raw(false).all(params),
    bind: (params: unknown[]) => ({
      reader: stmt.reader,
      run: () => stmt.run(params),
      columns: () => stmt.columns(),
      raw: (on = true) => ({ all: () => stmt.raw(on).all(params) }),
    }),
  } as unknown as Statement;
}

/**
 * The driver under the adapter a client is connected with, for our own SQL (see `sqlRows`):
 * better-sqlite3's connection, or the pg pool that Prisma's queries use too (one pool per client,
 * made by the adapter at each connect and ended by it at each disconnect).
 */
type Driver = { kind: "sqlite"; connection: SqliteConnection } | { kind: "postgres"; pool: pg.Pool };

// Kept on the client: `next dev` and tests may load this module anew while the client (on
// globalThis) lives on.
const CONNECTION = Symbol.for("ropc.db.connection");
const MADE = Symbol.for("ropc.db.made");
type Noted = Db & { [CONNECTION]?: Shared; [MADE]?: boolean };
type Shared = Pick<SharedAdapter, "driver" | "clientConnected" | "open" | "close">;

/**
 * The one driver adapter that a client's queries and our own SQL (`sqlRows` and the rest) share,
 * opened by whichever comes first. Our SQL never connects the client: connecting is what compiles
 * Prisma's query compiler (README "Performance": up to 29 MB of a server's RSS), so a server whose
 * requests only ever run our SQL (the grants, introspection, userinfo, the caches' reloads,
 * retention) never pays for it. A
 * disconnect of the client ends the adapter (the next use opens another), and so does one of a
 * client that never connected.
 */
class SharedAdapter<A extends SqlDriverAdapter = SqlDriverAdapter> {
  /** The driver under the open adapter; none before the first use and after a disconnect. */
  driver?: Driver;
  /** Whether a query of the client's own has ever connected it. */
  clientConnected = false;
  #adapter?: Promise<A>;

  constructor(
    private readonly factory: Omit<SqlDriverAdapterFactory, "connect"> & { connect(): Promise<A> },
    private readonly driverUnder: (adapter: A) => Driver,
  ) {}

  open(): Promise<A> {
    if (this.#adapter) return this.#adapter;
    const opening: Promise<A> = this.factory.connect().then(
      (adapter) => {
        const driver = this.driverUnder(adapter);
        const dispose = adapter.dispose.bind(adapter);
        adapter.dispose = () => {
          if (this.#adapter === opening) this.#adapter = this.driver = undefined;
          return dispose();
        };
        this.driver = driver;
        return adapter;
      },
      (err: unknown) => {
        this.#adapter = undefined;
        throw err;
      },
    );
    return (this.#adapter = opening);
  }

  /** Ends the adapter unless the client's disconnect already has. */
  async close(): Promise<void> {
    const adapter = await this.#adapter?.catch(() => undefined);
    await adapter?.dispose();
  }

  /** The factory the client connects with: the shared adapter. */
  forClient(): SqlDriverAdapterFactory {
    return {
      provider: this.factory.provider,
      adapterName: this.factory.adapterName,
      connect: () => {
        this.clientConnected = true;
        return this.open();
      },
    };
  }
}

/**
 * How the PostgreSQL pool keeps its connections. pg closes one after 10 s unused, and each holds
 * the named statements it has prepared (pg-statements.ts): a burst after a quiet spell then paid a
 * backend's start and every statement's preparation again, on its first requests (the first ten
 * sign-ins after 12 s idle took 3 × the p50, measured). So the pool keeps what it has opened, as a
 * fixed-size pool does; a connection the server or a proxy closes is replaced at the next use.
 * TCP keepalives from a minute unused on, so that a NAT or load balancer on the way does not
 * forget a quiet connection.
 */
export const POSTGRES_POOL = { idleTimeoutMillis: 0, keepAlive: true, keepAliveInitialDelayMillis: 60_000 } as const;

/**
 * How long PostgreSQL may keep a caller waiting, `timeoutMs` (DATABASE_TIMEOUT_SECONDS) for each
 * wait: pg's pool would wait for ever for a connection (all ten busy, or a server that does not
 * answer the connect), the server would run a statement, or wait for a lock, as long as it takes,
 * and a transaction left open would hold its locks. So the pool gives up on a connection after
 * it; each new connection is told, before its first use, to cancel a statement after it
 * (`statement_timeout`: SQLSTATE 57014, the connection stays usable) and to end a session idle
 * in a transaction for as long; and a statement that has no answer even `QUERY_BACKSTOP_MS` later
 * (the server or the network gone: TCP would wait minutes) fails here, its connection closed.
 */
export function postgresPool(connectionString: string, timeoutMs: number): pg.PoolConfig {
  return {
    connectionString,
    ...POSTGRES_POOL,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs + QUERY_BACKSTOP_MS,
    Client: BoundedClient,
    // A SET, not startup parameters: PgBouncer refuses a connection that sends those.
    onConnect: (client) => client.query(`SET statement_timeout = ${timeoutMs}; SET idle_in_transaction_session_timeout = ${timeoutMs}`),
  };
}

/** How much longer than the server's own cancel a statement may go without an answer. */
export const QUERY_BACKSTOP_MS = 5_000;

/** The SQLite file a `file:` URL or a path names (absolute), or undefined for a PostgreSQL URL. */
export function sqliteFile(target: string): string | undefined {
  if (isPostgresUrl(target)) return undefined;
  return target.startsWith("file:") ? path.resolve(/*turbopackIgnore: true*/ process.cwd(), target.slice("file:".length).replace(/\?.*$/, "")) : target;
}

/** A client for a `postgresql://` URL, a `file:` URL, or a path to an SQLite file. */
export function createDb(target: string = settings().DATABASE_URL, timeoutSeconds = settings().DATABASE_TIMEOUT_SECONDS): Db {
  if (isPostgresUrl(target)) {
    // pg's pool of 10 connections, shared by Prisma's queries and ours, on POSTGRES_POOL.
    const postgres = new SharedAdapter(new PrismaPg(postgresPool(target, timeoutSeconds * 1000)), (adapter) => ({
      kind: "postgres",
      pool: adapter.underlyingDriver(),
    }));
    // The metrics read the pool's gauges (the one made at the latest connect).
    measureDatabasePool(() => {
      const driver = postgres.driver;
      return driver?.kind === "postgres" ? { total: driver.pool.totalCount, idle: driver.pool.idleCount, waiting: driver.pool.waitingCount } : undefined;
    });
    return madeWhenUsed(() => new PostgresPrismaClient({ adapter: postgres.forClient() }) as unknown as Db, postgres);
  }
  const file = sqliteFile(target) ?? target;
  const sqlite = new SharedAdapter(sqliteAdapter(file, timeoutSeconds * 1000), (adapter) => ({ kind: "sqlite", connection: sqliteConnection(adapter) }));
  return madeWhenUsed(() => new PrismaClient({ adapter: sqlite.forClient() }), sqlite);
}

/**
 * The client, constructed at the first use of its own API (a model, `$transaction`, `$queryRaw`):
 * constructing it builds Prisma's model of the schema, 2.8 MB of heap that a server whose
 * requests only run our SQL (see SharedAdapter) never needs. Until then the object answers only
 * what our SQL reads (the shared adapter) and `$disconnect`, which ends the adapter whether or not
 * the client was made.
 */
function madeWhenUsed(make: () => Db, shared: Shared): Db {
  let made: Db | undefined;
  const client = () => (made ??= make());
  const disconnect = async () => {
    await made?.$disconnect();
    await shared.close();
  };
  return new Proxy(Object.create(null) as Db, {
    get(_, key) {
      if (key === CONNECTION) return shared;
      if (key === MADE) return made !== undefined;
      if (key === "$disconnect") return disconnect;
      const target = client();
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    has: (_, key) => key === CONNECTION || key in client(),
    set: (_, key, value) => Reflect.set(client(), key, value),
  });
}

/**
 * Whether a query through the client's own API (not `sqlRows` and the rest) has connected it, and
 * so loaded Prisma's query compiler: never, in a server that only serves the grants,
 * introspection, userinfo and the metadata (lib/oauth/store/steady-state.test.ts).
 */
export function clientHasConnected(client: Db): boolean {
  return (client as Noted)[CONNECTION]?.clientConnected ?? false;
}

/** Whether the client itself has been constructed (see madeWhenUsed); the same servers never do. */
export function clientWasMade(client: Db): boolean {
  return (client as Noted)[MADE] ?? true;
}

async function driverOf(client: Db): Promise<Driver> {
  const shared = (client as Noted)[CONNECTION];
  if (!shared) throw new Error("not a client made by createDb");
  await shared.open();
  if (!shared.driver) throw new Error("the client's adapter closed as it opened");
  return shared.driver;
}

/**
 * Plain SQL (Prisma.sql, so portable placeholders and parameters) on the client's own connection,
 * without the query engine's layers around it: on SQLite straight to better-sqlite3's prepared
 * statement (cached, see reuseStatements; parameters written as the adapter writes them), on
 * PostgreSQL straight to the pg pool, as a named prepared statement (parsed and planned once per
 * connection, see lib/platform/pg-statements.ts). For a server's steady state: the hot paths
 * (the grants' reads and writes, introspection, userinfo, the audit batches), where Prisma's
 * per-query work (serializing the parameters to JSON and back, plan interpretation, result
 * mapping) cost more CPU than the database spent running them, and all else a server runs
 * without an operator or an account's change (the caches' reloads, sign-out, retention), so that
 * the client never connects (see SharedAdapter). Never inside a Prisma interactive transaction.
 * Column values come back as the driver gives them: datetimes as ISO 8601 strings or Dates,
 * booleans as booleans or 0/1, integers as numbers or, on SQLite, bigints (PostgreSQL's COUNT as a
 * string): read them with Number().
 */
export function sqlRows<T extends Record<string, unknown>>(client: Db, query: Prisma.Sql): Promise<T[]> {
  return onDriver(
    client,
    () => query.sql,
    (driver) => rows<T>(driver, query),
  );
}

function rows<T>(driver: Driver, query: Prisma.Sql): Promise<T[]> {
  if (driver.kind === "postgres") return pgQuery(driver.pool, query).then((result) => result.rows as T[]);
  // better-sqlite3 answers at once.
  return settled(() => driver.connection.prepare(query.sql).all(query.values.map(sqliteArg)) as T[]);
}

/** Like `sqlRows`, for a statement: the number of rows it changed. */
export function sqlExecute(client: Db, query: Prisma.Sql): Promise<number> {
  return onDriver(
    client,
    () => query.sql,
    (driver) => execute(driver, query),
  );
}

/**
 * A statement in `tx`, Prisma's interactive transaction (for the paths that change several things
 * as one: an account's new password ends its sessions), or, without one, straight on the driver as
 * `sqlExecute` runs it: one text of SQL for both.
 */
export function sqlExecuteIn(tx: Prisma.TransactionClient | undefined, query: Prisma.Sql): Promise<number> {
  return tx ? tx.$executeRaw(query) : sqlExecute(db(), query);
}

function execute(driver: Driver, query: Prisma.Sql): Promise<number> {
  if (driver.kind === "postgres") return pgQuery(driver.pool, query).then((result) => result.rowCount ?? 0);
  return settled(() => driver.connection.prepare(query.sql).run(query.values.map(sqliteArg)).changes);
}

/**
 * Whether a transaction is open on the client's SQLite connection now (never on PostgreSQL, where
 * each transaction has a connection of its own). On SQLite, one connection serves every query:
 * a statement that runs while a Prisma interactive transaction is open runs inside it, and is
 * undone if that transaction rolls back. So an interactive transaction in a server must not give
 * the event loop a turn before it ends (await only its own queries: they settle as microtasks),
 * and lib/oauth/store/transactions.test.ts checks each of the server's with this.
 */
export function inOpenTransaction(client: Db): boolean {
  const driver = (client as Noted)[CONNECTION]?.driver;
  return driver?.kind === "sqlite" && driver.connection.inTransaction;
}

/**
 * `run` on the client's driver, in a span when tracing (named from `sql`, the statement's text,
 * built only then: Prisma.Sql joins its parts at each read of `.sql`). Once connected, it runs at once: on SQLite
 * a query is then one promise, not four (each costs more while a page has Node's promise hooks
 * on: lib/platform/page-storages.ts).
 */
function onDriver<T>(client: Db, sql: () => string, run: (driver: Driver) => Promise<T>): Promise<T> {
  if (tracing.tracer) return traced(client, sql(), run);
  const driver = (client as Noted)[CONNECTION]?.driver;
  return driver ? run(driver) : driverOf(client).then(run);
}

/** A synchronous result (or its error) as a settled promise. */
function settled<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/**
 * `run` in a child span of the request under way, named by its summary as OpenTelemetry's database
 * conventions say (`SELECT User`, `UPDATE RefreshToken`). The SQL text is recorded as it is
 * written: its values are parameters (Prisma.sql), never part of it.
 */
function traced<T>(client: Db, sql: string, run: (driver: Driver) => Promise<T>): Promise<T> {
  const operation = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? "SQL";
  const tables = [...new Set(Array.from(sql.matchAll(/\b(?:FROM|INTO|UPDATE|JOIN)\s+"?(\w+)"?/gi), (m) => m[1]))];
  const summary = [operation, ...tables].join(" ");
  const attributes = {
    [ATTR_DB_OPERATION_NAME]: operation,
    [ATTR_DB_QUERY_SUMMARY]: summary,
    [ATTR_DB_QUERY_TEXT]: sql,
    ...(tables.length === 1 ? { [ATTR_DB_COLLECTION_NAME]: tables[0] } : {}),
  };
  return childSpan(summary, attributes, async (span) => {
    const driver = await driverOf(client);
    span?.setAttribute(ATTR_DB_SYSTEM_NAME, driver.kind === "postgres" ? "postgresql" : "sqlite");
    return run(driver);
  });
}

/** What of better-sqlite3's connection a synchronous transaction needs (under the SQLite adapter). */
interface SqliteConnection {
  prepare(sql: string): { run(params: unknown[]): { changes: number }; all(params: unknown[]): unknown[] };
  transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T;
  readonly inTransaction: boolean;
}

// better-sqlite3 builds a transaction function with four variants and their properties each time
// it is asked for one (Object.defineProperties on each: 1.6% of the event loop's time in a
// password grant's profile): one per connection, running whatever work it is given.
const transactions = new WeakMap<SqliteConnection, <T>(work: () => T) => T>();

/** `work` in one transaction on the connection: committed when it returns, rolled back when it throws. */
function inTransaction<T>(sqlite: SqliteConnection, work: () => T): T {
  let run = transactions.get(sqlite);
  if (!run) {
    run = sqlite.transaction((w: () => unknown) => w()) as <U>(w: () => U) => U;
    transactions.set(sqlite, run);
  }
  return run(work);
}

/** better-sqlite3's connection under the SQLite adapter (its `client`, which the pinned version keeps). */
function sqliteConnection(adapter: SqlDriverAdapter): SqliteConnection {
  const connection = (adapter as unknown as { client?: Partial<SqliteConnection> }).client;
  if (typeof connection?.prepare !== "function" || typeof connection.transaction !== "function") {
    throw new Error(`${adapter.adapterName}: no better-sqlite3 connection found under the adapter`);
  }
  return connection as SqliteConnection;
}

/** A parameter as the SQLite adapter writes it (its iso8601 timestamp format, booleans as 0/1). */
function sqliteArg(value: unknown): unknown {
  if (value instanceof Date) return `${value.toISOString().slice(0, -1)}+00:00`;
  return typeof value === "boolean" ? Number(value) : value;
}

// A write that needed a row another request deleted meanwhile: a foreign key to it (Prisma's
// P2003 and its driver adapter's kind; SQLite's and PostgreSQL's own codes in plain SQL), or
// Prisma's "record to update not found" (P2025).
const MISSING_ROW_CODES = new Set(["P2003", "P2025", "SQLITE_CONSTRAINT_FOREIGNKEY", "23503"]);

/** Whether an error (or one it was caused by) is a write that found a row it needed gone. */
export function isMissingRowError(err: unknown): boolean {
  let e = err as { code?: unknown; cause?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } } | null | undefined;
  for (let depth = 0; e && typeof e === "object" && depth < 5; depth += 1) {
    if (typeof e.code === "string" && MISSING_ROW_CODES.has(e.code)) return true;
    if (e.meta?.driverAdapterError?.cause?.kind === "ForeignKeyConstraintViolation") return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** A plain-SQL write refused for a key another row holds (PostgreSQL's 23505, SQLite's constraint on a key). */
export function isDuplicateKeyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE";
}

/**
 * A LIMIT for plain SQL, written into the statement's text rather than bound. SQLite (3.46 on)
 * marks a statement whose LIMIT is a bound parameter to be compiled again whenever that
 * parameter is bound (it plans with the value), so a cached statement with `LIMIT ?` is
 * re-prepared at every run: the password grant's read cost 128 µs instead of 18. Our limits come
 * from settings, never from a request, so each statement keeps one text; anything but a
 * non-negative integer is refused rather than written into SQL.
 */
export function sqlLimit(count: number): Prisma.Sql {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`a LIMIT must be a non-negative integer, not ${String(count)}`);
  return Prisma.raw(`LIMIT ${count}`);
}

/**
 * Runs `first` and, when it changed exactly one row, `insert` (and each of `more`), as one:
 * nothing can come between them and no insert happens alone. Each insert is an `INSERT INTO … (…)
 * SELECT …` with no FROM of its own (the form both databases read), and `first` changes at most one
 * row (a key's). On SQLite one synchronous transaction on the connection; on PostgreSQL one
 * statement, `first` as a WITH query whose RETURNING row each insert selects from: one round trip
 * instead of BEGIN, several statements and COMMIT (of two racing, the second's update waits for
 * the first's row lock, then finds the row changed and inserts nothing). Answers whether the
 * inserts ran. For a conditional write and the rows that depend on it (a refresh token's
 * rotation; a sign-in's session and first refresh token, while its user's password is the one checked).
 *
 * `first` may be a chain of such updates, each of at most one row (a key's): each runs only when
 * the one before changed its row, and the inserts only when the last did; what an earlier one
 * changed stays changed when a later one changes nothing (the answer is then false). Each after
 * the first is an `UPDATE … WHERE …` whose WHERE is a conjunction (no top-level OR): on PostgreSQL
 * it is extended with `AND EXISTS` on the one before. The rows are taken in the chain's order: a
 * transaction that takes the same rows must take them in that order too, or two could deadlock.
 */
export function insertIfChanged(client: Db, first: Prisma.Sql | readonly Prisma.Sql[], insert: Prisma.Sql, ...more: Prisma.Sql[]): Promise<boolean> {
  const guards = Array.isArray(first) ? (first as readonly Prisma.Sql[]) : [first as Prisma.Sql];
  const inserts = [insert, ...more];
  for (const each of inserts) if (!INSERT_SELECT.test(each.sql)) throw new Error(`insertIfChanged: not an INSERT … SELECT without FROM: ${each.sql}`);
  for (const each of guards.slice(1))
    if (!isChainableUpdate(each.sql)) throw new Error(`insertIfChanged: not an UPDATE … WHERE without a top-level OR: ${each.sql}`);
  return onDriver(
    client,
    () => [...guards, ...inserts].map((statement) => statement.sql).join(";\n"),
    (driver) => {
      if (driver.kind === "postgres") {
        // "changed" is the last guard's; the ones before are "g0", "g1", …
        const name = (i: number) => Prisma.raw(i === guards.length - 1 ? `"changed"` : `"g${i}"`);
        const chain = guards.map((guard, i) =>
          i === 0
            ? Prisma.sql`${name(i)} AS (${guard} RETURNING 1)`
            : Prisma.sql`${name(i)} AS (${guard} AND EXISTS (SELECT 1 FROM ${name(i - 1)}) RETURNING 1)`,
        );
        const earlier = inserts.slice(0, -1).map((each, i) => Prisma.sql`, ${Prisma.raw(`"i${i}"`)} AS (${each} FROM "changed")`);
        const last = inserts[inserts.length - 1] ?? insert;
        const withs = earlier.length > 0 ? Prisma.join(earlier, "") : Prisma.empty;
        return pgQuery(driver.pool, Prisma.sql`WITH ${Prisma.join(chain, ", ")}${withs} ${last} FROM "changed"`).then((result) => result.rowCount === 1);
      }
      const sqlite = driver.connection;
      return settled(() =>
        inTransaction(sqlite, () => {
          for (const guard of guards) if (sqlite.prepare(guard.sql).run(guard.values.map(sqliteArg)).changes !== 1) return false;
          for (const each of inserts) sqlite.prepare(each.sql).run(each.values.map(sqliteArg));
          return true;
        }),
      );
    },
  );
}

/** An `UPDATE … WHERE …` whose WHERE has no OR outside parentheses: `AND …` appended binds to all of it. */
function isChainableUpdate(sql: string): boolean {
  const match = /^\s*UPDATE\s[\s\S]*?\bWHERE\b([\s\S]*)$/i.exec(sql);
  if (!match || /\bRETURNING\b/i.test(sql)) return false;
  let where = match[1]!;
  for (let before = ""; before !== where;) {
    before = where;
    where = where.replace(/\([^()]*\)/g, "");
  }
  return !/\bOR\b/i.test(where);
}

/**
 * Runs `first` and `second`, statements that change a row each (a key's), as one: both change
 * their row, or nothing changes. Answers `both`, or which changed none: `first` (then `second` did
 * not run) or `second` (then `first` was rolled back). On SQLite one synchronous transaction on the
 * connection; on PostgreSQL one transaction on a connection of the pool. For something spent
 * together with what it is spent for (a recovery code and its sign-in's challenge).
 */
export function bothOrNeither(client: Db, first: Prisma.Sql, second: Prisma.Sql): Promise<"both" | "first" | "second"> {
  return onDriver(
    client,
    () => `${first.sql};\n${second.sql}`,
    (driver) => {
      if (driver.kind === "postgres") {
        return pgTransaction(driver.pool, async (query) => {
          if ((await query(first)).rowCount === 0) return { commit: false, value: "first" as const };
          const both = (await query(second)).rowCount !== 0;
          return { commit: both, value: both ? ("both" as const) : ("second" as const) };
        });
      }
      const sqlite = driver.connection;
      return settled(() => {
        try {
          return inTransaction(sqlite, () => {
            if (sqlite.prepare(first.sql).run(first.values.map(sqliteArg)).changes === 0) return "first" as const;
            if (sqlite.prepare(second.sql).run(second.values.map(sqliteArg)).changes !== 0) return "both" as const;
            // better-sqlite3 rolls a transaction back when its function throws.
            throw SECOND_CHANGED_NONE;
          });
        } catch (err) {
          if (err === SECOND_CHANGED_NONE) return "second" as const;
          throw err;
        }
      });
    },
  );
}

const SECOND_CHANGED_NONE = new Error("bothOrNeither: the second statement changed no row");

const INSERT_SELECT = /^\s*INSERT\s+INTO\s+"?\w+"?\s*\([^)]*\)\s*SELECT\s(?![\s\S]*\bFROM\b)/i;

/**
 * Writes that do not read one another's effects, as one: all of them or none. On SQLite one
 * transaction on the connection (synchronous, so nothing interleaves); on PostgreSQL one statement,
 * the first writes being data-modifying WITH queries of the last (one round trip, atomic as any
 * statement; they see the same snapshot, so none may depend on another's rows). For a sign-in's
 * session and first refresh token: one commit instead of two.
 */
export function sqlExecuteAll(client: Db, writes: readonly Prisma.Sql[]): Promise<void> {
  if (writes.length === 0) return Promise.resolve();
  return onDriver(
    client,
    () => writes.map((write) => write.sql).join(";\n"),
    (driver) => (driver.kind === "postgres" ? pgQuery(driver.pool, asOneStatement(writes)).then(() => undefined) : allOnSqlite(driver.connection, writes)),
  );
}

function allOnSqlite(sqlite: SqliteConnection, writes: readonly Prisma.Sql[]): Promise<void> {
  return settled(() =>
    inTransaction(sqlite, () => {
      for (const write of writes) sqlite.prepare(write.sql).run(write.values.map(sqliteArg));
    }),
  );
}

/** `WITH "w0" AS (first), "w1" AS (second) last`: PostgreSQL's one statement of several writes. */
function asOneStatement(writes: readonly Prisma.Sql[]): Prisma.Sql {
  const last = writes.at(-1)!;
  if (writes.length === 1) return last;
  const parts = writes.slice(0, -1).map((write, i) => Prisma.sql`${Prisma.raw(`"w${i}"`)} AS (${write})`);
  return Prisma.sql`WITH ${Prisma.join(parts, ", ")} ${last}`;
}

// One client per process; `next dev` re-evaluates modules on reload, so it lives on globalThis.
const cache = globalThis as typeof globalThis & { __ropcDb?: Db };

export function db(): Db {
  return (cache.__ropcDb ??= createDb());
}
