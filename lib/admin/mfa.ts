import { AdminError } from "@/lib/admin/errors.ts";
import { change } from "@/lib/admin/transaction.ts";
import { workspaceByRef } from "@/lib/admin/workspaces.ts";
import { db } from "@/lib/platform/db.ts";
import { MFA_FACTOR_MAX_WRONG_CODES } from "@/lib/oauth/model/mfa.ts";
import { noticeFor, sendKept } from "@/lib/oauth/endpoints/account/notices.ts";
import { keepMailIn } from "@/lib/oauth/store/pending-mails.ts";
import { takeUserRow } from "@/lib/oauth/store/users.ts";
import { logger } from "@/lib/platform/logger.ts";

/** A user's second factor as an operator sees it: never its secret or codes. */
export interface FactorSummary {
  id: string;
  type: string;
  /** `locked`: active, but its codes are refused after too many wrong ones in a row (a recovery code, or a reset, ends it). */
  state: "active" | "pending" | "locked";
  createdAt: Date;
  confirmedAt: Date | null;
  recoveryCodesLeft: number;
}

async function userOf(workspace: string, username: string) {
  const w = await workspaceByRef(workspace);
  const user = await db().user.findUnique({ where: { workspaceId_username: { workspaceId: w.id, username } }, select: { id: true } });
  if (!user) throw new AdminError(`No user ${username} in ${workspace}`);
  return { workspaceId: w.id, userId: user.id };
}

/** A user's second factors, the oldest first. */
export async function listFactors(workspace: string, username: string): Promise<FactorSummary[]> {
  const { userId } = await userOf(workspace, username);
  const rows = await db().mfaFactor.findMany({
    where: { userId },
    orderBy: { createdAt: "asc" },
    select: { id: true, type: true, createdAt: true, confirmedAt: true, wrongCodes: true, _count: { select: { recoveryCodes: true } } },
  });
  return rows.map((f) => ({
    id: f.id,
    type: f.type,
    state: !f.confirmedAt ? "pending" : f.wrongCodes >= MFA_FACTOR_MAX_WRONG_CODES ? "locked" : "active",
    createdAt: f.createdAt,
    confirmedAt: f.confirmedAt,
    recoveryCodesLeft: f._count.recoveryCodes,
  }));
}

/**
 * Removes every factor of a user, and their pending sign-ins (mfa_tokens): a user who lost their
 * authenticator and codes signs in with the password alone (or, under a `required` policy,
 * enrols again during sign-in). Returns how many factors went.
 */
export async function resetFactors(workspace: string, username: string): Promise<{ removed: number }> {
  const { workspaceId, userId } = await userOf(workspace, username);
  const notice = noticeFor(userId, { kind: "mfa_disabled", by: "administrator" });
  const result = await change("user.reset_mfa", { workspaceId, userId, username }, async (tx) => {
    // The user's row first, as the user's own changes of their factors take it (takeUserRow): no
    // confirmation of theirs comes between the count and the removal.
    await takeUserRow(tx, userId);
    const confirmed = await tx.mfaFactor.count({ where: { userId, confirmedAt: { not: null } } });
    const { count } = await tx.mfaFactor.deleteMany({ where: { userId } });
    await tx.mfaChallenge.deleteMany({ where: { userId } });
    // The user is told when a confirmed factor went (with the change: noticeFor); a pending
    // enrolment never gated a sign-in, and removing it turns nothing off (as for their own removal).
    if (confirmed > 0) await keepMailIn(tx, notice);
    return { removed: count, told: confirmed > 0 };
  });
  if (result.told) sendKept(notice, logger);
  return { removed: result.removed };
}
