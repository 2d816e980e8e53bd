import { db, sqlRows } from "@/lib/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";

/** What the password grant needs of a user. */
export interface SignInUser {
  id: string;
  username: string;
  passwordHash: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean;
  disabled: boolean;
}

/** A counted failure from the caller's address (newest first). */
export interface RecentFailure {
  id: string;
  username: string;
  at: number;
}

interface Row extends Record<string, unknown> {
  kind: "user" | "failure";
  id: string | null;
  passwordHash: string | null;
  name: string | null;
  email: string | null;
  emailVerified: boolean | number | null;
  disabled: boolean | number | null;
  createdAt: Date | string | null;
  username: string;
}

/**
 * The user of a sign-in attempt and the newest failures from its address, in one round trip:
 * the password grant's only read. Plain SQL that SQLite and PostgreSQL read alike (quoted
 * identifiers, UNION ALL, LIMIT, NULLs cast to their column's type for PostgreSQL's UNION);
 * `limit` failures are enough to decide on a lockout. Run straight on the driver (`sqlRows`).
 */
export async function findUserAndFailures(workspaceId: string, username: string, ip: string, limit: number): Promise<{ user: SignInUser | null; failures: RecentFailure[] }> {
  const rows = await sqlRows<Row>(db(), Prisma.sql`
    SELECT 'user' AS "kind", u."id", u."passwordHash", u."name", u."email", u."emailVerified", u."disabled",
      CAST(NULL AS TIMESTAMP) AS "createdAt", u."username"
    FROM "User" u WHERE u."workspaceId" = ${workspaceId} AND u."username" = ${username}
    UNION ALL
    SELECT * FROM (
      SELECT 'failure', f."id", CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
        CAST(NULL AS BOOLEAN), CAST(NULL AS BOOLEAN), f."createdAt", f."username"
      FROM "FailedLogin" f
      WHERE f."workspaceId" = ${workspaceId} AND f."ip" = ${ip} ORDER BY f."createdAt" DESC LIMIT ${limit}
    ) AS "recent"`);
  let user: SignInUser | null = null;
  const failures: RecentFailure[] = [];
  for (const r of rows) {
    if (r.kind === "user" && r.id !== null && r.passwordHash !== null) {
      user = { id: r.id, username: r.username, passwordHash: r.passwordHash, name: r.name, email: r.email, emailVerified: Boolean(r.emailVerified), disabled: Boolean(r.disabled) };
    } else if (r.kind === "failure" && r.createdAt !== null && r.id !== null) {
      failures.push({ id: r.id, username: r.username, at: new Date(r.createdAt).getTime() });
    }
  }
  return { user, failures };
}
