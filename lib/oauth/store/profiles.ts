import { db } from "@/lib/platform/db.ts";

/** What the account API shows of a user. */
export interface Profile {
  id: string;
  username: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean;
  workspaceName: string;
}

export async function findProfile(userId: string): Promise<Profile | null> {
  const row = await db().user.findUnique({
    where: { id: userId },
    select: { id: true, username: true, name: true, email: true, emailVerified: true, workspace: { select: { name: true } } },
  });
  return row && { id: row.id, username: row.username, name: row.name, email: row.email, emailVerified: row.emailVerified, workspaceName: row.workspace.name };
}

/** Sets (or, with null, removes) a user's display name. */
export async function setName(userId: string, name: string | null): Promise<void> {
  await db().user.update({ where: { id: userId }, data: { name }, select: { id: true } });
}
