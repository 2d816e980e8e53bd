import { createHash, randomBytes } from "node:crypto";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { db, insertIfChanged, sqlLimit, sqlRows } from "@/lib/platform/db.ts";
import { notChangedFor, sessionStill, type ProvedFrom } from "@/lib/oauth/store/credentials.ts";
import { againOnConflict } from "@/lib/platform/database-timeout.ts";
import { replacePassword, takeUserRow } from "@/lib/oauth/store/users.ts";
import { keepMailIn, type MailKeptByChange } from "@/lib/oauth/store/pending-mails.ts";

/** What a mailed link is for. */
export type AccountTokenPurpose = "password_reset" | "email_verification";

/** The window of the mail rate limit: at most `limit` links of one purpose per user within it. */
export const MAIL_WINDOW_MS = 3_600_000;

export function accountTokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64url");
}

/** Someone a link may be mailed to: an active user of the workspace with an address. */
export interface Recipient {
  id: string;
  username: string;
  name: string | null;
  email: string;
  workspaceName: string;
}

const RECIPIENT = { id: true, username: true, name: true, email: true, workspace: { select: { name: true } } } as const;

function recipient(row: { id: string; username: string; name: string | null; email: string | null; workspace: { name: string } }): Recipient | null {
  return row.email ? { id: row.id, username: row.username, name: row.name, email: row.email, workspaceName: row.workspace.name } : null;
}

/**
 * The active users a reset link goes to: the one of that username, or those of that address
 * (addresses are not unique; at most 10, the oldest accounts first) and the one whose username it
 * is (a username may look like an address: a form that asks for "username or email" cannot tell).
 * Disabled users and users without an address get none. An address matches whatever the case of
 * its letters A–Z (a phone keyboard capitalises the first one; mail providers ignore it in
 * practice), other characters exactly.
 */
export async function findRecipients(workspaceId: string, by: { username: string } | { email: string }): Promise<Recipient[]> {
  const where = "username" in by ? { username: by.username } : { OR: [{ id: { in: await idsWithAddress(workspaceId, by.email) } }, { username: by.email }] };
  const rows = await db().user.findMany({ where: { workspaceId, disabled: false, ...where }, select: RECIPIENT, orderBy: { createdAt: "asc" }, take: 10 });
  return rows.map(recipient).filter((r): r is Recipient => r !== null);
}

const asciiLower = (text: string) => text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());

/** Whether two addresses are one mailbox as the reset lookup takes them: the same but for the case of A–Z. */
export const sameMailbox = (a: string, b: string) => asciiLower(a) === asciiLower(b);

/**
 * The active users of the workspace with that address, its letters A–Z compared without case.
 * SQL's LOWER folds only those on SQLite and every letter on PostgreSQL: it narrows the rows on
 * both, and the comparison here decides, the same on both.
 */
async function idsWithAddress(workspaceId: string, email: string): Promise<string[]> {
  const rows = await sqlRows<{ id: string; email: string }>(
    db(),
    Prisma.sql`SELECT "id", "email" FROM "User"
      WHERE "workspaceId" = ${workspaceId} AND "disabled" = ${false} AND LOWER("email") = LOWER(${email})
      ORDER BY "createdAt" ${sqlLimit(100)}`,
  );
  const wanted = asciiLower(email);
  return rows.filter((row) => asciiLower(row.email) === wanted).map((row) => row.id);
}

/** Whom a mail about an account goes to: none when the user is gone. */
export interface MailRecipient {
  username: string;
  /** The account's address now; none, no mail. */
  email: string | null;
  workspaceName: string;
}

/** The user's username, address and workspace's name, for a mail to them (plain SQL: from a sign-in's paths too). */
export async function mailRecipient(userId: string): Promise<MailRecipient | undefined> {
  const [row] = await sqlRows<{ username: string; email: string | null; workspaceName: string }>(
    db(),
    Prisma.sql`SELECT u."username", u."email", w."name" AS "workspaceName" FROM "User" u JOIN "Workspace" w ON w."id" = u."workspaceId" WHERE u."id" = ${userId}`,
  );
  return row && { username: row.username, email: row.email, workspaceName: row.workspaceName };
}

export interface NewAccountToken {
  purpose: AccountTokenPurpose;
  workspaceId: string;
  userId: string;
  clientId?: string;
  email?: string;
  ttlSeconds: number;
  /** At most this many tokens of this purpose per user within MAIL_WINDOW_MS. */
  limit: number;
  /** A signed-in user's own request, proved with their password: written only while its session is live and that password theirs. */
  from?: ProvedFrom;
  now?: Date;
}

/**
 * A new single-use token (256 random bits, base64url; only its hash is kept), or null when the
 * user has had `limit` of them within the hour. The row is written first and counted after, so
 * that instances racing for the last place can only leave fewer than `limit`, never more: the
 * last of them to write sees everyone else's row. With `from`, throws SessionEnded or
 * CredentialsChanged (notChangedFor) when that session ended, or the password changed, after the
 * request's proof.
 */
export async function issueAccountToken(input: NewAccountToken): Promise<string | null> {
  const now = input.now ?? new Date();
  const token = randomBytes(32).toString("base64url");
  const tokenHash = accountTokenHash(token);
  const client = db();
  const row = {
    tokenHash,
    purpose: input.purpose,
    workspaceId: input.workspaceId,
    userId: input.userId,
    clientId: input.clientId ?? null,
    email: input.email ?? null,
    expiresAt: new Date(now.getTime() + input.ttlSeconds * 1000),
    createdAt: now,
  };
  if (input.from === undefined) await client.accountToken.create({ data: row, select: { tokenHash: true } });
  else {
    const insert = Prisma.sql`INSERT INTO "AccountToken" ("tokenHash", "purpose", "workspaceId", "userId", "clientId", "email", "expiresAt", "createdAt")
      SELECT ${row.tokenHash}, ${row.purpose}, ${row.workspaceId}, ${row.userId}, ${row.clientId}, ${row.email}, ${row.expiresAt}, ${row.createdAt}`;
    if (!(await insertIfChanged(client, sessionStill(input.userId, input.from), insert))) throw await notChangedFor(input.userId, input.from.sessionId);
  }
  const recent = await client.accountToken.count({
    where: { userId: input.userId, purpose: input.purpose, createdAt: { gt: new Date(now.getTime() - MAIL_WINDOW_MS), lte: now } },
  });
  if (recent <= input.limit) return token;
  await client.accountToken.delete({ where: { tokenHash } });
  return null;
}

/** Why a token cannot be used. */
export type TokenProblem = "unknown" | "used" | "expired";

export interface LiveAccountToken {
  tokenHash: string;
  userId: string;
  clientId: string | null;
  email: string | null;
  user: { id: string; username: string; email: string | null; disabled: boolean; workspaceId: string };
}

/** A token of this purpose and workspace that may still be used, or why not. */
export async function findAccountToken(
  token: string,
  purpose: AccountTokenPurpose,
  workspaceId: string,
  now = new Date(),
): Promise<LiveAccountToken | { problem: TokenProblem }> {
  const row = await db().accountToken.findUnique({
    where: { tokenHash: accountTokenHash(token) },
    select: {
      tokenHash: true,
      purpose: true,
      workspaceId: true,
      userId: true,
      clientId: true,
      email: true,
      expiresAt: true,
      usedAt: true,
      user: { select: { id: true, username: true, email: true, disabled: true, workspaceId: true } },
    },
  });
  if (!row || row.purpose !== purpose || row.workspaceId !== workspaceId) return { problem: "unknown" };
  if (row.usedAt !== null) return { problem: "used" };
  if (row.expiresAt <= now) return { problem: "expired" };
  return { tokenHash: row.tokenHash, userId: row.userId, clientId: row.clientId, email: row.email, user: row.user };
}

/**
 * Why a link found live a moment ago was not taken: spent meanwhile, or its user deleted meanwhile
 * (and the link with them); `detail` for the audit trail when it is another reason.
 */
export type LinkLost = { problem: "used" | "unknown"; detail?: string };

/** What the audit trail says of a link lost so. */
export const LOST_MEANWHILE: Record<LinkLost["problem"], string> = { used: "spent meanwhile", unknown: "user deleted meanwhile" };

/**
 * Spends a live link in `tx`, the user's row taken first (takeUserRow); what kept it from being
 * spent otherwise. With `mailedTo`, the address it was mailed to: spent for nothing when the
 * account's is another by now (a change confirmed between the link's read of the address and its
 * row spent the links there were, not this one).
 */
async function spendLink(tx: Prisma.TransactionClient, tokenHash: string, userId: string, now: Date, mailedTo?: string | null): Promise<LinkLost | undefined> {
  if (!(await takeUserRow(tx, userId))) return { problem: "unknown" };
  const moved = mailedTo != null && !(await stillAddressOf(tx, userId, mailedTo));
  const spent = await tx.accountToken.updateMany({ where: { tokenHash, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
  if (spent.count !== 1) return { problem: "used" };
  // Not "used": nobody used it. As good as unknown to whoever holds it now.
  return moved ? { problem: "unknown", detail: "mailed to an address the account no longer has" } : undefined;
}

/**
 * Whether the user's address is still `address`, whatever the case of its letters (an operator's
 * correction of them spends no link either).
 */
async function stillAddressOf(tx: Prisma.TransactionClient, userId: string, address: string): Promise<boolean> {
  const email = (await tx.user.findUnique({ where: { id: userId }, select: { email: true } }))?.email;
  return email != null && sameMailbox(email, address);
}

/**
 * Sets a user's new password through a reset token, in one transaction: the token is spent (only
 * if nobody spent it first, nor deleted its user, nor changed the address it was mailed to: what
 * kept it then, and nothing changes); the password is replaced (replacePassword: every session
 * ends, and with them every other link mailed to the user; the addresses the user was known from
 * are forgotten); the failed sign-ins counted against the username are forgotten. Run again when PostgreSQL ends it to break a deadlock
 * (againOnConflict: a user's own change takes the user's row, then the links).
 */
export async function completePasswordReset(
  link: { tokenHash: string; email: string | null },
  user: { id: string; username: string; workspaceId: string },
  passwordHash: string,
  notice?: MailKeptByChange,
  now = new Date(),
): Promise<LinkLost | { reset: true }> {
  return againOnConflict(() =>
    db().$transaction(async (tx) => {
      // Only while the account's address is the one the link went to (a link made before links
      // kept their address has none: it expires within PASSWORD_RESET_TTL_SECONDS).
      const lost = await spendLink(tx, link.tokenHash, user.id, now, link.email);
      if (lost) return lost;
      await replacePassword(tx, user.id, passwordHash);
      await tx.failedLogin.deleteMany({ where: { workspaceId: user.workspaceId, kind: "user", username: user.username } });
      await keepMailIn(tx, notice, now);
      return { reset: true };
    }),
  );
}

/**
 * Makes a confirmed address the user's, in one transaction: the token is spent (unless somebody
 * spent it first, or deleted its user: what kept it then), with every other link mailed to the
 * user: the other pending confirmations, and the reset links mailed to the old address, a mailbox
 * the user may have left because it is no longer theirs. `noticeOf` gives the change's notice for
 * the address it replaces (none: the account had none), kept with it (keepMailIn). Returns that
 * address and the notice. Run again when PostgreSQL ends it to break a deadlock (againOnConflict).
 */
export async function confirmEmail(
  tokenHash: string,
  userId: string,
  email: string,
  noticeOf: (replaced: string | null) => MailKeptByChange | undefined = () => undefined,
  now = new Date(),
): Promise<LinkLost | { replaced: string | null; notice: MailKeptByChange | undefined }> {
  return againOnConflict(() =>
    db().$transaction(async (tx) => {
      const lost = await spendLink(tx, tokenHash, userId, now);
      if (lost) return lost;
      await tx.accountToken.updateMany({ where: { userId, usedAt: null }, data: { usedAt: now } });
      const before = await tx.user.findUnique({ where: { id: userId }, select: { email: true } });
      await tx.user.update({ where: { id: userId }, data: { email, emailVerified: true } });
      const replaced = before?.email ?? null;
      const notice = noticeOf(replaced);
      await keepMailIn(tx, notice, now);
      return { replaced, notice };
    }),
  );
}

/** Cancels a user's pending address change: its links are spent. */
export async function cancelEmailChange(userId: string, now = new Date()): Promise<void> {
  await db().accountToken.updateMany({ where: { userId, purpose: "email_verification", usedAt: null }, data: { usedAt: now } });
}

/** Spends one issued token whose mail never went out: its link was never sent, and it is no longer a pending request. */
export async function withdrawAccountToken(token: string, now = new Date()): Promise<void> {
  await db().accountToken.updateMany({ where: { tokenHash: accountTokenHash(token), usedAt: null }, data: { usedAt: now } });
}

/** The address a user asked to change to and has not confirmed yet (the newest live request), or null. */
export async function pendingEmailOf(userId: string, now = new Date()): Promise<string | null> {
  // Plain SQL: the account page reads it at each visit (lib/platform/db.ts).
  const [row] = await sqlRows<{ email: string | null }>(
    db(),
    Prisma.sql`SELECT "email" FROM "AccountToken"
      WHERE "userId" = ${userId} AND "purpose" = ${"email_verification"} AND "usedAt" IS NULL AND "expiresAt" > ${now}
      ORDER BY "createdAt" DESC ${sqlLimit(1)}`,
  );
  return row?.email ?? null;
}
