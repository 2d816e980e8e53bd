import { createHash, randomBytes } from "node:crypto";
import { openAtRest, sealAtRest } from "@/lib/platform/at-rest.ts";
import { db } from "@/lib/platform/db.ts";
import { joinList, splitList } from "@/lib/oauth/model/lists.ts";

/** A user's second factor as the MFA grants and endpoints need it. */
export interface StoredFactor {
  id: string;
  type: "otp";
  /** The TOTP secret (base32): for verifying codes, never returned after enrolment. */
  secret: string;
  confirmedAt: Date | null;
  lastUsedStep: number | null;
  recoveryCodesLeft: number;
}

/** A sign-in waiting for its second factor (the state behind an `mfa_token`). */
export interface StoredChallenge {
  tokenHash: string;
  workspaceId: string;
  /** The client's row id, and its public id and origins. */
  clientId: string;
  client: { clientId: string; allowedOrigins: readonly string[] };
  scope: string[];
  failures: number;
  expiresAt: Date;
  user: { id: string; username: string; name: string | null; email: string | null; emailVerified: boolean; disabled: boolean };
  factors: StoredFactor[];
}

/** SHA-256 of an `mfa_token` (base64url): the key it is found by, and the only trace of it stored. */
function mfaTokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64url");
}

const FACTOR_FIELDS = {
  id: true,
  userId: true,
  type: true,
  secret: true,
  confirmedAt: true,
  lastUsedStep: true,
  _count: { select: { recoveryCodes: true } },
} as const;

/** What a TOTP secret, sealed, is bound to (lib/platform/at-rest.ts): its user. */
export const factorSecretContext = (userId: string) => `MfaFactor:${userId}`;

function toFactor(row: {
  id: string;
  userId: string;
  secret: string;
  confirmedAt: Date | null;
  lastUsedStep: number | null;
  _count: { recoveryCodes: number };
}): StoredFactor {
  return {
    id: row.id,
    type: "otp",
    secret: openAtRest(row.secret, factorSecretContext(row.userId)),
    confirmedAt: row.confirmedAt,
    lastUsedStep: row.lastUsedStep,
    recoveryCodesLeft: row._count.recoveryCodes,
  };
}

/** Starts a challenge; returns its `mfa_token` (256 random bits, base64url; only its hash is stored). */
export async function createChallenge(input: {
  workspaceId: string;
  clientId: string;
  userId: string;
  scope: readonly string[];
  expiresAt: Date;
}): Promise<string> {
  const token = randomBytes(32).toString("base64url");
  await db().mfaChallenge.create({
    data: { tokenHash: mfaTokenHash(token), ...input, scope: joinList(input.scope) },
    select: { tokenHash: true },
  });
  return token;
}

/** The challenge of an `mfa_token` with its client, user and the user's factors, or null. */
export async function findChallenge(token: string): Promise<StoredChallenge | null> {
  const row = await db().mfaChallenge.findUnique({
    where: { tokenHash: mfaTokenHash(token) },
    include: {
      client: { select: { clientId: true, allowedOrigins: true } },
      user: {
        select: {
          id: true,
          username: true,
          name: true,
          email: true,
          emailVerified: true,
          disabled: true,
          mfaFactors: { select: FACTOR_FIELDS, orderBy: { createdAt: "asc" } },
        },
      },
    },
  });
  if (!row) return null;
  const { mfaFactors, ...user } = row.user;
  return {
    tokenHash: row.tokenHash,
    workspaceId: row.workspaceId,
    clientId: row.clientId,
    client: { clientId: row.client.clientId, allowedOrigins: splitList(row.client.allowedOrigins) },
    scope: splitList(row.scope),
    failures: row.failures,
    expiresAt: row.expiresAt,
    user,
    factors: mfaFactors.map(toFactor),
  };
}

/** Counts a wrong code against a challenge. */
export async function countWrongCode(tokenHash: string): Promise<void> {
  await db().mfaChallenge.updateMany({ where: { tokenHash }, data: { failures: { increment: 1 } } });
}

/**
 * Ends a challenge whose second factor was passed: a conditional delete, so of two concurrent
 * completions exactly one wins. False if it was gone, expired or exhausted meanwhile.
 */
export async function consumeChallenge(tokenHash: string, maxFailures: number, now: Date): Promise<boolean> {
  const { count } = await db().mfaChallenge.deleteMany({ where: { tokenHash, failures: { lt: maxFailures }, expiresAt: { gt: now } } });
  return count === 1;
}

/**
 * Marks a TOTP time step as used, only if it is later than the last one used: a code is accepted
 * once (RFC 6238 §5.2), even by two instances at the same moment. False for a replay.
 */
export async function useTimeStep(factorId: string, step: number): Promise<boolean> {
  const { count } = await db().mfaFactor.updateMany({
    where: { id: factorId, OR: [{ lastUsedStep: null }, { lastUsedStep: { lt: step } }] },
    data: { lastUsedStep: step },
  });
  return count === 1;
}

/** Uses a recovery code: deleted if it was there (single use). False if it was not, or is used already. */
export async function useRecoveryCode(factorId: string, codeHash: string): Promise<boolean> {
  const { count } = await db().mfaRecoveryCode.deleteMany({ where: { factorId, codeHash } });
  return count === 1;
}

export async function recoveryCodesLeft(factorId: string): Promise<number> {
  return db().mfaRecoveryCode.count({ where: { factorId } });
}

/** A user's factors, the oldest first. */
export async function factorsOf(userId: string): Promise<StoredFactor[]> {
  const rows = await db().mfaFactor.findMany({ where: { userId }, select: FACTOR_FIELDS, orderBy: { createdAt: "asc" } });
  return rows.map(toFactor);
}

/** A pending TOTP factor with its recovery codes (hashed), replacing any earlier pending one. */
export async function startEnrolment(userId: string, secret: string, codeHashes: readonly string[]): Promise<string> {
  return db().$transaction(async (tx) => {
    await tx.mfaFactor.deleteMany({ where: { userId, confirmedAt: null } });
    const factor = await tx.mfaFactor.create({
      data: {
        userId,
        type: "otp",
        secret: sealAtRest(secret, factorSecretContext(userId)),
        recoveryCodes: { create: codeHashes.map((codeHash) => ({ codeHash })) },
      },
      select: { id: true },
    });
    return factor.id;
  });
}

/** Activates a pending factor: from now on it gates the user's sign-ins. */
export async function confirmFactor(factorId: string, at: Date): Promise<void> {
  await db().mfaFactor.updateMany({ where: { id: factorId, confirmedAt: null }, data: { confirmedAt: at } });
}

/** Removes every factor of a user (their recovery codes with them). Returns how many. */
export async function removeFactors(userId: string): Promise<number> {
  const { count } = await db().mfaFactor.deleteMany({ where: { userId } });
  return count;
}

/** Replaces a factor's recovery codes with new ones (hashed): the old ones stop working. */
export async function replaceRecoveryCodes(factorId: string, codeHashes: readonly string[]): Promise<void> {
  await db().$transaction([
    db().mfaRecoveryCode.deleteMany({ where: { factorId } }),
    db().mfaRecoveryCode.createMany({ data: codeHashes.map((codeHash) => ({ factorId, codeHash })) }),
  ]);
}
