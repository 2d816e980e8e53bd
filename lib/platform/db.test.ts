import Database from "better-sqlite3";
import { describe, expect, it, vi } from "vitest";
import { createDb, db, reuseStatements, sqlExecute, sqlRows } from "@/lib/platform/db.ts";
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

  it("refuses a client it did not make", async () => {
    await expect(sqlRows({} as never, Prisma.sql`SELECT 1`)).rejects.toThrow("not a client made by createDb");
  });
});
