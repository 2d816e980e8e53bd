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
  const since = new Date(Math.max(named ? new Date(named.created).getTime() : Date.now(), named?.renamed ? new Date(named.renamed).getTime() : 0));
  // Plain SQL: the account page reads it at each visit (lib/platform/db.ts). A right password
  // that asked for a second factor is no failure: the step after it says how the sign-in ended.
  const rows = await sqlRows<{
    createdAt: Date | string;
    event: string;
    outcome: string;
    clientId: string | null;
    ip: string | null;
    userAgent: string | null;
  }>(
    db(),
    Prisma.sql`SELECT "createdAt", "event", "outcome", "clientId", "ip", "userAgent" FROM "AuditEvent"
      WHERE "workspaceId" = ${workspaceId} AND "event" IN (${Prisma.join(Object.keys(ACTIVITY_EVENTS))})
        AND ("userId" = ${user.id} OR ("userId" IS NULL AND "username" = ${user.username} AND "createdAt" >= ${since}))
        AND ("reason" IS NULL OR SUBSTR("reason", 1, ${MFA_CHALLENGE.length}) <> ${MFA_CHALLENGE})
      ORDER BY "createdAt" DESC, "id" ASC ${sqlLimit(limit)}`,
  );
  return rows.map((r) => ({
    at: new Date(r.createdAt),
    kind: ACTIVITY_EVENTS[r.event as keyof typeof ACTIVITY_EVENTS],
    outcome: r.outcome,
    clientId: r.clientId,
    ip: r.ip,
    userAgent: r.userAgent,
  }));
}
