import net from "node:net";
import Database from "better-sqlite3";
import pg from "pg";
import { describe, expect, it, vi } from "vitest";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { databaseTimeout, transactionConflict } from "@/lib/platform/database-timeout.ts";
import { createDb, isPostgresUrl, QUERY_BACKSTOP_MS, sqlExecute, sqlRows, type Db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";

// DATABASE_TIMEOUT_SECONDS: how long the database may keep a request waiting. Each test makes a
// client of its own with a limit of 1 s.
const LIMIT_S = 1;
const onPostgres = isPostgresUrl(process.env.DATABASE_URL ?? "");

/** How long `work` took to fail, and with what. */
async function failure(work: () => Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const start = performance.now();
  try {
    await work();
  } catch (err) {
    return { err, ms: performance.now() - start };
  }
  throw new Error("it did not fail");
}

async function withClient(test: (client: Db) => Promise<void>, target = process.env.DATABASE_URL!) {
  const client = createDb(target, LIMIT_S);
  try {
    await test(client);
  } finally {
    await client.$disconnect();
  }
}

const failedLogin = (id: string) =>
  Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "username", "ip", "createdAt") VALUES (${id}, ${"w-timeout"}, ${"t"}, ${"192.0.2.1"}, ${new Date()})`;

it("is 5 s unless set", () => {
  expect(settings().DATABASE_TIMEOUT_SECONDS).toBe(5);
});

it("tells no other failure for a timeout", () => {
  const unique = Object.assign(new Error("duplicate key value violates unique constraint"), { code: "23505" });
  const cyclic: { message: string; cause?: unknown } = { message: "cyclic" };
  cyclic.cause = cyclic;
  for (const err of [
    unique,
    new Error("Connection terminated unexpectedly"),
    { code: "P2002", meta: { driverAdapterError: { cause: { originalCode: "23505" } } } },
    cyclic,
    null,
    "timeout",
  ])
    expect(databaseTimeout(err)).toBeUndefined();
  expect(databaseTimeout(new Error("wrapped", { cause: new Error("timeout exceeded when trying to connect") }))).toBe("connection");
});

it("tells a transaction the database ended for a conflict (a deadlock, a serialization failure) from every other failure", () => {
  const raw = (originalCode: string, kind: string) => ({ code: "P2010", meta: { driverAdapterError: { cause: { originalCode, kind } } } });
  expect(transactionConflict(raw("40P01", "TransactionWriteConflict"))).toBe(true);
  expect(transactionConflict(raw("40001", "TransactionWriteConflict"))).toBe(true);
  expect(transactionConflict({ code: "P2034" })).toBe(true);
  expect(transactionConflict(Object.assign(new Error("deadlock detected"), { code: "40P01" }))).toBe(true);
  for (const err of [
    raw("23505", "UniqueConstraintViolation"),
    raw("57014", "postgres"),
    { code: "P2002" },
    { code: "SQLITE_BUSY" },
    new Error("deadlock"),
    null,
    "40P01",
  ])
    expect(transactionConflict(err)).toBe(false);
});

describe.runIf(!onPostgres)("on SQLite", () => {
  it("waits for another process's write lock as long as the limit, and then fails the statement (ours and Prisma's)", () =>
    withClient(async (client) => {
      await sqlRows(client, Prisma.sql`SELECT 1 AS "one"`);
      const other = new Database(settings().databaseFile!);
      other.exec("BEGIN IMMEDIATE");
      try {
        const ours = await failure(() => sqlExecute(client, failedLogin(crypto.randomUUID())));
        expect(ours.err).toMatchObject({ code: "SQLITE_BUSY" });
        // It waited (the limit, not SQLite's default of none) and no longer than 5 s, the default.
        expect(ours.ms).toBeGreaterThanOrEqual(LIMIT_S * 1000 * 0.9);
        expect(ours.ms).toBeLessThan(4000);
        const prisma = await failure(() => client.failedLogin.deleteMany({ where: { workspaceId: "w-timeout" } }));
        expect(prisma.err).toMatchObject({ code: "P1008" });
        expect([databaseTimeout(ours.err), databaseTimeout(prisma.err)]).toEqual(["statement", "statement"]);
      } finally {
        other.exec("ROLLBACK");
        other.close();
      }
      await sqlExecute(client, failedLogin(crypto.randomUUID()));
    }));
});

describe.runIf(onPostgres)("on PostgreSQL", () => {
  const backend = Prisma.sql`SELECT pg_backend_pid() AS "pid"`;
  const poolOf = (client: Db) => (client as unknown as Record<symbol, { driver?: { pool: pg.Pool } }>)[Symbol.for("ropc.db.connection")]!.driver!.pool;

  it("tells every connection, before its first statement, to cancel a statement and end a transaction left idle after the limit", () =>
    withClient(async (client) => {
      const limits = Prisma.sql`SELECT current_setting('statement_timeout') AS "statement", current_setting('idle_in_transaction_session_timeout') AS "idle"`;
      // Several at once, so that the pool opens several connections; Prisma's queries share them.
      const answers = await Promise.all(Array.from({ length: 4 }, () => sqlRows(client, limits)));
      expect(answers.flat()).toEqual(Array.from({ length: 4 }, () => ({ statement: "1s", idle: "1s" })));
      expect(await client.$queryRawUnsafe(limits.sql)).toEqual([{ statement: "1s", idle: "1s" }]);
      expect(poolOf(client).options).toMatchObject({ connectionTimeoutMillis: 1000, query_timeout: 1000 + QUERY_BACKSTOP_MS, idleTimeoutMillis: 0 });
    }));

  it("cancels a statement that runs past the limit, and keeps its connection (ours and Prisma's)", () =>
    withClient(async (client) => {
      const [{ pid }] = (await sqlRows<{ pid: number }>(client, backend)) as [{ pid: number }];
      const ours = await failure(() => sqlRows(client, Prisma.sql`SELECT pg_sleep(${3}) AS "slept"`));
      expect(ours.err).toMatchObject({ code: "57014" });
      expect(ours.ms).toBeLessThan(2500);
      expect(await sqlRows(client, backend)).toEqual([{ pid }]);
      const prisma = await failure(() => client.$queryRaw`SELECT pg_sleep(3)`);
      expect(prisma.err).toMatchObject({ code: "P2010", meta: { driverAdapterError: { cause: { originalCode: "57014" } } } });
      expect([databaseTimeout(ours.err), databaseTimeout(prisma.err)]).toEqual(["statement", "statement"]);
    }));

  it("cancels a statement that waits for another transaction's lock past the limit, and goes on once it is released", () =>
    withClient(async (client) => {
      const other = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await other.connect();
      try {
        await other.query('BEGIN; LOCK TABLE "FailedLogin" IN EXCLUSIVE MODE');
        const ours = await failure(() => sqlExecute(client, failedLogin(crypto.randomUUID())));
        expect(ours.err).toMatchObject({ code: "57014" });
        const prisma = await failure(() => client.failedLogin.deleteMany({ where: { workspaceId: "w-timeout" } }));
        expect(databaseTimeout(prisma.err)).toBe("statement");
        await other.query("ROLLBACK");
      } finally {
        await other.end();
      }
      await sqlExecute(client, failedLogin(crypto.randomUUID()));
    }));

  it("ends a transaction left idle past the limit: its locks are freed and nothing of it is kept", () =>
    withClient(async (client) => {
      const id = crypto.randomUUID();
      const idle = failure(() =>
        client.$transaction(
          async (tx) => {
            await tx.$executeRawUnsafe(failedLogin(id).sql, ...failedLogin(id).values);
            await new Promise((resolve) => setTimeout(resolve, 2500));
            await tx.$queryRaw`SELECT 1`;
          },
          { timeout: 10_000 },
        ),
      );
      // Meanwhile the row it locked is free again once the server has ended it.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await sqlExecute(client, Prisma.sql`DELETE FROM "FailedLogin" WHERE "id" = ${id}`);
      expect((await idle).err).toBeInstanceOf(Error);
      expect(await sqlRows(client, Prisma.sql`SELECT "id" FROM "FailedLogin" WHERE "id" = ${id}`)).toEqual([]);
    }));

  it("gives up waiting for a connection when all of the pool's are taken, and serves once one is free", () =>
    withClient(async (client) => {
      await sqlRows(client, backend);
      const pool = poolOf(client);
      const taken = await Promise.all(Array.from({ length: 10 }, () => pool.connect()));
      try {
        const waited = await failure(() => sqlRows(client, backend));
        expect(waited.err).toMatchObject({ message: "timeout exceeded when trying to connect" });
        expect(waited.ms).toBeGreaterThanOrEqual(900);
        expect(databaseTimeout(waited.err)).toBe("connection");
      } finally {
        for (const connection of taken) connection.release();
      }
      expect(await sqlRows(client, Prisma.sql`SELECT 1 AS "one"`)).toEqual([{ one: 1 }]);
    }));

  it("fails a statement that gets no answer (the server or the network gone) and closes its connection; a connect that gets none fails too", async () => {
    const proxy = await silentProxy(new URL(process.env.DATABASE_URL!));
    try {
      await withClient(async (client) => {
        const pool = poolOf(await sqlRows(client, backend).then(() => client));
        // A Prisma transaction's connection too: Prisma gives it back to the pool without an error.
        await client.$transaction(async (tx) => tx.$queryRaw`SELECT 1`);
        expect(pool.totalCount).toBe(1);
        proxy.silence();
        const ours = await failure(() => sqlRows(client, backend));
        expect(ours.err).toMatchObject({ message: "Query read timeout" });
        expect(ours.ms).toBeGreaterThanOrEqual(1000 + QUERY_BACKSTOP_MS - 100);
        expect(databaseTimeout(ours.err)).toBe("connection");
        expect(pool.totalCount).toBe(0);
        // A new connection: the server's answer to the connect never comes.
        const connect = await failure(() => sqlRows(client, backend));
        expect(connect.err).toMatchObject({ message: "Connection terminated due to connection timeout" });
        expect(connect.ms).toBeLessThan(1000 + QUERY_BACKSTOP_MS);
        expect(databaseTimeout(connect.err)).toBe("connection");
        // In a Prisma transaction: it has begun when the answers stop.
        proxy.speak();
        const prisma = await failure(() =>
          client.$transaction(
            async (tx) => {
              proxy.silence();
              await tx.$queryRaw`SELECT 1`;
            },
            { timeout: 20_000 },
          ),
        );
        expect(databaseTimeout(prisma.err)).toBe("connection");
        await vi.waitFor(() => expect(pool.totalCount).toBe(0));
        // Beginning one whose BEGIN gets no answer fails after Prisma's own wait (2 s), and its
        // connection is closed once pg gives up on the BEGIN.
        proxy.speak();
        await sqlRows(client, backend);
        proxy.silence();
        const begin = await failure(() => client.$transaction(async (tx) => tx.$queryRaw`SELECT 1`));
        expect(begin.err).toMatchObject({ code: "P2028" });
        expect(databaseTimeout(begin.err)).toBe("connection");
        await vi.waitFor(() => expect(pool.totalCount).toBe(0), { timeout: 1000 + QUERY_BACKSTOP_MS });
        proxy.speak();
        expect(await sqlRows(client, Prisma.sql`SELECT 1 AS "one"`)).toEqual([{ one: 1 }]);
      }, proxy.url);
    } finally {
      await proxy.close();
    }
  }, 40_000);
});

/**
 * A TCP proxy to the test's PostgreSQL server that can fall silent: from `silence()` on, it passes
 * nothing either way, not even an end (as a server that hangs, or a network that drops every packet), on the
 * connections it has and on new ones, until `speak()`.
 */
async function silentProxy(target: URL) {
  let silent = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((downstream) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const [from, to] of [
      [downstream, upstream],
      [upstream, downstream],
    ] as const) {
      sockets.add(from);
      from.on("data", (chunk) => silent || to.write(chunk));
      // Silent, it does not pass on an end either (the server ends a transaction left idle).
      from.on("error", () => silent || to.destroy());
      from.on("close", () => silent || to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = Object.assign(new URL(target), { host: `127.0.0.1:${(server.address() as net.AddressInfo).port}` }).toString();
  return {
    url,
    silence: () => (silent = true),
    speak: () => (silent = false),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
