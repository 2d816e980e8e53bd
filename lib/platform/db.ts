import path from "node:path";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type { ArgType, SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery } from "@prisma/driver-adapter-utils";
import { PrismaClient, type Prisma } from "@/lib/generated/prisma/client.ts";
import { PrismaClient as PostgresPrismaClient } from "@/lib/generated/prisma-pg/client.ts";
import { settings } from "@/lib/platform/env.ts";
import { measureDatabasePool } from "@/lib/platform/metrics.ts";

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
// is the failure we plan for. The adapter sets no pragmas itself.
const SQLITE_PRAGMAS = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

function sqliteAdapter(file: string): SqlDriverAdapterFactory {
  const base = new PrismaBetterSqlite3({ url: `file:${file}`, timeout: 5000 });
  return {
    provider: base.provider,
    adapterName: base.adapterName,
    async connect() {
      const adapter = await base.connect();
      await adapter.executeScript(SQLITE_PRAGMAS);
      reuseStatements((adapter as unknown as { client?: unknown }).client);
      return adapter;
    },
  };
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
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = prepare(sql);
      if (cache.size >= max) cache.clear();
      cache.set(sql, stmt);
    }
    const cached = stmt;
    return {
      reader: cached.reader,
      run: (params: unknown[] = []) => cached.run(params),
      columns: () => cached.columns(),
      raw: (on = true) => ({ all: (params: unknown[] = []) => cached.raw(on).all(params) }),
      // Rows as objects, for our own reads (sqlRows): the adapter leaves raw mode on.
      all: (params: unknown[] = []) => cached.raw(false).all(params),
      bind: (params: unknown[]) => ({
        reader: cached.reader,
        run: () => cached.run(params),
        columns: () => cached.columns(),
        raw: (on = true) => ({ all: () => cached.raw(on).all(params) }),
      }),
    } as unknown as Statement;
  };
}

// The driver adapter a client connected with (see `sqlRows`), kept on the client: `next dev` and
// tests may load this module anew while the client (on globalThis) lives on.
const CONNECTION = Symbol.for("ropc.db.connection");
type Noted = Db & { [CONNECTION]?: { adapter?: SqlDriverAdapter } };

/** The factory, noting in `into` the adapter the client is connected with (none after a disconnect). */
function noting(factory: SqlDriverAdapterFactory, into: { adapter?: SqlDriverAdapter }): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    async connect() {
      const adapter = await factory.connect();
      const dispose = adapter.dispose.bind(adapter);
      adapter.dispose = () => {
        if (into.adapter === adapter) into.adapter = undefined;
        return dispose();
      };
      return (into.adapter = adapter);
    },
  };
}

/**
 * The PostgreSQL adapter on a pool of our own, made at each connect as the adapter would make it
 * (and ended with it), so that the metrics can read the pool's gauges.
 */
function measuredPostgres(connectionString: string): SqlDriverAdapterFactory {
  const base = new PrismaPg({ connectionString });
  let pool: pg.Pool | undefined;
  measureDatabasePool(() => pool && { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount });
  return {
    provider: base.provider,
    adapterName: base.adapterName,
    connect() {
      pool = new pg.Pool({ connectionString });
      return new PrismaPg(pool, { disposeExternalPool: true }).connect();
    },
  };
}

/** A client for a `postgresql://` URL, a `file:` URL, or a path to an SQLite file. */
export function createDb(target: string = settings().DATABASE_URL): Db {
  const connection: { adapter?: SqlDriverAdapter } = {};
  let client: Db;
  if (isPostgresUrl(target)) {
    client = new PostgresPrismaClient({ adapter: noting(measuredPostgres(target), connection) }) as unknown as Db;
  } else {
    const file = target.startsWith("file:") ? path.resolve(/*turbopackIgnore: true*/ process.cwd(), target.slice("file:".length).replace(/\?.*$/, "")) : target;
    client = new PrismaClient({ adapter: noting(sqliteAdapter(file), connection) });
  }
  (client as Noted)[CONNECTION] = connection;
  return client;
}

function argType(value: unknown): ArgType {
  const scalarType =
    value instanceof Date
      ? "datetime"
      : typeof value === "string"
        ? "string"
        : typeof value === "number"
          ? "decimal"
          : typeof value === "boolean"
            ? "boolean"
            : "unknown";
  return { scalarType, arity: "scalar" };
}

async function adapterOf(client: Db): Promise<SqlDriverAdapter> {
  const connection = (client as Noted)[CONNECTION];
  if (!connection) throw new Error("not a client made by createDb");
  if (!connection.adapter) await client.$connect();
  if (!connection.adapter) throw new Error("the client did not connect");
  return connection.adapter;
}

function adapterQuery(adapter: SqlDriverAdapter, query: Prisma.Sql): SqlQuery {
  return { sql: adapter.provider === "postgres" ? query.text : query.sql, args: query.values, argTypes: query.values.map(argType) };
}

/**
 * Plain SQL (Prisma.sql, so portable placeholders and parameters) on the client's own connection,
 * without the query engine's layers around it: on SQLite straight to better-sqlite3's prepared
 * statement (cached, see reuseStatements; parameters written as the adapter writes them), on
 * PostgreSQL through the driver adapter. For the hot paths (the grants' reads and writes,
 * introspection, userinfo, the audit batches): there, Prisma's per-query work (serializing the
 * parameters to JSON and back, plan interpretation, result mapping) cost more CPU than the
 * database spent running them. Never inside a Prisma interactive transaction. Column values come
 * back as the driver gives them: datetimes as ISO 8601 strings or Dates, booleans as booleans or
 * 0/1, integers as numbers (PostgreSQL's COUNT as a string: read it with Number()).
 */
export async function sqlRows<T extends Record<string, unknown>>(client: Db, query: Prisma.Sql): Promise<T[]> {
  const adapter = await adapterOf(client);
  // SQLite: the prepared statement on the connection itself (better-sqlite3 answers at once).
  const sqlite = sqliteConnection(adapter);
  if (sqlite) return sqlite.prepare(query.sql).all(query.values.map(sqliteArg)) as T[];
  const { columnNames, rows } = await adapter.queryRaw(adapterQuery(adapter, query));
  return rows.map((row) => Object.fromEntries(columnNames.map((name, i) => [name, row[i]])) as T);
}

/** Like `sqlRows`, for a statement: the number of rows it changed. */
export async function sqlExecute(client: Db, query: Prisma.Sql): Promise<number> {
  const adapter = await adapterOf(client);
  const sqlite = sqliteConnection(adapter);
  if (sqlite) return sqlite.prepare(query.sql).run(query.values.map(sqliteArg)).changes;
  return adapter.executeRaw(adapterQuery(adapter, query));
}

/** What of better-sqlite3's connection a synchronous transaction needs (under the SQLite adapter). */
interface SqliteConnection {
  prepare(sql: string): { run(params: unknown[]): { changes: number }; all(params: unknown[]): unknown[] };
  transaction<T>(fn: () => T): () => T;
}

function sqliteConnection(adapter: SqlDriverAdapter): SqliteConnection | undefined {
  const connection = (adapter as unknown as { client?: Partial<SqliteConnection> }).client;
  return adapter.provider === "sqlite" && typeof connection?.prepare === "function" && typeof connection.transaction === "function"
    ? (connection as SqliteConnection)
    : undefined;
}

/** A parameter as the SQLite adapter writes it (its iso8601 timestamp format, booleans as 0/1). */
function sqliteArg(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString().replace("Z", "+00:00");
  return typeof value === "boolean" ? Number(value) : value;
}

/**
 * Runs `first` and, when it changed exactly one row, `then`, as one transaction that nothing can
 * interleave with: synchronously on SQLite's connection (no other request's query can slip in
 * between), on one pooled connection between BEGIN and COMMIT on PostgreSQL. Answers whether
 * `then` ran. For a conditional write and what depends on it (a refresh token's rotation).
 */
export async function executeIfChanged(client: Db, first: Prisma.Sql, then: Prisma.Sql): Promise<boolean> {
  const adapter = await adapterOf(client);
  const sqlite = sqliteConnection(adapter);
  if (sqlite) {
    return sqlite.transaction(() => {
      if (sqlite.prepare(first.sql).run(first.values.map(sqliteArg)).changes !== 1) return false;
      sqlite.prepare(then.sql).run(then.values.map(sqliteArg));
      return true;
    })();
  }
  const tx = await adapter.startTransaction();
  try {
    const changed = (await tx.executeRaw(adapterQuery(adapter, first))) === 1;
    if (changed) await tx.executeRaw(adapterQuery(adapter, then));
    await tx.executeRaw({ sql: "COMMIT", args: [], argTypes: [] });
    await tx.commit();
    return changed;
  } catch (err) {
    await tx.executeRaw({ sql: "ROLLBACK", args: [], argTypes: [] }).catch(() => undefined);
    await tx.rollback();
    throw err;
  }
}

// One client per process; `next dev` re-evaluates modules on reload, so it lives on globalThis.
const cache = globalThis as typeof globalThis & { __ropcDb?: Db };

export function db(): Db {
  return (cache.__ropcDb ??= createDb());
}
