import { createHash } from "node:crypto";
import pg from "pg";

/** A statement in PostgreSQL's own form: `$1` placeholders (Prisma.Sql's `text`) and their values. */
export interface PgStatement {
  readonly text: string;
  readonly values: readonly unknown[];
}

// A text with more parameters is built per call (the audit's multi-row INSERT has one text per
// batch size): named, it would leave on every connection statements used once or twice.
const MAX_NAMED_PARAMETERS = 64;
// And no more texts than this are named, so no connection holds more prepared statements.
const MAX_NAMED = 256;
const names = new Map<string, string>();

/**
 * The name a statement is prepared under: a hash of its text, the same on every connection. pg
 * notes, per connection, the names it has prepared there, so each connection parses and plans a
 * text once and then only binds and executes it. Undefined (an unnamed statement, prepared anew at
 * each use) for a text of many parameters, and for any text past the first MAX_NAMED.
 */
export function statementName(statement: PgStatement): string | undefined {
  const known = names.get(statement.text);
  if (known !== undefined || statement.values.length > MAX_NAMED_PARAMETERS || names.size >= MAX_NAMED) return known;
  const name = `ropc_${createHash("sha256").update(statement.text).digest("hex").slice(0, 40)}`;
  names.set(statement.text, name);
  return name;
}

const { TIMESTAMP, DATE } = pg.types.builtins;

// `timestamp` (how Prisma stores a DateTime) and `date` carry no time zone, and pg's own parsers
// read them in the process's: they come back as text instead, a timestamp as ISO 8601 in UTC,
// which is what Prisma's pg adapter gives (and Prisma writes) too.
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) => {
    if (format === "binary") return pg.types.getTypeParser(oid, format);
    if (oid === TIMESTAMP) return (text: string) => `${text.replace(" ", "T")}+00:00`;
    if (oid === DATE) return (text: string) => text;
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * A Date as ISO 8601 in UTC. pg would write it in the process's time zone, with an offset that a
 * `timestamp` column ignores, storing local time as if it were UTC.
 */
function pgValue(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value;
}

function run(client: pg.ClientBase, statement: PgStatement): Promise<pg.QueryResult> {
  return client.query({ name: statementName(statement), text: statement.text, values: statement.values.map(pgValue), types: TYPES });
}

/**
 * Whether the server refused a statement and carries on (SQLSTATE classes 21 to 23: a bad value
 * or a constraint; 40: a conflict with another transaction; 42: bad SQL; 57014: cancelled, by
 * `statement_timeout`): the connection stays in step, its prepared statements worth keeping. Not
 * so after anything else: a broken socket, no answer in time (see BoundedClient), or the server
 * ending the session (its FATAL error arrives before the socket closes).
 */
function refused(err: unknown): boolean {
  return err instanceof pg.DatabaseError && /^(2[1-3]|40|42|57014)/.test(err.code ?? "");
}

/** pg's error for a statement that got no answer within `query_timeout`. */
export const NO_ANSWER = "Query read timeout";

/**
 * pg's client, closing its connection when a statement it sent got no answer within
 * `query_timeout`. pg fails the statement but goes on waiting for its answer, queueing every
 * later statement behind it; a Prisma transaction gives its connection back to the pool without
 * an error, so the pool would hand that connection out again.
 */
export class BoundedClient extends pg.Client {}
const query = pg.Client.prototype.query;
BoundedClient.prototype.query = function (this: BoundedClient, ...args: unknown[]) {
  const result: unknown = Reflect.apply(query, this, args);
  if (result instanceof Promise)
    result.catch((err: unknown) => {
      if (err instanceof Error && err.message === NO_ANSWER) this.connection.stream.destroy();
    });
  return result;
} as typeof query;

/**
 * Runs `work` on a connection of the pool and gives the connection back; closes it instead when
 * it failed in a way that may have left it broken or out of step, or when `work` discards it.
 */
async function onConnection<T>(pool: pg.Pool, work: (client: pg.PoolClient, discard: (reason: unknown) => void) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const discard = (reason: unknown) => {
    broken ??= reason instanceof Error ? reason : new Error(String(reason));
  };
  // The pool listens to its idle connections only: a checked-out one that fails (the server
  // gone) would otherwise throw its error as an uncaught exception.
  client.on("error", discard);
  try {
    return await work(client, discard);
  } catch (err) {
    if (!refused(err)) discard(err);
    throw err;
  } finally {
    client.off("error", discard);
    client.release(broken);
  }
}

/** Runs a statement on a connection of the pool, prepared under its name (see statementName). */
export function pgQuery(pool: pg.Pool, statement: PgStatement): Promise<pg.QueryResult> {
  return onConnection(pool, (client) => run(client, statement));
}

/**
 * Runs `work` in one transaction on one connection of the pool: committed or rolled back as it
 * answers, rolled back when it throws (and the error passed on; the connection is closed if even
 * the rollback fails). Its statements are prepared under their names, as pgQuery's.
 */
export function pgTransaction<T>(
  pool: pg.Pool,
  work: (query: (statement: PgStatement) => Promise<pg.QueryResult>) => Promise<{ commit: boolean; value: T }>,
): Promise<T> {
  return onConnection(pool, async (client, discard) => {
    await client.query("BEGIN");
    let done: { commit: boolean; value: T };
    try {
      done = await work((statement) => run(client, statement));
    } catch (err) {
      await client.query("ROLLBACK").catch(discard);
      throw err;
    }
    await client.query(done.commit ? "COMMIT" : "ROLLBACK");
    return done.value;
  });
}
