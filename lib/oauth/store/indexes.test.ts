import { describe, expect, it } from "vitest";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { activityStatement } from "@/lib/oauth/store/activity.ts";

// A user's rows are found by the user at each change of password, "sign out everywhere" (every
// session, refresh token and pending second step of the user ends) and when a user is deleted
// (the database's own cascades): without an index on the column each of those reads a whole
// table, the refresh tokens' the largest of all (a row per refresh until retention), inside the
// transaction that holds SQLite's one writer. Client deletions, rare and an operator's, are left
// to whole-table reads: an index on each client column would cost every refresh one more write.
const onSqlite = settings().databaseFile !== undefined;

/** Each foreign key to "User": its table and column, as the database itself has them. */
async function keysToUser(): Promise<Array<{ table: string; column: string }>> {
  if (onSqlite) {
    const tables = await db().$queryRaw<
      Array<{ name: string }>
    >`SELECT "name" FROM "sqlite_master" WHERE "type" = 'table' AND "name" NOT LIKE 'sqlite_%' AND "name" NOT LIKE '_prisma%'`;
    const keys: Array<{ table: string; column: string }> = [];
    for (const { name } of tables) {
      const list = await db().$queryRawUnsafe<Array<{ table: string; from: string }>>(`PRAGMA foreign_key_list("${name}")`);
      for (const key of list) if (key.table === "User") keys.push({ table: name, column: key.from });
    }
    return keys;
  }
  return db().$queryRaw<Array<{ table: string; column: string }>>`
    SELECT k."table_name" AS "table", k."column_name" AS "column"
    FROM "information_schema"."referential_constraints" r
    JOIN "information_schema"."key_column_usage" k ON k."constraint_name" = r."constraint_name" AND k."constraint_schema" = r."constraint_schema"
    JOIN "information_schema"."constraint_column_usage" u ON u."constraint_name" = r."unique_constraint_name" AND u."constraint_schema" = r."unique_constraint_schema"
    WHERE u."table_name" = 'User' AND k."table_schema" = current_schema()`;
}

/** The plan of a statement, as text: SQLite's EXPLAIN QUERY PLAN, or PostgreSQL's EXPLAIN with whole-table reads made a last resort. */
async function plan(statement: Prisma.Sql): Promise<string> {
  if (onSqlite) {
    const rows = await db().$queryRaw<Array<{ detail: string }>>(Prisma.sql`EXPLAIN QUERY PLAN ${statement}`);
    return rows.map((row) => row.detail).join("\n");
  }
  // The test's tables are nearly empty, and PostgreSQL reads a small table whole whatever its
  // indexes: with sequential scans off it takes an index wherever there is one.
  return db().$transaction(async (tx) => {
    await tx.$executeRaw`SET LOCAL enable_seqscan = off`;
    const rows = await tx.$queryRaw<Array<{ "QUERY PLAN": string }>>(Prisma.sql`EXPLAIN ${statement}`);
    return rows.map((row) => row["QUERY PLAN"]).join("\n");
  });
}

describe("a user's rows", () => {
  it("are found by an index in every table with a key to the user", async () => {
    const keys = await keysToUser();
    // The tables ending a user's sessions touches, at least: the list is the database's, not ours.
    expect(keys.map((k) => k.table)).toEqual(expect.arrayContaining(["RefreshToken", "Session", "MfaChallenge", "AccountToken", "MfaFactor", "KnownAddress"]));
    const unindexed: string[] = [];
    for (const { table, column } of keys) {
      const text = await plan(Prisma.sql`DELETE FROM ${Prisma.raw(`"${table}"`)} WHERE ${Prisma.raw(`"${column}"`)} = ${"some-user-id"}`);
      const indexed = onSqlite
        ? /\bUSING (COVERING |PRIMARY KEY|INDEX)/.test(text) && !/^SCAN /m.test(text)
        : /Index|Bitmap/.test(text) && !/Seq Scan/.test(text);
      if (!indexed) unindexed.push(`${table}.${column}: ${text}`);
    }
    expect(unindexed).toEqual([]);
  });
});

// The account page reads a user's activity at each visit, and every token request writes a row of
// the audit trail: read by the whole trail (its createdAt index, backwards), a user with few
// events there took a read of all of it.
describe("the account's activity", () => {
  it("is read by the username's index, never the whole audit trail", async () => {
    const text = await plan(activityStatement("a-workspace", { id: "a-user", username: "someone" }, new Date(0), null, 20));
    const indexed = onSqlite
      ? /USING (COVERING )?INDEX AuditEvent_username_createdAt_idx/.test(text) && !/^SCAN /m.test(text)
      : /AuditEvent_username_createdAt_idx/.test(text) && !/Seq Scan/.test(text);
    expect(indexed, text).toBe(true);
  });
});
