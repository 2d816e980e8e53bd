import { randomUUID } from "node:crypto";
import { v7 as uuidv7 } from "uuid";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { db, isMissingRowError, sqlExecute, sqlExecuteIn, sqlLimit, sqlRows } from "@/lib/platform/db.ts";

// The mails to users not sent yet (the PendingMail table): kept from the change they report until
// a mail server takes them. Plain SQL: they are written and sent from a sign-in's paths too, and
// every server looks for due ones, so they are part of its steady state (lib/platform/db.ts).

/** A mail still not taken this long after its change is given up, with an error in the log. */
export const MAIL_GIVE_UP_MS = 24 * 60 * 60_000;
/**
 * A kept mail no server has sent or given up this long after its change (no server with mail
 * swept it: every one ran without SMTP_URL meanwhile) is forgotten by retention (forgetStaleMails).
 */
export const KEPT_MAIL_MAX_AGE_MS = 2 * MAIL_GIVE_UP_MS;

/** A mail to keep: what it is, what it says, and where it goes when not to the account's address. */
export interface MailToKeep {
  userId: string;
  job: string;
  body: string;
  to?: string;
}

/** A kept mail, as an instance that claimed it sends it. */
export interface PendingMail {
  id: string;
  userId: string;
  job: string;
  body: string;
  toAddress: string | null;
  attempts: number;
  createdAt: Date;
  /** The claim it is under: only its holder settles it (see `settleMail`). */
  claim: string;
}

/** A mail that the change it reports keeps in its own transaction (keepMailIn), with the id it is sent by once that committed. */
export interface MailKeptByChange extends MailToKeep {
  id: string;
}

/** `mail` with the id it will be kept under (keepMailIn). */
export const mailKeptByChange = (mail: MailToKeep): MailKeptByChange => ({ id: uuidv7(), ...mail });

/** The INSERT of a kept mail, due at once. */
const keepStatement = (mail: MailKeptByChange, now: Date) =>
  Prisma.sql`INSERT INTO "PendingMail" ("id", "userId", "job", "body", "toAddress", "dueAt", "attempts", "createdAt")
    VALUES (${mail.id}, ${mail.userId}, ${mail.job}, ${mail.body}, ${mail.to ?? null}, ${now}, ${0}, ${now})`;

/** Keeps a mail, due at once: its id, or undefined when its user is gone (deleted meanwhile). */
export async function keepMail(mail: MailToKeep, now = new Date()): Promise<string | undefined> {
  const kept = mailKeptByChange(mail);
  try {
    await sqlExecute(db(), keepStatement(kept, now));
  } catch (err) {
    if (isMissingRowError(err)) return undefined;
    throw err;
  }
  return kept.id;
}

/**
 * Keeps `mail` (none: nothing) in the transaction `tx` of the change it reports: the change and
 * its mail are written together or not at all, so that no crash after the change's commit can
 * lose the mail that tells the user of it.
 */
export async function keepMailIn(tx: Prisma.TransactionClient, mail: MailKeptByChange | undefined, now = new Date()): Promise<void> {
  if (mail !== undefined) await sqlExecuteIn(tx, keepStatement(mail, now));
}

/** The ids of the mails due by `now`, the longest due first. */
export async function dueMails(now: Date, limit: number): Promise<string[]> {
  const rows = await sqlRows<{ id: string }>(db(), Prisma.sql`SELECT "id" FROM "PendingMail" WHERE "dueAt" <= ${now} ORDER BY "dueAt" ${sqlLimit(limit)}`);
  return rows.map((row) => row.id);
}

/**
 * Claims a due mail until `until`: one conditional update, so that of two instances (or a send
 * begun after the answer and the periodic one) only one gets it; the other gets undefined, as
 * for a mail sent meanwhile or gone with its user. A claim that ends unsettled (the instance
 * stopped while it sent) leaves the mail due again at `until`.
 */
export async function claimMail(id: string, now: Date, until: Date): Promise<PendingMail | undefined> {
  const claim = randomUUID();
  const claimed = await sqlExecute(
    db(),
    Prisma.sql`UPDATE "PendingMail" SET "dueAt" = ${until}, "claim" = ${claim}, "attempts" = "attempts" + 1 WHERE "id" = ${id} AND "dueAt" <= ${now}`,
  );
  if (claimed === 0) return undefined;
  const [row] = await sqlRows<Omit<PendingMail, "createdAt" | "attempts"> & { createdAt: string | Date; attempts: number | bigint }>(
    db(),
    Prisma.sql`SELECT "id", "userId", "job", "body", "toAddress", "attempts", "createdAt", "claim" FROM "PendingMail" WHERE "id" = ${id} AND "claim" = ${claim}`,
  );
  return row && { ...row, attempts: Number(row.attempts), createdAt: new Date(row.createdAt) };
}

/** Ends a claimed mail's wait: sent (or given up), the row goes; else it is due again at `retryAt`. */
export async function settleMail(mail: PendingMail, retryAt?: Date): Promise<void> {
  await sqlExecute(
    db(),
    retryAt === undefined
      ? Prisma.sql`DELETE FROM "PendingMail" WHERE "id" = ${mail.id} AND "claim" = ${mail.claim}`
      : Prisma.sql`UPDATE "PendingMail" SET "dueAt" = ${retryAt}, "claim" = ${null} WHERE "id" = ${mail.id} AND "claim" = ${mail.claim}`,
  );
}

/** A kept mail forgotten unsent: whose, what, and how many times it was tried. */
export interface StaleMail {
  userId: string;
  job: string;
  attempts: number;
}

/**
 * Deletes up to `batch` kept mails made before `before` that no one holds (due by `now`: not under
 * a claim, not waiting for a retry), and answers what they were (lib/oauth/store/retention.ts).
 */
export async function forgetStaleMails(before: Date, now: Date, batch: number): Promise<StaleMail[]> {
  const rows = await sqlRows<{ userId: string; job: string; attempts: number | bigint }>(
    db(),
    Prisma.sql`DELETE FROM "PendingMail" WHERE "id" IN (SELECT "id" FROM "PendingMail" WHERE "createdAt" < ${before} AND "dueAt" <= ${now} ${sqlLimit(batch)})
      RETURNING "userId", "job", "attempts"`,
  );
  return rows.map((row) => ({ userId: row.userId, job: row.job, attempts: Number(row.attempts) }));
}
