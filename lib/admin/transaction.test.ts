import { describe, expect, it } from "vitest";
import { change } from "@/lib/admin/transaction.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";

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
});
