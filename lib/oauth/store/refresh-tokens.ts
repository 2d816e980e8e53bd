import { createHash, createHmac, randomBytes } from "node:crypto";
import { db, sqlExecute } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { registerCache } from "@/lib/platform/caches.ts";

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
let successorKey: Promise<Buffer> | undefined;
registerCache("refresh successor key", {
  clear: () => {
    successorKey = undefined;
  },
});

/** The server's key for successors: made once, shared by every instance through the database. */
function loadSuccessorKey(): Promise<Buffer> {
  successorKey ??= (async () => {
    const read = () => db().serverSecret.findUnique({ where: { name: SUCCESSOR_SECRET } });
    let row = await read();
    if (!row) {
      // Two instances may race to make it: one insert wins, both then read the winner's.
      await db()
        .serverSecret.create({ data: { name: SUCCESSOR_SECRET, value: randomBytes(32).toString("base64url") } })
        .catch(() => undefined);
      row = await read();
    }
    if (!row) throw new Error("no refresh-successor secret");
    return Buffer.from(row.value, "base64url");
  })();
  successorKey.catch(() => {
    successorKey = undefined;
  });
  return successorKey;
}

/**
 * The refresh token that rotation issues in exchange for `token`: an HMAC of it under a server
 * secret, so as unguessable as a random one to anyone without that secret, yet the same every
 * time. That makes a refresh retryable: a client whose answer was lost (a crash after the
 * commit, a dropped connection) can present the consumed token again within
 * REFRESH_REUSE_GRACE_SECONDS and receive the same successor, which is stored only hashed.
 */
export async function successorOf(token: string): Promise<string> {
  return createHmac("sha256", await loadSuccessorKey())
    .update(token, "utf8")
    .digest("base64url");
}

/**
 * Stores a refresh token (inside `tx` when given: the refresh grant's rotation) and returns it in
 * clear, once. Plain SQL (portable); outside a transaction straight to the driver (the password
 * grant's hot path, see `sqlRows` in lib/platform/db.ts).
 */
export async function storeRefreshToken(grant: RefreshGrant, tx?: Prisma.TransactionClient, token: string = newRefreshToken()): Promise<IssuedRefreshToken> {
  const now = new Date();
  const expiresAt = new Date(Math.min(now.getTime() + grant.ttl * 1000, grant.notAfter.getTime()));
  const insert = Prisma.sql`
    INSERT INTO "RefreshToken" ("tokenHash", "familyId", "clientId", "userId", "scope", "authTime", "expiresAt", "createdAt")
    VALUES (${refreshTokenHash(token)}, ${grant.familyId}, ${grant.clientId}, ${grant.userId}, ${grant.scope.join(" ")}, ${grant.authTime}, ${expiresAt}, ${now})`;
  await (tx ? tx.$executeRaw(insert) : sqlExecute(db(), insert));
  return { token, expiresAt };
}

/** The stored row of a presented refresh token, with its client and user, or null. */
export function findRefreshToken(token: string) {
  return db().refreshToken.findUnique({
    where: { tokenHash: refreshTokenHash(token) },
    include: { client: { select: { clientId: true, workspaceId: true, disabled: true } }, user: true },
  });
}

export type StoredRefreshToken = NonNullable<Awaited<ReturnType<typeof findRefreshToken>>>;

/**
 * Consumes a refresh token if, and only if, nobody has yet: a conditional update, so that of two
 * concurrent uses exactly one wins, in one process or across many sharing the database.
 */
export async function consumeRefreshToken(tokenHash: string, tx: Prisma.TransactionClient): Promise<boolean> {
  const now = new Date();
  const { count } = await tx.refreshToken.updateMany({
    where: { tokenHash, consumedAt: null, revokedAt: null, expiresAt: { gt: now } },
    data: { consumedAt: now },
  });
  return count === 1;
}

/** Whether a stored refresh token can still be used (not consumed, revoked or expired). */
export function isUsable(row: { consumedAt: Date | null; revokedAt: Date | null; expiresAt: Date }, now = Date.now()): boolean {
  return row.consumedAt === null && row.revokedAt === null && row.expiresAt.getTime() > now;
}

/**
 * Rotation: consumes `tokenHash` and stores its successor in one transaction, or does nothing and
 * answers null when the token was consumed already (by a concurrent request, say).
 */
export function rotateRefreshToken(tokenHash: string, successor: RefreshGrant, token: string): Promise<IssuedRefreshToken | null> {
  return db().$transaction(async (tx) => ((await consumeRefreshToken(tokenHash, tx)) ? storeRefreshToken(successor, tx, token) : null));
}

/** When a refresh token was consumed, if it was. */
export async function consumedAt(tokenHash: string): Promise<Date | null> {
  return (await db().refreshToken.findUnique({ where: { tokenHash }, select: { consumedAt: true } }))?.consumedAt ?? null;
}
