import { randomUUID } from "node:crypto";
import { settings } from "@/lib/platform/env.ts";
import { db, sqlExecute, sqlRows } from "@/lib/platform/db.ts";
import type { Session } from "@/lib/oauth/model/session.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";

/** Records a new sign-in (plain SQL straight to the driver: the password grant's hot path). */
export async function startSession(input: Omit<Session, "id" | "expiresAt" | "endedAt"> & { ttl: number; now: number }): Promise<Session> {
  const session: Session = {
    id: randomUUID(),
    workspaceId: input.workspaceId,
    clientId: input.clientId,
    userId: input.userId,
    amr: input.amr,
    authTime: input.authTime,
    expiresAt: new Date(input.now + input.ttl * 1000),
    endedAt: null,
  };
  await sqlExecute(
    db(),
    Prisma.sql`INSERT INTO "Session" ("id", "workspaceId", "clientId", "userId", "amr", "authTime", "expiresAt", "createdAt")
      VALUES (${session.id}, ${session.workspaceId}, ${session.clientId}, ${session.userId}, ${session.amr.join(" ")}, ${session.authTime}, ${session.expiresAt}, ${new Date(input.now)})`,
  );
  return session;
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
  return row && { ...row, amr: row.amr.split(" ").filter(Boolean) };
}

/**
 * Ends a session: its refresh tokens are revoked and every access token carrying its `sid` is
 * refused from now on (RFC 7009 §2.1: revoking a refresh token SHOULD also invalidate the access
 * tokens of the same grant). Returns how many refresh tokens it revoked.
 */
export async function endSession(id: string, tx: Prisma.TransactionClient = db()): Promise<number> {
  const now = new Date();
  await tx.session.updateMany({ where: { id, endedAt: null }, data: { endedAt: now } });
  const { count } = await tx.refreshToken.updateMany({ where: { familyId: id, revokedAt: null }, data: { revokedAt: now } });
  return count;
}

/** Ends every session of a user (a new password): all their refresh tokens and access tokens die. */
export async function endUserSessions(userId: string, tx: Prisma.TransactionClient = db()): Promise<void> {
  const now = new Date();
  await tx.session.updateMany({ where: { userId, endedAt: null }, data: { endedAt: now } });
  await tx.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: now } });
}

interface TokenStateRow extends Record<string, unknown> {
  kind: "revoked" | "session";
  endedAt: Date | string | null;
  expiresAt: Date | string | null;
}

/**
 * Whether an access token may still be honoured: its `jti` is not on the denylist and, when it
 * belongs to a sign-in, that session has not ended. One round trip, straight to the driver.
 */
export async function accessTokenState(jti: string, sid: string | undefined, now = Date.now()): Promise<"live" | "revoked" | "session ended"> {
  const rows = await sqlRows<TokenStateRow>(
    db(),
    Prisma.sql`SELECT 'revoked' AS "kind", CAST(NULL AS TIMESTAMP) AS "endedAt", CAST(NULL AS TIMESTAMP) AS "expiresAt" FROM "RevokedAccessToken" WHERE "jti" = ${jti}
      UNION ALL
      SELECT 'session', s."endedAt", s."expiresAt" FROM "Session" s WHERE s."id" = ${sid ?? ""}`,
  );
  if (rows.some((r) => r.kind === "revoked")) return "revoked";
  if (sid === undefined) return "live";
  const session = rows.find((r) => r.kind === "session");
  if (!session || session.endedAt !== null || session.expiresAt === null) return "session ended";
  return new Date(session.expiresAt).getTime() > now ? "live" : "session ended";
}
