import { db } from "@/lib/platform/db.ts";
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
