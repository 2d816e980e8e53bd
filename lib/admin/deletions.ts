import { AdminError } from "@/lib/admin/errors.ts";
import type { Prisma } from "@/lib/generated/prisma/client.ts";
import { takeUserRow } from "@/lib/oauth/store/users.ts";

/**
 * What deleting a user, a client or a workspace ends. Their sessions and refresh tokens are
 * deleted with them (so no refresh works again, and introspection and userinfo refuse every
 * access token of those sessions at once, on every instance); access tokens already issued still
 * verify by their signature alone, for a resource server that checks them itself, until they
 * expire. Issued access tokens are not stored, so there is nothing to put on the denylist.
 */
export interface Deletion {
  /** Sessions that were live. */
  sessions: number;
  /** Refresh tokens that could still have been used. */
  refreshTokens: number;
  /** The longest access-token lifetime set where the deleted thing had tokens (seconds). */
  accessTokenTtl: number;
}

/** Asked once the thing is known to exist, with what deleting it ends; false: nothing is deleted. */
export type ConfirmDeletion = (impact: Deletion) => Promise<boolean>;

/** Whose sessions and refresh tokens: one user's, one client's, or a whole workspace's. */
export type Holder = { userId: string } | { clientId: string } | { workspaceId: string };

/** What deleting `holder` would end now. */
export async function impactOf(tx: Prisma.TransactionClient, holder: Holder, accessTokenTtl: number, now = new Date()): Promise<Deletion> {
  const sessions = await tx.session.count({ where: { ...holder, endedAt: null, expiresAt: { gt: now } } });
  const owner = "workspaceId" in holder ? { client: { workspaceId: holder.workspaceId } } : holder;
  const refreshTokens = await tx.refreshToken.count({ where: { ...owner, consumedAt: null, revokedAt: null, expiresAt: { gt: now } } });
  return { sessions, refreshTokens, accessTokenTtl };
}

/** The longest access-token lifetime a workspace or one of its clients sets. */
export async function longestAccessTokenTtl(tx: Prisma.TransactionClient, workspace: { id: string; accessTokenTtl: number }): Promise<number> {
  const { _max } = await tx.client.aggregate({ where: { workspaceId: workspace.id }, _max: { accessTokenTtl: true } });
  return Math.max(workspace.accessTokenTtl, _max.accessTokenTtl ?? 0);
}

/** Refuses unless `confirm` (when given) agrees. */
export async function confirmDeletion(impact: Deletion, confirm: ConfirmDeletion | undefined): Promise<void> {
  if (confirm && !(await confirm(impact))) throw new AdminError("Nothing was deleted");
}

/** The audit reason of a deletion: how much it ended. */
export function deletionReason(what: string, impact: Deletion): string {
  return `${what}; ended ${impact.sessions} session(s), ${impact.refreshTokens} refresh token(s)`;
}

/**
 * Deletes `holder`'s sessions and refresh tokens ahead of the rows they hang on, taking the rows in
 * the order the token endpoint takes them. On PostgreSQL each transaction locks rows as it goes,
 * and two that each wait for a row the other holds are a deadlock: one of them is ended (a sign-in
 * or a refresh answered 500, or the deletion failed). Here a request that runs meanwhile finishes
 * first, and what it wrote goes with the user or client row after it (the cascade):
 *
 * - a sign-in changes its user's row first (passwordStill), then writes rows that reference the
 *   client and the user: the users' rows are taken first, by the same no-op update (it takes no
 *   lock that keeps a refresh from referring to the user);
 * - a refresh consumes its token first, then writes the successor, which references the client
 *   and the user, and may bind its session to a DPoP key: the tokens go before the sessions, the
 *   users and the clients;
 * - a sign-out (or a session ended from the account) revokes the session's tokens, then ends the
 *   session: the same order.
 * - a second step spends its code (the factor's row, or a recovery code's) and then ends its
 *   challenge: the users' factors, with their recovery codes, go before their challenges (which
 *   the user row's cascade would otherwise take first).
 *
 * Should another order still meet a deletion, an admin change ended so is run again (change). On
 * SQLite, with one writer at a time, this only does the deletion's work in steps.
 */
export async function deleteSessionsFirst(tx: Prisma.TransactionClient, holder: Holder): Promise<void> {
  if ("workspaceId" in holder) await tx.$executeRaw`UPDATE "User" SET "passwordHash" = "passwordHash" WHERE "workspaceId" = ${holder.workspaceId}`;
  if ("userId" in holder) await takeUserRow(tx, holder.userId);
  // A workspace's by its users (indexed), whose are all of its clients' too.
  const where = "workspaceId" in holder ? { user: { workspaceId: holder.workspaceId } } : holder;
  await tx.refreshToken.deleteMany({ where });
  await tx.session.deleteMany({ where });
  // A client's deletion takes its challenges and no factor: it never waits for a second step's code.
  if ("clientId" in holder) return;
  await tx.mfaFactor.deleteMany({ where: "userId" in holder ? holder : { user: { workspaceId: holder.workspaceId } } });
}
