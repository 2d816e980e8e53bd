import { db, sqlRows } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";

/** What the account API shows of a user. */
export interface Profile {
  id: string;
  username: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean;
  workspaceName: string;
}

/** A user's profile (plain SQL: the account page reads it at each visit, lib/platform/db.ts). */
export async function findProfile(userId: string): Promise<Profile | null> {
  const [row] = await sqlRows<Omit<Profile, "emailVerified"> & { emailVerified: boolean | number | bigint }>(
    db(),
    Prisma.sql`SELECT u."id", u."username", u."name", u."email", u."emailVerified", w."name" AS "workspaceName"
      FROM "User" u JOIN "Workspace" w ON w."id" = u."workspaceId" WHERE u."id" = ${userId}`,
  );
  return row ? { ...row, emailVerified: Boolean(row.emailVerified) } : null;
}

/** Sets (or, with null, removes) a user's display name. */
export async function setName(userId: string, name: string | null): Promise<void> {
  await db().user.update({ where: { id: userId }, data: { name }, select: { id: true } });
}
