import { db } from "@/lib/platform/db.ts";

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

/**
 * A user's newest activity from the audit trail, at most `limit` events. A failed password names
 * only the username it was tried for (no user is known before the password is), so those count
 * too while the user still has that name.
 */
export async function recentActivity(workspaceId: string, user: { id: string; username: string }, limit: number): Promise<Activity[]> {
  const rows = await db().auditEvent.findMany({
    where: {
      workspaceId,
      event: { in: Object.keys(ACTIVITY_EVENTS) },
      AND: [
        { OR: [{ userId: user.id }, { userId: null, username: user.username }] },
        // A right password that asked for a second factor is no failure: the step after it says how the sign-in ended.
        { OR: [{ reason: null }, { NOT: { reason: { startsWith: MFA_CHALLENGE } } }] },
      ],
    },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    take: limit,
    select: { createdAt: true, event: true, outcome: true, clientId: true, ip: true, userAgent: true },
  });
  return rows.map((r) => ({
    at: r.createdAt,
    kind: ACTIVITY_EVENTS[r.event as keyof typeof ACTIVITY_EVENTS],
    outcome: r.outcome,
    clientId: r.clientId,
    ip: r.ip,
    userAgent: r.userAgent,
  }));
}
