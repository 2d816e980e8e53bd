import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CHANGE_ATTEMPTS, change } from "@/lib/admin/transaction.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { connection, someoneWaitsFor } from "@/lib/testing/pg-locks.ts";

const onPostgres = settings().databaseFile === undefined;

describe("an admin change", () => {
  // Prisma's interactive transactions end after 5 s by default: on PostgreSQL a `key seal` over
  // 20,000 TOTP secrets failed so, and changed nothing. Many short statements, as a seal's: each
  // one is still held to DATABASE_TIMEOUT_SECONDS (lib/platform/db-timeouts.test.ts).
  it.runIf(onPostgres)(
    "may take longer than 5 s, and commits with its audit event",
    async () => {
      const slug = "slow-change";
      await change("tenant.slow", { reason: slug }, async (tx) => {
        await tx.tenant.create({ data: { slug, name: "x" } });
        for (let i = 0; i < 6; i++) await tx.$executeRaw`SELECT pg_sleep(1)`;
      });
      expect(await db().tenant.count({ where: { slug } })).toBe(1);
      expect(await db().auditEvent.count({ where: { event: "admin.tenant.slow", reason: slug } })).toBe(1);
    },
    30_000,
  );

  // Two transactions that each wait for a row the other holds: PostgreSQL's deadlock detector
  // ends one of them (SQLSTATE 40P01), the one that began waiting first, here the change (the
  // other session waits 10 s before it looks). Ended so, the change changed nothing and is run
  // again. SQLite has one writer at a time: there, two transactions never wait for each other.
  it.runIf(onPostgres)(
    "is run again when PostgreSQL ends it to break a deadlock, and commits once",
    async () => {
      const slug = "deadlocked-change";
      const [a, b] = await Promise.all(["a", "b"].map((x) => db().tenant.create({ data: { slug: `${slug}-${x}`, name: "x" } })));
      const { client: other, pid } = await connection();
      try {
        await other.query("BEGIN");
        await other.query("SET LOCAL deadlock_timeout = '10s'");
        await other.query(`UPDATE "Tenant" SET "name" = 'other' WHERE "id" = $1`, [b!.id]);
        let runs = 0;
        const changed = change("tenant.deadlocked", { reason: slug }, async (tx) => {
          runs += 1;
          await tx.$executeRaw`UPDATE "Tenant" SET "name" = ${"changed"} WHERE "id" = ${a!.id}`;
          await tx.$executeRaw`UPDATE "Tenant" SET "name" = ${"changed"} WHERE "id" = ${b!.id}`;
        });
        changed.catch(() => undefined);
        await someoneWaitsFor(pid);
        await other.query(`UPDATE "Tenant" SET "name" = 'other' WHERE "id" = $1`, [a!.id]);
        await other.query("COMMIT");
        await changed;
        expect(runs).toBe(2);
        expect((await db().tenant.findMany({ where: { slug: { startsWith: slug } }, orderBy: { slug: "asc" } })).map((t) => t.name)).toEqual([
          "changed",
          "changed",
        ]);
        expect(await db().auditEvent.count({ where: { event: "admin.tenant.deadlocked", reason: slug } })).toBe(1);
      } finally {
        await other.end();
      }
    },
    30_000,
  );

  // A conflict as the driver reports it (Prisma's P2034, on either database: the work throws it
  // itself, so SQLite runs this too): after the last attempt it is the caller's, with nothing of
  // any attempt committed.
  it(`gives up after ${CHANGE_ATTEMPTS} conflicts in a row, with the last one's error and nothing changed`, async () => {
    const slug = `conflicted-${randomUUID().slice(0, 8)}`;
    let runs = 0;
    const conflicted = change("tenant.conflicted", { reason: slug }, async (tx) => {
      runs += 1;
      await tx.tenant.create({ data: { slug: `${slug}-${runs}`, name: "x" } });
      throw Object.assign(new Error(`write conflict ${runs}`), { code: "P2034" });
    });
    await expect(conflicted).rejects.toMatchObject({ code: "P2034", message: `write conflict ${CHANGE_ATTEMPTS}` });
    expect(runs).toBe(CHANGE_ATTEMPTS);
    expect(await db().tenant.count({ where: { slug: { startsWith: slug } } })).toBe(0);
    expect(await db().auditEvent.count({ where: { event: "admin.tenant.conflicted" } })).toBe(0);
  });

  it("is not run again after any other failure", async () => {
    let runs = 0;
    const failing = change("tenant.failing", { reason: "failing" }, async () => {
      runs += 1;
      throw Object.assign(new Error("unique"), { code: "P2002" });
    });
    await expect(failing).rejects.toMatchObject({ code: "P2002" });
    expect(runs).toBe(1);
  });
});
