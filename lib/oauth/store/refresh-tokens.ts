import { createHash, createHmac, randomBytes } from "node:crypto";
import { db, insertIfChanged, sqlRows } from "@/lib/platform/db.ts";
import { joinList, splitList } from "@/lib/oauth/model/lists.ts";
import type { Session } from "@/lib/oauth/model/session.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { serverSecret } from "@/lib/oauth/store/server-secrets.ts";

/** An opaque refresh token: 256 bits of randomness, base64url. Only its hash is stored. */
export function newRefreshToken(): string {
  return randomBytes(32).toString("base64url");
}

export function refreshTokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64url");
}

export interface RefreshGrant {
  clientId: string;
  userId: string;
  scope: readonly string[];
  authTime: number;
  /** The session (sign-in) the token belongs to: its family. */
  familyId: string;
  ttl: number;
  /** The session's absolute end: no refresh token outlives it, however often rotated. */
  notAfter: Date;
}

export interface IssuedRefreshToken {
  token: string;
  expiresAt: Date;
}

const SUCCESSOR_SECRET = "refresh-successor";

/**
 * The refresh token that rotation issues in exchange for `token`: an HMAC of it under a server
 * secret, so as unguessable as a random one to anyone without that secret, yet the same every
 * time. That makes a refresh retryable: a client whose answer was lost (a crash after the
 * commit, a dropped connection) can present the consumed token again within
 * REFRESH_REUSE_GRACE_SECONDS and receive the same successor, which is stored only hashed.
 */
export async function successorOf(token: string): Promise<string> {
  return createHmac("sha256", await serverSecret(SUCCESSOR_SECRET))
    .update(token, "utf8")
    .digest("base64url");
}

/**
 * The INSERT of a refresh token, for a caller that writes it with other rows: a sign-in's session
 * (startSession) or the token it replaces (rotation). `INSERT … SELECT`, the form insertIfChanged reads.
 */
export function insertRefreshToken(grant: RefreshGrant, token: string, now: Date): { insert: Prisma.Sql; expiresAt: Date } {
  const expiresAt = new Date(Math.min(now.getTime() + grant.ttl * 1000, grant.notAfter.getTime()));
  const insert = Prisma.sql`
    INSERT INTO "RefreshToken" ("tokenHash", "familyId", "clientId", "userId", "scope", "authTime", "expiresAt", "createdAt")
    SELECT ${refreshTokenHash(token)}, ${grant.familyId}, ${grant.clientId}, ${grant.userId}, ${joinList(grant.scope)}, ${grant.authTime}, ${expiresAt}, ${now}`;
  return { insert, expiresAt };
}

/** A presented refresh token's row, with what every use of it needs to know: its client, user and session. */
export interface StoredRefreshToken {
  tokenHash: string;
  /** Its session's id. */
  familyId: string;
  /** The client's row id. */
  clientId: string;
  userId: string;
  scope: string;
  authTime: number;
  expiresAt: Date;
  consumedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
  client: { clientId: string; workspaceId: string; disabled: boolean };
  user: { id: string; username: string; name: string | null; email: string | null; emailVerified: boolean; disabled: boolean };
  /** Null only for a session pruned away (then long expired). */
  session: Pick<Session, "id" | "amr" | "authTime" | "expiresAt" | "endedAt" | "dpopJkt"> | null;
}

interface Row extends Record<string, unknown> {
  tokenHash: string;
  familyId: string;
  clientId: string;
  userId: string;
  scope: string;
  authTime: number | bigint;
  expiresAt: Date | string;
  consumedAt: Date | string | null;
  revokedAt: Date | string | null;
  createdAt: Date | string;
  clientClientId: string;
  workspaceId: string;
  clientDisabled: boolean | number;
  username: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean | number;
  userDisabled: boolean | number;
  sessionAmr: string | null;
  sessionAuthTime: number | bigint | null;
  sessionExpiresAt: Date | string | null;
  sessionEndedAt: Date | string | null;
  sessionDpopJkt: string | null;
}

const date = (value: Date | string) => new Date(value);
const maybeDate = (value: Date | string | null) => (value === null ? null : new Date(value));

/**
 * The stored row of a presented refresh token, with its client, user and session, or null: one
 * query straight to the driver (the refresh grant's, introspection's and revocation's read).
 */
export async function findRefreshToken(token: string): Promise<StoredRefreshToken | null> {
  const [r] = await sqlRows<Row>(
    db(),
    Prisma.sql`SELECT t."tokenHash", t."familyId", t."clientId", t."userId", t."scope", t."authTime", t."expiresAt", t."consumedAt", t."revokedAt", t."createdAt",
        c."clientId" AS "clientClientId", c."workspaceId", c."disabled" AS "clientDisabled",
        u."username", u."name", u."email", u."emailVerified", u."disabled" AS "userDisabled",
        s."amr" AS "sessionAmr", s."authTime" AS "sessionAuthTime", s."expiresAt" AS "sessionExpiresAt", s."endedAt" AS "sessionEndedAt", s."dpopJkt" AS "sessionDpopJkt"
      FROM "RefreshToken" t
      JOIN "Client" c ON c."id" = t."clientId"
      JOIN "User" u ON u."id" = t."userId"
      LEFT JOIN "Session" s ON s."id" = t."familyId"
      WHERE t."tokenHash" = ${refreshTokenHash(token)}`,
  );
  if (!r) return null;
  return {
    tokenHash: r.tokenHash,
    familyId: r.familyId,
    clientId: r.clientId,
    userId: r.userId,
    scope: r.scope,
    authTime: Number(r.authTime),
    expiresAt: date(r.expiresAt),
    consumedAt: maybeDate(r.consumedAt),
    revokedAt: maybeDate(r.revokedAt),
    createdAt: date(r.createdAt),
    client: { clientId: r.clientClientId, workspaceId: r.workspaceId, disabled: Boolean(r.clientDisabled) },
    user: { id: r.userId, username: r.username, name: r.name, email: r.email, emailVerified: Boolean(r.emailVerified), disabled: Boolean(r.userDisabled) },
    session:
      r.sessionExpiresAt === null
        ? null
        : {
            id: r.familyId,
            amr: splitList(r.sessionAmr),
            authTime: Number(r.sessionAuthTime),
            expiresAt: date(r.sessionExpiresAt),
            endedAt: maybeDate(r.sessionEndedAt),
            dpopJkt: r.sessionDpopJkt,
          },
  };
}

/** Whether a stored refresh token can still be used (not consumed, revoked or expired). */
export function isUsable(row: { consumedAt: Date | null; revokedAt: Date | null; expiresAt: Date }, now = Date.now()): boolean {
  return row.consumedAt === null && row.revokedAt === null && row.expiresAt.getTime() > now;
}

/**
 * Rotation: consumes `tokenHash` if, and only if, nobody has yet (a conditional update, so that
 * of two concurrent uses exactly one wins, in one process or across many sharing the database),
 * and stores its successor in the same transaction; null when the token was consumed already.
 * With `bindTo`, the session is bound to that DPoP key in the same transaction (bindToKey), after
 * the token's row is taken (whatever ends sessions takes their rows in the same order); null too
 * when the session is bound to another key (the token is then consumed, and nothing issued).
 * The consumed row is kept until its session's end (`successor.notAfter`) instead of its own
 * expiry, and pruned then: presented again at any time in the session's life, it is reuse and
 * revokes the family (RFC 9700 §4.14.2), however long a thief's refreshes kept the session going.
 */
export async function rotateRefreshToken(tokenHash: string, successor: RefreshGrant, token: string, bindTo?: string): Promise<IssuedRefreshToken | null> {
  const now = new Date();
  const consume = Prisma.sql`UPDATE "RefreshToken" SET "consumedAt" = ${now}, "expiresAt" = ${successor.notAfter}
    WHERE "tokenHash" = ${tokenHash} AND "consumedAt" IS NULL AND "revokedAt" IS NULL AND "expiresAt" > ${now}`;
  const { insert, expiresAt } = insertRefreshToken(successor, token, now);
  const guards = bindTo === undefined ? consume : [consume, bindToKey(successor.familyId, bindTo)];
  return (await insertIfChanged(db(), guards, insert)) ? { token, expiresAt } : null;
}

/**
 * RFC 9449 §5: binds a public client's session (its refresh tokens) to a DPoP key, if it is not
 * bound yet, in the same transaction as the rotation that consumes its token: no request can read
 * the family bound while the token that bound it is still unconsumed (and take itself for a
 * stale key rather than for reuse). Of two keys one wins; the other's rotation issues nothing.
 */
function bindToKey(familyId: string, jkt: string): Prisma.Sql {
  return Prisma.sql`UPDATE "Session" SET "dpopJkt" = ${jkt} WHERE "id" = ${familyId} AND ("dpopJkt" IS NULL OR "dpopJkt" = ${jkt})`;
}

/** When a refresh token was consumed, if it was. */
export async function consumedAt(tokenHash: string): Promise<Date | null> {
  const [row] = await sqlRows<{ consumedAt: Date | string | null }>(db(), Prisma.sql`SELECT "consumedAt" FROM "RefreshToken" WHERE "tokenHash" = ${tokenHash}`);
  return row ? maybeDate(row.consumedAt) : null;
}
