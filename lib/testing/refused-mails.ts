import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";

/**
 * Runs `step` while the database refuses to keep any mail (a trigger on PendingMail's inserts
 * raises an error): what a database failing at that statement does to a change that keeps one.
 * This file's own database only (lib/testing/setup.ts).
 */
export async function whileMailsRefused<T>(step: () => Promise<T>): Promise<T> {
  const sqlite = settings().databaseFile !== undefined;
  if (sqlite) {
    await db().$executeRawUnsafe(`CREATE TRIGGER "refuse_mail" BEFORE INSERT ON "PendingMail" BEGIN SELECT RAISE(ABORT, 'mail refused by the test'); END`);
  } else {
    await db().$executeRawUnsafe(
      `CREATE FUNCTION "refuse_mail"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'mail refused by the test'; END $$`,
    );
    await db().$executeRawUnsafe(`CREATE TRIGGER "refuse_mail" BEFORE INSERT ON "PendingMail" FOR EACH ROW EXECUTE FUNCTION "refuse_mail"()`);
  }
  try {
    return await step();
  } finally {
    if (sqlite) await db().$executeRawUnsafe(`DROP TRIGGER "refuse_mail"`);
    else await db().$executeRawUnsafe(`DROP TRIGGER "refuse_mail" ON "PendingMail"; DROP FUNCTION "refuse_mail"()`);
  }
}
