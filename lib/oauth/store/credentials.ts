import { db, sqlRows } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";

/** Thrown where a request's user, known a moment ago, is found gone (deleted while it ran). */
export class UserGone extends Error {
  constructor() {
    super("the request's user is gone");
  }
}

/** Thrown where a sign-in's password, right when it was checked, was changed before the sign-in wrote anything. */
export class CredentialsChanged extends Error {
  constructor() {
    super("the password changed during the sign-in");
  }
}

/**
 * Thrown where a change a signed-in user proved a moment ago found, when it came to be written, that
 * their session had ended meanwhile (a password reset, a sign-out from another session, an
 * operator's new password): whoever is signed out must not finish what they started.
 */
export class SessionEnded extends Error {
  constructor() {
    super("the session ended while the change ran");
  }
}

/**
 * Who makes a change of their account from a session, and the password their proof was checked
 * against: the change is written only while that session is live and that password still theirs.
 */
export interface ProvedFrom {
  sessionId: string;
  whilePassword: string;
}

/**
 * The condition a signed-in user's proved change depends on (insertIfChanged): it changes the
 * session's row (to what it holds) only while the session is live and the user's password is still
 * the one checked. Whatever ends a session (a reset, a sign-out elsewhere) updates its row before it
 * spends the user's links: on PostgreSQL it then waits for this row lock, and finds what the change
 * wrote, or this update waits for it and finds the session ended. On SQLite writes never interleave.
 */
export function sessionStill(userId: string, from: ProvedFrom): Prisma.Sql {
  return Prisma.sql`UPDATE "Session" SET "endedAt" = "endedAt" WHERE "id" = ${from.sessionId} AND "userId" = ${userId} AND "endedAt" IS NULL
    AND EXISTS (SELECT 1 FROM "User" WHERE "id" = ${userId} AND "passwordHash" = ${from.whilePassword})`;
}

/** Why a change conditioned on its session (sessionStill, or a new password's own condition) was not written. */
export async function notChangedFor(userId: string, sessionId: string): Promise<UserGone | SessionEnded | CredentialsChanged> {
  const [row] = await sqlRows<{ sessionId: string | null; endedAt: unknown }>(
    db(),
    Prisma.sql`SELECT s."id" AS "sessionId", s."endedAt" FROM "User" u LEFT JOIN "Session" s ON s."id" = ${sessionId} AND s."userId" = u."id" WHERE u."id" = ${userId}`,
  );
  if (!row) return new UserGone();
  return row.sessionId === null || row.endedAt !== null ? new SessionEnded() : new CredentialsChanged();
}

/**
 * The statement a sign-in's first write depends on (insertIfChanged): it changes the user's row
 * (to what it holds) only while the password is still `passwordHash`, the one the sign-in checked.
 * A change of password updates that row, then ends every session, in one transaction: on SQLite
 * the two never interleave; on PostgreSQL this update waits for the change's row lock and then
 * finds the new hash. Either way a sign-in never writes after a change that was meant to end it.
 */
export function passwordStill(userId: string, passwordHash: string): Prisma.Sql {
  return Prisma.sql`UPDATE "User" SET "passwordHash" = "passwordHash" WHERE "id" = ${userId} AND "passwordHash" = ${passwordHash}`;
}

/** Why a sign-in's write conditioned on `passwordStill` did not happen: the user is gone, or the password changed. */
export async function notWrittenFor(userId: string): Promise<UserGone | CredentialsChanged> {
  const user = await db().user.findUnique({ where: { id: userId }, select: { id: true } });
  return user ? new CredentialsChanged() : new UserGone();
}
