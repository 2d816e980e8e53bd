import { db, sqlLimit, sqlRows } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";

/** The audit events an account's activity shows: sign-ins (each step) and password changes. */
export const ACTIVITY_EVENTS = {
  "token.password": "sign_in",
  "token.mfa_otp": "second_factor",
  "token.mfa_recovery_code": "recovery_code",
  "account.password.change": "password_change",
} as const;

/** The reason the password grant records when a right password asks for a second factor (grants/password.ts). */
const MFA_CHALLENGE = "mfa challenge issued";

export type ActivityKind = (typeof ACTIVITY_EVENTS)[keyof typeof ACTIVITY_EVENTS];

export interface Activity {
  at: Date;
  kind: ActivityKind;
  outcome: string;
  clientId: string | null;
  ip: string | null;
  userAgent: string | null;
}

/** How a rename reads in the reason of its audit event (`admin.user.set`, lib/admin/users.ts): `username (was alice)`. */
const RENAMED_FROM = "username (was ";
export const renameReason = (previous: string) => `${RENAMED_FROM}${previous})`;

/**
 * A user's newest activity from the audit trail, at most `limit` events. A failed password names
 * only the username it was tried for (no user is known before the password is), so those count
 * too, from when the user got that name on: made with it, or renamed to it (`admin.user.set`,
 * recorded under the new name), not a deleted or renamed earlier holder's.
 */
export async function recentActivity(workspaceId: string, user: { id: string; username: string }, limit: number): Promise<Activity[]> {
  const [named] = await sqlRows<{ created: Date | string | number; renamed: Date | string | number | null }>(
    db(),
    Prisma.sql`SELECT u."createdAt" AS "created",
        (SELECT MAX(r."createdAt") FROM "AuditEvent" r WHERE r."workspaceId" = ${workspaceId} AND r."username" = ${user.username}
          AND r."userId" = ${user.id} AND r."event" = ${"admin.user.set"} AND r."reason" LIKE ${`%${RENAMED_FROM}%`}) AS "renamed"
      FROM "User" u WHERE u."id" = ${user.id}`,
  );
  const renamed = named?.renamed ? new Date(named.renamed) : null;
  const since = new Date(Math.max(named ? new Date(named.created).getTime() : Date.now(), renamed?.getTime() ?? 0));
  // Plain SQL: the account page reads it at each visit (lib/platform/db.ts).
  const rows = await sqlRows<{
    createdAt: Date | string;
    event: string;
    outcome: string;
    clientId: string | null;
    ip: string | null;
    userAgent: string | null;
  }>(db(), activityStatement(workspaceId, user, since, renamed, limit));
  return rows.map((r) => ({
    at: new Date(r.createdAt),
    kind: ACTIVITY_EVENTS[r.event as keyof typeof ACTIVITY_EVENTS],
    outcome: r.outcome,
    clientId: r.clientId,
    ip: r.ip,
    userAgent: r.userAgent,
  }));
}

/**
 * The read of a user's activity (exported for its plan's test, lib/oauth/store/indexes.test.ts).
 * The user's events under the name they have now, with the failures tried for that name since
 * `since`, by the username's index; and, for a user renamed at `renamed`, their events from before
 * under the names they had then. A right password that asked for a second factor is no failure:
 * the step after it says how the sign-in ended.
 */
export function activityStatement(workspaceId: string, user: { id: string; username: string }, since: Date, renamed: Date | null, limit: number): Prisma.Sql {
  const columns = Prisma.sql`"createdAt", "id", "event", "outcome", "clientId", "ip", "userAgent"`;
  const shown = Prisma.sql`"workspaceId" = ${workspaceId} AND "event" IN (${Prisma.join(Object.keys(ACTIVITY_EVENTS))})
    AND ("reason" IS NULL OR SUBSTR("reason", 1, ${MFA_CHALLENGE.length}) <> ${MFA_CHALLENGE})`;
  const current = Prisma.sql`SELECT ${columns} FROM "AuditEvent"
    WHERE "username" = ${user.username} AND ("userId" = ${user.id} OR ("userId" IS NULL AND "createdAt" >= ${since})) AND ${shown}
    ORDER BY "createdAt" DESC, "id" ASC ${sqlLimit(limit)}`;
  if (renamed === null) return current;
  const before = Prisma.sql`SELECT ${columns} FROM "AuditEvent"
    WHERE "userId" = ${user.id} AND "createdAt" < ${renamed} AND "username" <> ${user.username} AND ${shown}
    ORDER BY "createdAt" DESC, "id" ASC ${sqlLimit(limit)}`;
  return Prisma.sql`SELECT * FROM (${current}) AS "current" UNION ALL SELECT * FROM (${before}) AS "before"
    ORDER BY "createdAt" DESC, "id" ASC ${sqlLimit(limit)}`;
}
