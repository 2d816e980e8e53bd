import { randomUUID } from "node:crypto";
import { isIP } from "node:net";
import { settings } from "@/lib/platform/env.ts";
import { db, insertIfChanged, sqlExecute, sqlExecuteAll, sqlExecuteIn, sqlLimit, sqlRows } from "@/lib/platform/db.ts";
import { notWrittenFor, passwordStill } from "@/lib/oauth/store/credentials.ts";
import { insertRefreshToken, newRefreshToken, type IssuedRefreshToken, type RefreshGrant } from "@/lib/oauth/store/refresh-tokens.ts";
import type { Session } from "@/lib/oauth/model/session.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";

/** Where a sign-in came from: the end user's address and browser (User-Agent). */
export interface Device {
  ip: string;
  userAgent: string | undefined;
}

// A User-Agent is rarely over 300 characters; the session list needs no more than this.
const MAX_USER_AGENT_LENGTH = 512;

/**
 * Records a new sign-in: its session and, for a client that may refresh, its first refresh token,
 * in one commit (plain SQL straight to the driver: the password grant's hot path).
 */
export async function startSession(
  input: Omit<Session, "id" | "expiresAt" | "endedAt"> & {
    ttl: number;
    now: number;
    device: Device;
    /**
     * The password hash the sign-in checked, if it checked one: nothing is written unless it is
     * still the user's (CredentialsChanged, or UserGone, is thrown then; see passwordStill).
     */
    whilePassword?: string;
  },
  refresh?: Pick<RefreshGrant, "clientId" | "userId" | "scope" | "ttl">,
): Promise<{ session: Session; refreshToken?: IssuedRefreshToken }> {
  const session: Session = {
    id: randomUUID(),
    workspaceId: input.workspaceId,
    clientId: input.clientId,
    userId: input.userId,
    amr: input.amr,
    authTime: input.authTime,
    expiresAt: new Date(input.now + input.ttl * 1000),
    endedAt: null,
    dpopJkt: input.dpopJkt,
  };
  // INSERT … SELECT: the form insertIfChanged reads.
  const insertSession = Prisma.sql`INSERT INTO "Session" ("id", "workspaceId", "clientId", "userId", "amr", "authTime", "expiresAt", "dpopJkt", "createdAt", "ip", "userAgent")
      SELECT ${session.id}, ${session.workspaceId}, ${session.clientId}, ${session.userId}, ${session.amr.join(" ")}, ${session.authTime}, ${session.expiresAt}, ${session.dpopJkt}, ${new Date(input.now)},
        ${isIP(input.device.ip) ? input.device.ip : null}, ${input.device.userAgent?.slice(0, MAX_USER_AGENT_LENGTH) ?? null}`;
  const token = newRefreshToken();
  const issued =
    refresh && insertRefreshToken({ ...refresh, authTime: session.authTime, familyId: session.id, notAfter: session.expiresAt }, token, new Date(input.now));
  const more = issued ? [issued.insert] : [];
  if (input.whilePassword === undefined) await sqlExecuteAll(db(), [insertSession, ...more]);
  else if (!(await insertIfChanged(db(), passwordStill(input.userId, input.whilePassword), insertSession, ...more))) throw await notWrittenFor(input.userId);
  return issued ? { session, refreshToken: { token, expiresAt: issued.expiresAt } } : { session };
}

/**
 * The session of a refresh-token family that has none: one signed in by an instance of a version
 * before sessions (during a rolling upgrade). It is made as that sign-in's: `pwd`, ending
 * SESSION_MAX_SECONDS after it (two instances racing here make one row).
 */
export async function adoptLegacySession(family: {
  familyId: string;
  workspaceId: string;
  clientId: string;
  userId: string;
  authTime: number;
}): Promise<Session> {
  const session: Session = {
    id: family.familyId,
    workspaceId: family.workspaceId,
    clientId: family.clientId,
    userId: family.userId,
    amr: ["pwd"],
    authTime: family.authTime,
    expiresAt: new Date((family.authTime + settings().SESSION_MAX_SECONDS) * 1000),
    endedAt: null,
    dpopJkt: null,
  };
  await sqlExecute(
    db(),
    Prisma.sql`INSERT INTO "Session" ("id", "workspaceId", "clientId", "userId", "amr", "authTime", "expiresAt", "createdAt")
      VALUES (${session.id}, ${session.workspaceId}, ${session.clientId}, ${session.userId}, ${"pwd"}, ${session.authTime}, ${session.expiresAt}, ${new Date()})
      ON CONFLICT ("id") DO NOTHING`,
  );
  return (await findSession(session.id)) ?? session;
}

export async function findSession(id: string): Promise<Session | null> {
  const row = await db().session.findUnique({ where: { id } });
  return row && { ...row, amr: row.amr.split(" ").filter(Boolean), authTime: Number(row.authTime) };
}

/**
 * Ends a session: its refresh tokens are revoked and every access token carrying its `sid` is
 * refused from now on (RFC 7009 §2.1: revoking a refresh token SHOULD also invalidate the access
 * tokens of the same grant). Returns how many refresh tokens it revoked.
 */
export async function endSession(id: string, tx?: Prisma.TransactionClient): Promise<number> {
  const now = new Date();
  // In plain SQL: a sign-out is part of a server's steady state (lib/platform/db.ts). The refresh
  // tokens first, then the session: the order a rotation takes their rows in (it consumes the
  // token, then may bind the session to a DPoP key: refresh-tokens.ts), so that on PostgreSQL
  // neither waits for a row the other holds while holding one the other waits for (a deadlock).
  const revoked = await sqlExecuteIn(tx, Prisma.sql`UPDATE "RefreshToken" SET "revokedAt" = ${now} WHERE "familyId" = ${id} AND "revokedAt" IS NULL`);
  await sqlExecuteIn(tx, Prisma.sql`UPDATE "Session" SET "endedAt" = ${now} WHERE "id" = ${id} AND "endedAt" IS NULL`);
  return revoked;
}

/**
 * Ends every session of a user (a new password, "sign out everywhere else"): all their refresh
 * tokens and access tokens die; all but the session `except` when given (the one the user is
 * changing it from). The links mailed to the user and not used yet (a pending change of address,
 * a password reset) are spent too, and the sign-ins waiting for a second factor (their
 * `mfa_token`s) end: whoever is being signed out must not finish what they started.
 */
export async function endUserSessions(userId: string, tx?: Prisma.TransactionClient, except?: string): Promise<void> {
  const now = new Date();
  const [sessions, tokens] =
    except === undefined ? [Prisma.empty, Prisma.empty] : [Prisma.sql` AND "id" <> ${except}`, Prisma.sql` AND "familyId" <> ${except}`];
  // The refresh tokens before the sessions, as endSession: a rotation's order.
  await sqlExecuteIn(tx, Prisma.sql`UPDATE "RefreshToken" SET "revokedAt" = ${now} WHERE "userId" = ${userId} AND "revokedAt" IS NULL${tokens}`);
  await sqlExecuteIn(tx, Prisma.sql`UPDATE "Session" SET "endedAt" = ${now} WHERE "userId" = ${userId} AND "endedAt" IS NULL${sessions}`);
  await sqlExecuteIn(tx, Prisma.sql`UPDATE "AccountToken" SET "usedAt" = ${now} WHERE "userId" = ${userId} AND "usedAt" IS NULL`);
  await sqlExecuteIn(tx, Prisma.sql`DELETE FROM "MfaChallenge" WHERE "userId" = ${userId}`);
}

/** A live sign-in of a user, as their account lists it. */
export interface UserSession {
  id: string;
  /** The client's public id (`client_id`). */
  clientId: string;
  createdAt: Date;
  /** Its last refresh (when its newest refresh token was issued); its start when never refreshed. */
  lastUsedAt: Date;
  ip: string | null;
  userAgent: string | null;
}

/** The most sessions an account lists; a user with more sees the newest. */
export const MAX_LISTED_SESSIONS = 100;

/**
 * A user's live sessions, newest first: not ended, not past their absolute end, and, for a
 * session with refresh tokens, one of them still usable (a session whose tokens all expired can
 * never issue another). When each was last used is read from its refresh tokens: each refresh
 * stores its successor, so the refresh grant writes nothing more for it.
 */
export async function listUserSessions(userId: string, now = new Date()): Promise<UserSession[]> {
  // Plain SQL, one statement: the account page reads it at each visit (lib/platform/db.ts).
  const rows = await sqlRows<{
    id: string;
    createdAt: Date | string;
    ip: string | null;
    userAgent: string | null;
    clientId: string;
    lastIssued: Date | string | null;
    usable: number | bigint | string;
  }>(
    db(),
    Prisma.sql`SELECT s."id", s."createdAt", s."ip", s."userAgent", c."clientId",
        (SELECT MAX(r."createdAt") FROM "RefreshToken" r WHERE r."familyId" = s."id") AS "lastIssued",
        (SELECT COUNT(*) FROM "RefreshToken" r WHERE r."familyId" = s."id" AND r."consumedAt" IS NULL AND r."revokedAt" IS NULL AND r."expiresAt" > ${now}) AS "usable"
      FROM "Session" s JOIN "Client" c ON c."id" = s."clientId"
      WHERE s."userId" = ${userId} AND s."endedAt" IS NULL AND s."expiresAt" > ${now}
      ORDER BY s."createdAt" DESC, s."id" ASC ${sqlLimit(MAX_LISTED_SESSIONS)}`,
  );
  return rows
    .filter((s) => s.lastIssued === null || Number(s.usable) > 0)
    .map((s) => ({
      id: s.id,
      clientId: s.clientId,
      createdAt: new Date(s.createdAt),
      lastUsedAt: new Date(s.lastIssued ?? s.createdAt),
      ip: s.ip,
      userAgent: s.userAgent,
    }));
}

/**
 * Ends the session `id` if it is one of the user's, not ended yet nor past its end; false when
 * there is none such. As anything that signs a session of the user's out (endUserSessions), it
 * spends the links of a pending change of address: the session ended may be the one that asked
 * for it (a link is not tied to its session), and whoever it signs out must not finish that.
 */
export async function endSessionOf(userId: string, id: string, now = new Date()): Promise<boolean> {
  return db().$transaction(async (tx) => {
    const mine = await tx.session.findFirst({ where: { id, userId, endedAt: null, expiresAt: { gt: now } }, select: { id: true } });
    if (!mine) return false;
    await endSession(id, tx);
    await spendAddressChange(tx, userId, now);
    return true;
  });
}

/**
 * Ends a session whose refresh token was presented again once consumed (RFC 9700 §4.14.2: stolen,
 * or a client that sent one refresh twice): as endSessionOf, the user's pending change of address
 * goes with it. Returns how many refresh tokens it revoked.
 */
export async function endReusedSession(userId: string, id: string, now = new Date()): Promise<number> {
  // In plain SQL, as endSession (the refresh grant's path); the session first, so that the theft
  // is stopped whatever happens to the second statement.
  const revoked = await endSession(id);
  await sqlExecute(db(), spendAddressChangeSql(userId, now));
  return revoked;
}

const spendAddressChangeSql = (userId: string, now: Date) =>
  Prisma.sql`UPDATE "AccountToken" SET "usedAt" = ${now} WHERE "userId" = ${userId} AND "purpose" = 'email_verification' AND "usedAt" IS NULL`;

const spendAddressChange = (tx: Prisma.TransactionClient, userId: string, now: Date) => sqlExecuteIn(tx, spendAddressChangeSql(userId, now));

/** The user an access token speaks for, as introspection and userinfo need them. */
export interface TokenHolder {
  id: string;
  username: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean;
  disabled: boolean;
}

interface TokenStateRow extends Record<string, unknown> {
  kind: "revoked" | "session" | "user";
  endedAt: Date | string | null;
  expiresAt: Date | string | null;
  username: string | null;
  name: string | null;
  email: string | null;
  emailVerified: boolean | number | null;
  disabled: boolean | number | null;
}

const NO_USER = Prisma.sql`CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS BOOLEAN), CAST(NULL AS BOOLEAN)`;

/**
 * Whether an access token may still be honoured (its `jti` is not on the denylist and, when it
 * belongs to a sign-in, that session has not ended), and, when `user` is given, that user of the
 * workspace: one round trip, straight to the driver.
 */
export async function accessTokenState(
  jti: string,
  sid: string | undefined,
  user?: { workspaceId: string; id: string },
  now = Date.now(),
): Promise<{ state: "live" | "revoked" | "session ended"; user: TokenHolder | null }> {
  const rows = await sqlRows<TokenStateRow>(
    db(),
    Prisma.sql`SELECT 'revoked' AS "kind", CAST(NULL AS TIMESTAMP) AS "endedAt", CAST(NULL AS TIMESTAMP) AS "expiresAt",
        CAST(NULL AS TEXT) AS "username", CAST(NULL AS TEXT) AS "name", CAST(NULL AS TEXT) AS "email",
        CAST(NULL AS BOOLEAN) AS "emailVerified", CAST(NULL AS BOOLEAN) AS "disabled"
      FROM "RevokedAccessToken" WHERE "jti" = ${jti}
      UNION ALL
      SELECT 'session', s."endedAt", s."expiresAt", ${NO_USER} FROM "Session" s WHERE s."id" = ${sid ?? ""}
      UNION ALL
      SELECT 'user', CAST(NULL AS TIMESTAMP), CAST(NULL AS TIMESTAMP), u."username", u."name", u."email", u."emailVerified", u."disabled"
      FROM "User" u WHERE u."id" = ${user?.id ?? ""} AND u."workspaceId" = ${user?.workspaceId ?? ""}`,
  );
  const u = rows.find((r) => r.kind === "user");
  const holder: TokenHolder | null =
    u && user && u.username !== null
      ? { id: user.id, username: u.username, name: u.name, email: u.email, emailVerified: Boolean(u.emailVerified), disabled: Boolean(u.disabled) }
      : null;
  return { state: tokenState(rows, sid, now), user: holder };
}

function tokenState(rows: readonly TokenStateRow[], sid: string | undefined, now: number): "live" | "revoked" | "session ended" {
  if (rows.some((r) => r.kind === "revoked")) return "revoked";
  if (sid === undefined) return "live";
  const session = rows.find((r) => r.kind === "session");
  if (!session || session.endedAt !== null || session.expiresAt === null) return "session ended";
  return new Date(session.expiresAt).getTime() > now ? "live" : "session ended";
}
