import Database from "better-sqlite3";
import { describe, expect, it, vi } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import {
  clientHasConnected,
  clientWasMade,
  createDb,
  db,
  bothOrNeither,
  insertIfChanged,
  isPostgresUrl,
  reuseStatements,
  sqlExecute,
  sqlExecuteAll,
  sqlLimit,
  sqlRows,
} from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";

describe("reuseStatements", () => {
  it("prepares each SQL text once and runs it with each call's own arguments", () => {
    const sqlite = new Database(":memory:");
    sqlite.exec("CREATE TABLE t (a TEXT, b INTEGER)");
    const prepare = vi.spyOn(sqlite, "prepare");
    reuseStatements(sqlite);
    const db = sqlite as unknown as {
      prepare(sql: string): { bind(args: unknown[]): { run(): unknown; reader: boolean; raw(): { all(): unknown[] }; columns(): { name: string }[] } };
    };
    for (const [a, b] of [
      ["x", 1],
      ["y", 2],
      ["z", 3],
    ] as const)
      db.prepare("INSERT INTO t (a, b) VALUES (?, ?)").bind([a, b]).run();
    const read = (b: number) => db.prepare("SELECT a FROM t WHERE b >= ? ORDER BY b").bind([b]);
    expect(read(2).reader).toBe(true);
    expect(
      read(2)
        .columns()
        .map((c) => c.name),
    ).toEqual(["a"]);
    expect(read(2).raw().all()).toEqual([["y"], ["z"]]);
    expect(read(3).raw().all()).toEqual([["z"]]);
    expect(prepare).toHaveBeenCalledTimes(2);
  });

  it("leaves anything that is not a connection alone", () => {
    expect(() => reuseStatements(undefined)).not.toThrow();
    expect(() => reuseStatements({})).not.toThrow();
  });
});

describe("sqlRows and sqlExecute (plain SQL on the driver adapter)", () => {
  const at = new Date("2031-05-06T07:08:09.123Z");

  it("writes parameters as Prisma would and reads rows by column name", async () => {
    const id = crypto.randomUUID();
    const username = `o'brien "quoted" ${id}`;
    const changed = await sqlExecute(
      db(),
      Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "username", "ip", "createdAt") VALUES (${id}, ${"w-sql"}, ${username}, ${"192.0.2.9"}, ${at})`,
    );
    expect(changed).toBe(1);
    // Prisma reads back exactly what was written, the date included.
    expect(await db().failedLogin.findUnique({ where: { id } })).toEqual({ id, workspaceId: "w-sql", kind: "user", username, ip: "192.0.2.9", createdAt: at });
    const rows = await sqlRows<{ id: string; username: string; createdAt: string }>(
      db(),
      Prisma.sql`SELECT "id", "username", "createdAt" FROM "FailedLogin" WHERE "username" = ${username} AND "createdAt" >= ${at}`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toBe(id);
    expect(rows[0]!.username).toBe(username);
    expect(new Date(rows[0]!.createdAt).getTime()).toBe(at.getTime());
    expect(await sqlRows(db(), Prisma.sql`SELECT "id" FROM "FailedLogin" WHERE "createdAt" > ${at}`)).toEqual([]);
  });

  it("connects a client that has not connected yet, and again after a disconnect", async () => {
    const client = createDb();
    try {
      expect(await sqlRows(client, Prisma.sql`SELECT ${"a"} AS "x"`)).toEqual([{ x: "a" }]);
      await client.$disconnect();
      expect(await sqlExecute(client, Prisma.sql`DELETE FROM "FailedLogin" WHERE "workspaceId" = ${"w-sql"}`)).toBe(1);
    } finally {
      await client.$disconnect();
    }
  });

  it("writes and reads datetimes as the same instant whatever the process's time zone", async () => {
    const tz = process.env.TZ;
    process.env.TZ = "Pacific/Auckland";
    try {
      const id = crypto.randomUUID();
      await sqlExecute(
        db(),
        Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "username", "ip", "createdAt") VALUES (${id}, ${"w-tz"}, ${"tz"}, ${"192.0.2.10"}, ${at})`,
      );
      expect((await db().failedLogin.findUnique({ where: { id } }))?.createdAt).toEqual(at);
      const [row] = await sqlRows<{ createdAt: Date | string }>(
        db(),
        Prisma.sql`SELECT "createdAt" FROM "FailedLogin" WHERE "id" = ${id} AND "createdAt" = ${at}`,
      );
      expect(new Date(row!.createdAt).getTime()).toBe(at.getTime());
    } finally {
      process.env.TZ = tz;
    }
  });

  it("runs without connecting the client, whose own queries then share the same connection", async () => {
    const client = createDb();
    const driverOf = (c: typeof client) =>
      (c as unknown as Record<symbol, { driver?: { connection?: object; pool?: object } }>)[Symbol.for("ropc.db.connection")]?.driver;
    try {
      expect(await sqlRows(client, Prisma.sql`SELECT ${"a"} AS "x"`)).toEqual([{ x: "a" }]);
      expect(clientHasConnected(client)).toBe(false);
      const ours = driverOf(client);
      expect(ours).toBeDefined();
      expect(typeof (await client.user.count())).toBe("number");
      expect(clientHasConnected(client)).toBe(true);
      expect(driverOf(client)).toBe(ours);
    } finally {
      await client.$disconnect();
    }
    expect(driverOf(client)).toBeUndefined();
  });

  it("ends the connection at the disconnect of a client that never connected", async () => {
    const client = createDb();
    await sqlRows(client, Prisma.sql`SELECT 1 AS "one"`);
    const driver = (client as unknown as Record<symbol, { driver?: { kind: string; connection?: { open: boolean }; pool?: { ended: boolean } } }>)[
      Symbol.for("ropc.db.connection")
    ]?.driver;
    await client.$disconnect();
    expect(clientHasConnected(client)).toBe(false);
    // Never even made: the disconnect ends the adapter all the same.
    expect(clientWasMade(client)).toBe(false);
    expect(driver?.kind === "postgres" ? driver.pool?.ended : driver?.connection?.open === false).toBe(true);
    // And the next use opens another.
    expect(await sqlRows(client, Prisma.sql`SELECT ${"b"} AS "x"`)).toEqual([{ x: "b" }]);
    await client.$disconnect();
  });

  it("refuses a client it did not make", async () => {
    await expect(sqlRows({} as never, Prisma.sql`SELECT 1`)).rejects.toThrow("not a client made by createDb");
  });
});

describe("sqlLimit", () => {
  it("writes the count into the statement's text, so that SQLite does not compile it again at every run", async () => {
    const query = Prisma.sql`SELECT "id" FROM "FailedLogin" WHERE "workspaceId" = ${"w-limit"} ORDER BY "createdAt" DESC ${sqlLimit(3)}`;
    expect(query.sql).toMatch(/ LIMIT 3$/);
    expect(query.values).toEqual(["w-limit"]);
    expect(await sqlRows(db(), query)).toEqual([]);
    expect(sqlLimit(0).sql).toBe("LIMIT 0");
  });

  it("refuses anything but a non-negative integer", () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) expect(() => sqlLimit(bad)).toThrow(RangeError);
  });

  it("is how every plain SQL statement of the project limits its rows (none binds a LIMIT)", () => {
    const root = path.join(import.meta.dirname, "..", "..");
    const sources = ["lib", "app"].flatMap((dir) =>
      fs
        .readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" })
        .filter((f) => /\.tsx?$/.test(f) && !f.includes("generated"))
        .map((f) => path.join(dir, f)),
    );
    expect(sources.length).toBeGreaterThan(100);
    // A `${…}` after LIMIT or OFFSET in a Prisma.sql template is a bound parameter (sqlLimit's own Prisma.raw is not).
    const binds = (line: string) => /\b(LIMIT|OFFSET)\s+\$\{/i.test(line) && !line.includes("Prisma.raw(");
    const bound = sources.filter((f) => fs.readFileSync(path.join(root, f), "utf8").split("\n").some(binds));
    expect(bound).toEqual([]);
  });
});

describe("insertIfChanged", () => {
  const insert = (id: string, ip: string) =>
    Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "username", "ip", "createdAt") SELECT ${id}, ${"w-tx"}, ${"tx"}, ${ip}, ${new Date()}`;
  const ipOf = async (id: string) => (await db().failedLogin.findUnique({ where: { id } }))?.ip;

  it("runs the second statement only when the first changed exactly one row", async () => {
    const id = crypto.randomUUID();
    const next = crypto.randomUUID();
    await sqlExecute(db(), insert(id, "192.0.2.1"));
    const consume = Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.2"} WHERE "id" = ${id} AND "ip" = ${"192.0.2.1"}`;
    expect(await insertIfChanged(db(), consume, insert(next, "192.0.2.3"))).toBe(true);
    expect(await insertIfChanged(db(), consume, insert(crypto.randomUUID(), "192.0.2.4"))).toBe(false);
    expect([await ipOf(id), await ipOf(next)]).toEqual(["192.0.2.2", "192.0.2.3"]);
  });

  it("rolls the first statement back when the second fails, and goes on working", async () => {
    const id = crypto.randomUUID();
    await sqlExecute(db(), insert(id, "192.0.2.1"));
    // The second statement reuses the row's id: a primary-key violation.
    await expect(
      insertIfChanged(db(), Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.9"} WHERE "id" = ${id}`, insert(id, "192.0.2.9")),
    ).rejects.toThrow();
    expect(await ipOf(id)).toBe("192.0.2.1");
    expect(
      await insertIfChanged(db(), Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.5"} WHERE "id" = ${id}`, insert(crypto.randomUUID(), "192.0.2.5")),
    ).toBe(true);
    expect(await ipOf(id)).toBe("192.0.2.5");
  });

  it("lets one of two racing callers insert, and only one", async () => {
    const id = crypto.randomUUID();
    await sqlExecute(db(), insert(id, "192.0.2.1"));
    const consume = Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.2"} WHERE "id" = ${id} AND "ip" = ${"192.0.2.1"}`;
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    const outcomes = await Promise.all([insertIfChanged(db(), consume, insert(a, "192.0.2.3")), insertIfChanged(db(), consume, insert(b, "192.0.2.4"))]);
    expect(outcomes.sort()).toEqual([false, true]);
    expect([await ipOf(a), await ipOf(b)].filter(Boolean)).toHaveLength(1);
  });

  it("runs several inserts after the first statement, all or none", async () => {
    const id = crypto.randomUUID();
    await sqlExecute(db(), insert(id, "192.0.2.1"));
    const consume = Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.2"} WHERE "id" = ${id} AND "ip" = ${"192.0.2.1"}`;
    const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    expect(await insertIfChanged(db(), consume, insert(a, "192.0.2.3"), insert(b, "192.0.2.4"), insert(c, "192.0.2.5"))).toBe(true);
    expect([await ipOf(a), await ipOf(b), await ipOf(c)]).toEqual(["192.0.2.3", "192.0.2.4", "192.0.2.5"]);
    const [d, e] = [crypto.randomUUID(), crypto.randomUUID()];
    expect(await insertIfChanged(db(), consume, insert(d, "192.0.2.6"), insert(e, "192.0.2.7"))).toBe(false);
    expect([await ipOf(d), await ipOf(e)]).toEqual([undefined, undefined]);
    // The last insert failing (a key taken) undoes the first statement and the earlier inserts.
    const again = Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.8"} WHERE "id" = ${id}`;
    const f = crypto.randomUUID();
    await expect(insertIfChanged(db(), again, insert(f, "192.0.2.8"), insert(a, "192.0.2.8"))).rejects.toThrow();
    expect([await ipOf(id), await ipOf(f)]).toEqual(["192.0.2.2", undefined]);
  });

  it("runs a chain of updates in order, each after the one before changed its row, and inserts only after the last", async () => {
    const [x, y] = [crypto.randomUUID(), crypto.randomUUID()];
    await sqlExecute(db(), insert(x, "192.0.2.1"));
    await sqlExecute(db(), insert(y, "192.0.2.1"));
    const move = (id: string, from: string, to: string) =>
      Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${to} WHERE "id" = ${id} AND ("ip" = ${from} OR "ip" = ${to})`;
    const a = crypto.randomUUID();
    expect(await insertIfChanged(db(), [move(x, "192.0.2.1", "192.0.2.2"), move(y, "192.0.2.1", "192.0.2.3")], insert(a, "192.0.2.4"))).toBe(true);
    expect([await ipOf(x), await ipOf(y), await ipOf(a)]).toEqual(["192.0.2.2", "192.0.2.3", "192.0.2.4"]);
    // The second changes nothing: the first's change stays, nothing is inserted.
    const b = crypto.randomUUID();
    expect(await insertIfChanged(db(), [move(x, "192.0.2.2", "192.0.2.5"), move(y, "192.0.2.9", "192.0.2.6")], insert(b, "192.0.2.7"))).toBe(false);
    expect([await ipOf(x), await ipOf(y), await ipOf(b)]).toEqual(["192.0.2.5", "192.0.2.3", undefined]);
    // The first changes nothing: the second does not run, even where it would change its row.
    const c = crypto.randomUUID();
    expect(await insertIfChanged(db(), [move(x, "192.0.2.9", "192.0.2.8"), move(y, "192.0.2.3", "192.0.2.8")], insert(c, "192.0.2.8"))).toBe(false);
    expect([await ipOf(x), await ipOf(y), await ipOf(c)]).toEqual(["192.0.2.5", "192.0.2.3", undefined]);
  });

  it("refuses a later update of a chain that is not an UPDATE … WHERE without a top-level OR", () => {
    const first = Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.2"} WHERE "id" = ${"none"}`;
    const row = Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "username", "ip", "createdAt") SELECT ${"x"}, ${"w"}, ${"u"}, ${"i"}, ${new Date()}`;
    const bare = Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.2"}`;
    const or = Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.2"} WHERE "id" = ${"a"} OR "id" = ${"b"}`;
    const returning = Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.2"} WHERE "id" = ${"a"} RETURNING "id"`;
    for (const bad of [bare, or, returning]) expect(() => insertIfChanged(db(), [first, bad], row)).toThrow(/not an UPDATE … WHERE without a top-level OR/);
  });

  it("refuses an insert in any other form than INSERT … SELECT without FROM", () => {
    const consume = Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.2"} WHERE "id" = ${"none"}`;
    const values = Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "username", "ip", "createdAt") VALUES (${"x"}, ${"w"}, ${"u"}, ${"i"}, ${new Date()})`;
    const from = Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "username", "ip", "createdAt") SELECT "id", "workspaceId", "username", "ip", "createdAt" FROM "FailedLogin"`;
    for (const bad of [values, from]) expect(() => insertIfChanged(db(), consume, bad)).toThrow(/not an INSERT … SELECT without FROM/);
  });
});

describe("bothOrNeither", () => {
  const insert = (id: string) =>
    Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "username", "ip", "createdAt") VALUES (${id}, ${"w-pair"}, ${"pair"}, ${"192.0.2.1"}, ${new Date()})`;
  const remove = (id: string) => Prisma.sql`DELETE FROM "FailedLogin" WHERE "id" = ${id}`;
  const there = async (...ids: string[]) => Promise.all(ids.map(async (id) => (await db().failedLogin.count({ where: { id } })) === 1));

  it("changes both rows, or neither: says which statement found none", async () => {
    const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    for (const id of [a, b]) await sqlExecute(db(), insert(id));
    // The second finds none: the first is rolled back.
    expect(await bothOrNeither(db(), remove(a), remove(c))).toBe("second");
    expect(await there(a, b)).toEqual([true, true]);
    // The first finds none: the second does not run.
    expect(await bothOrNeither(db(), remove(c), remove(b))).toBe("first");
    expect(await there(a, b)).toEqual([true, true]);
    expect(await bothOrNeither(db(), remove(a), remove(b))).toBe("both");
    expect(await there(a, b)).toEqual([false, false]);
  });

  it("rolls back without closing a connection (on PostgreSQL, the pool keeps its connections and their statements)", async () => {
    const postgres = isPostgresUrl(process.env.DATABASE_URL ?? "");
    const backends = async () =>
      postgres
        ? (await sqlRows<{ pid: number }>(db(), Prisma.sql`SELECT "pid" FROM pg_stat_activity WHERE "datname" = current_database()`)).map((r) => r.pid).sort()
        : [];
    await sqlRows(db(), Prisma.sql`SELECT 1`);
    const before = await backends();
    const ids = Array.from({ length: 10 }, () => crypto.randomUUID());
    for (const id of ids) {
      await sqlExecute(db(), insert(id));
      expect(await bothOrNeither(db(), remove(id), remove(crypto.randomUUID()))).toBe("second");
    }
    expect(await backends()).toEqual(before);
    expect((await there(...ids)).every(Boolean)).toBe(true);
  });
});

describe("sqlExecuteAll", () => {
  const insert = (id: string, ip: string) =>
    Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "username", "ip", "createdAt") VALUES (${id}, ${"w-all"}, ${"all"}, ${ip}, ${new Date()})`;
  const ipOf = async (id: string) => (await db().failedLogin.findUnique({ where: { id } }))?.ip;

  it("writes every row, each with its own parameters", async () => {
    const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await sqlExecuteAll(db(), [insert(a, "192.0.2.1"), insert(b, "192.0.2.2"), insert(c, "192.0.2.3")]);
    expect([await ipOf(a), await ipOf(b), await ipOf(c)]).toEqual(["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
    await sqlExecuteAll(db(), []);
  });

  it("writes none when one fails, and goes on working", async () => {
    const taken = crypto.randomUUID();
    await sqlExecute(db(), insert(taken, "192.0.2.1"));
    const first = crypto.randomUUID();
    // The second write reuses a row's id: a primary-key violation.
    await expect(sqlExecuteAll(db(), [insert(first, "192.0.2.7"), insert(taken, "192.0.2.7")])).rejects.toThrow();
    expect(await ipOf(first)).toBeUndefined();
    expect(await ipOf(taken)).toBe("192.0.2.1");
    const next = crypto.randomUUID();
    await sqlExecuteAll(db(), [insert(next, "192.0.2.8")]);
    expect(await ipOf(next)).toBe("192.0.2.8");
  });
});

describe.runIf(!isPostgresUrl(process.env.DATABASE_URL ?? ""))("the SQLite connection", () => {
  it("runs in WAL mode, syncs NORMAL, checks foreign keys and keeps a page cache of 2 MB", async () => {
    // The connection reads integers as BigInts.
    const pragma = async (name: string) =>
      Object.values((await sqlRows(db(), Prisma.raw(`PRAGMA ${name}`)))[0] ?? {}).map((v) => (typeof v === "bigint" ? Number(v) : v));
    expect(await pragma("journal_mode")).toEqual(["wal"]);
    expect(await pragma("synchronous")).toEqual([1]);
    expect(await pragma("foreign_keys")).toEqual([1]);
    // better-sqlite3's build would keep 16 MB (-16000).
    expect(await pragma("cache_size")).toEqual([-2000]);
  });

  it("opens again after a connection that failed to open: the failure is not kept", async () => {
    const folder = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ropc-db-")), "not-yet");
    const client = createDb(`file:${path.join(folder, "late.db")}`);
    try {
      await expect(sqlRows(client, Prisma.sql`SELECT ${"a"} AS "x"`)).rejects.toThrow(/directory does not exist/i);
      fs.mkdirSync(folder);
      expect(await sqlRows(client, Prisma.sql`SELECT ${"a"} AS "x"`)).toEqual([{ x: "a" }]);
      expect(clientHasConnected(client)).toBe(false);
    } finally {
      await client.$disconnect();
      fs.rmSync(path.dirname(folder), { recursive: true, force: true });
    }
  });
});

// What only PostgreSQL has: a pool of connections, each with its own prepared statements.
describe.runIf(isPostgresUrl(process.env.DATABASE_URL ?? ""))("on PostgreSQL", () => {
  const pid = Prisma.sql`SELECT pg_backend_pid() AS "pid"`;
  const backendOf = async (client: ReturnType<typeof createDb>) => (await sqlRows<{ pid: number }>(client, pid))[0]!.pid;

  /** A client of its own, so that a test knows which connections its pool holds. */
  async function withClient(test: (client: ReturnType<typeof createDb>) => Promise<void>) {
    const client = createDb();
    try {
      await test(client);
    } finally {
      await client.$disconnect();
    }
  }

  it("prepares a statement once per connection, under a name, and then only executes it", () =>
    withClient(async (client) => {
      const query = (n: number) => Prisma.sql`SELECT CAST(${n} AS INTEGER) + 1 AS "n"`;
      // One after another, the queries take the same connection, the pool's only one.
      for (const n of [1, 2, 3]) expect(await sqlRows(client, query(n))).toEqual([{ n: n + 1 }]);
      const prepared = await sqlRows<{ name: string; plans: string }>(
        client,
        Prisma.sql`SELECT "name", CAST("generic_plans" + "custom_plans" AS TEXT) AS "plans" FROM pg_prepared_statements WHERE "statement" = ${query(0).text}`,
      );
      expect(prepared).toEqual([{ name: expect.stringMatching(/^ropc_/), plans: "3" }]);
      // At once, on several connections: each prepares it for itself.
      const answers = await Promise.all(Array.from({ length: 20 }, (_, n) => sqlRows(client, query(n))));
      expect(answers.map(([row]) => row)).toEqual(Array.from({ length: 20 }, (_, n) => ({ n: n + 1 })));
    }));

  it("shares one pool with the Prisma client, made at each connect and ended at each disconnect", () =>
    withClient(async (client) => {
      const first = await backendOf(client);
      const [prisma] = await client.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS "pid"`;
      expect(prisma?.pid).toBe(first);
      await client.$disconnect();
      await client.$disconnect();
      const second = await backendOf(client);
      expect(second).not.toBe(first);
      // The first pool's connection is gone: the pool was ended, and only it.
      await vi.waitFor(async () =>
        expect(await sqlRows(client, Prisma.sql`SELECT "pid" FROM pg_stat_activity WHERE "pid" IN (${first}, ${second}) ORDER BY "pid" = ${second}`)).toEqual([
          { pid: second },
        ]),
      );
    }));

  it("keeps the connections it opened through a quiet spell (each holds its prepared statements), with TCP keepalives", () =>
    withClient(async (client) => {
      // The pool is made at the first query, on the real clock; what it opens after, on a fake one.
      const first = await backendOf(client);
      const pool = (client as unknown as Record<symbol, { driver?: { pool: { totalCount: number; options: Record<string, unknown> } } }>)[
        Symbol.for("ropc.db.connection")
      ]!.driver!.pool;
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      let backends: number[];
      try {
        // At once, so that the pool opens several.
        backends = [...new Set(await Promise.all(Array.from({ length: 6 }, () => backendOf(client))))];
        expect(backends.length).toBeGreaterThan(1);
        const opened = pool.totalCount;
        vi.advanceTimersByTime(10 * 60_000);
        expect(pool.totalCount).toBe(opened);
      } finally {
        vi.useRealTimers();
      }
      const alive = await sqlRows<{ pid: number }>(
        client,
        Prisma.sql`SELECT "pid" FROM pg_stat_activity WHERE "pid" IN (${Prisma.join([first, ...backends])})`,
      );
      expect(alive).toHaveLength(new Set([first, ...backends]).size);
      expect(pool.options).toMatchObject({ idleTimeoutMillis: 0, keepAlive: true, keepAliveInitialDelayMillis: 60_000 });
      // One the server ends while it is unused (idle_session_timeout, an administrator) leaves the
      // pool, and the next queries get another.
      const total = pool.totalCount;
      const other = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await other.connect();
      try {
        await other.query("SELECT pg_terminate_backend($1)", [backends[0]]);
      } finally {
        await other.end();
      }
      await vi.waitFor(() => expect(pool.totalCount).toBe(total - 1));
      const answers = await Promise.all(Array.from({ length: 6 }, () => backendOf(client)));
      expect(answers).not.toContain(backends[0]);
    }));

  it("keeps a connection whose statement the server refused, out of any transaction", () =>
    withClient(async (client) => {
      const id = crypto.randomUUID();
      const row = Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "username", "ip", "createdAt") SELECT ${id}, ${"w-pg"}, ${"pg"}, ${"192.0.2.1"}, ${new Date()}`;
      await sqlExecute(client, row);
      const before = await backendOf(client);
      await expect(sqlExecute(client, row)).rejects.toMatchObject({ code: "23505" });
      await expect(insertIfChanged(client, Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.2"} WHERE "id" = ${id}`, row)).rejects.toMatchObject({
        code: "23505",
      });
      expect(await backendOf(client)).toBe(before);
      // Rolled back, not left open: a transaction would show an id here.
      expect(
        await sqlRows(client, Prisma.sql`SELECT CAST(pg_current_xact_id_if_assigned() AS TEXT) AS "xact", "ip" FROM "FailedLogin" WHERE "id" = ${id}`),
      ).toEqual([{ xact: null, ip: "192.0.2.1" }]);
    }));

  it("closes a connection that broke, in a statement alone or with a conditional write, and goes on with another", () =>
    withClient(async (client) => {
      const kill = Prisma.sql`SELECT pg_terminate_backend(pg_backend_pid())`;
      // An insert whose value ends its own connection, half-way through the statement.
      const killing = Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "username", "ip", "createdAt")
        SELECT ${crypto.randomUUID()}, ${"w-pg"}, ${"pg"}, CAST(pg_terminate_backend(pg_backend_pid()) AS TEXT), ${new Date()}`;
      const before = await backendOf(client);
      await expect(sqlRows(client, kill)).rejects.toThrow();
      const after = await backendOf(client);
      expect(after).not.toBe(before);
      const id = crypto.randomUUID();
      await sqlExecute(
        client,
        Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "username", "ip", "createdAt") VALUES (${id}, ${"w-pg"}, ${"pg"}, ${"192.0.2.1"}, ${new Date()})`,
      );
      await expect(insertIfChanged(client, Prisma.sql`UPDATE "FailedLogin" SET "ip" = ${"192.0.2.2"} WHERE "id" = ${id}`, killing)).rejects.toThrow();
      expect(await backendOf(client)).not.toBe(after);
      expect(await sqlRows(client, Prisma.sql`SELECT "ip" FROM "FailedLogin" WHERE "id" = ${id}`)).toEqual([{ ip: "192.0.2.1" }]);
    }));
});
