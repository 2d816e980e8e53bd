import { createHash, randomBytes } from "node:crypto";
import { openAtRest } from "@/lib/platform/at-rest.ts";
import { sealForWrite } from "@/lib/oauth/store/sealing.ts";
import { bothOrNeither, db, insertIfChanged, sqlExecute, sqlRows } from "@/lib/platform/db.ts";
import { notWrittenFor, passwordStill, SessionEnded, UserGone } from "@/lib/oauth/store/credentials.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { joinList, splitList } from "@/lib/oauth/model/lists.ts";
import { takeUserRow } from "@/lib/oauth/store/users.ts";
import { keepMailIn, type MailKeptByChange } from "@/lib/oauth/store/pending-mails.ts";

/** A user's second factor as the MFA grants and endpoints need it. */
export interface StoredFactor {
  id: string;
  type: "otp";
  /** The TOTP secret (base32): for verifying codes, never returned after enrolment. */
  secret: string;
  confirmedAt: Date | null;
  lastUsedStep: number | null;
  /** Wrong codes in a row since it last passed (see countFactorCode). */
  wrongCodes: number;
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
  /** The DPoP key (its RFC 7638 thumbprint) the password step proved, which the second step must prove too; null when it proved none. */
  dpopJkt: string | null;
  user: { id: string; username: string; name: string | null; email: string | null; emailVerified: boolean; disabled: boolean };
  /**
   * The user's password hash as it was when the challenge was read: the sign-in completes only
   * while it is still theirs (a change of password ends the sign-in). Not in `user`, which goes
   * further (lib/oauth/endpoints/mfa/caller.ts).
   */
  passwordHash: string;
  factors: StoredFactor[];
}

/** SHA-256 of an `mfa_token` (base64url): the key it is found by, and the only trace of it stored. */
function mfaTokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64url");
}

/** What a TOTP secret, sealed, is bound to (lib/platform/at-rest.ts): its user. */
export const factorSecretContext = (userId: string) => `MfaFactor:${userId}`;

interface FactorRow extends Record<string, unknown> {
  id: string;
  userId: string;
  secret: string;
  confirmedAt: Date | string | null;
  lastUsedStep: number | bigint | null;
  wrongCodes: number | bigint;
  /** How many recovery codes it has left (PostgreSQL's COUNT comes as a string). */
  codes: number | bigint | string;
}

// The sign-in's second step runs these (plain SQL on the driver, lib/platform/db.ts): the
// challenge, the user's factors, the code's single use. Enrolment, rarer, runs through Prisma.

/** A user's factors with their recovery codes left, the oldest first. */
const factorRows = (userId: string) =>
  sqlRows<FactorRow>(
    db(),
    Prisma.sql`SELECT f."id", f."userId", f."secret", f."confirmedAt", f."lastUsedStep", f."wrongCodes",
        (SELECT COUNT(*) FROM "MfaRecoveryCode" r WHERE r."factorId" = f."id") AS "codes"
      FROM "MfaFactor" f WHERE f."userId" = ${userId} ORDER BY f."createdAt" ASC`,
  );

function toFactor(row: FactorRow): StoredFactor {
  return {
    id: row.id,
    type: "otp",
    secret: openAtRest(row.secret, factorSecretContext(row.userId)),
    confirmedAt: row.confirmedAt === null ? null : new Date(row.confirmedAt),
    lastUsedStep: row.lastUsedStep === null ? null : Number(row.lastUsedStep),
    wrongCodes: Number(row.wrongCodes),
    recoveryCodesLeft: Number(row.codes),
  };
}

/** Starts a challenge; returns its `mfa_token` (256 random bits, base64url; only its hash is stored). */
export async function createChallenge(input: {
  workspaceId: string;
  clientId: string;
  userId: string;
  scope: readonly string[];
  expiresAt: Date;
  /** The password hash the sign-in checked: no challenge unless it is still the user's (see startSession). */
  whilePassword: string;
  /** The thumbprint of the password step's DPoP key, if it sent a proof: the second step must prove the same key. */
  dpopJkt?: string;
}): Promise<string> {
  const token = randomBytes(32).toString("base64url");
  const insert = Prisma.sql`INSERT INTO "MfaChallenge" ("tokenHash", "workspaceId", "clientId", "userId", "scope", "failures", "expiresAt", "createdAt", "dpopJkt")
      SELECT ${mfaTokenHash(token)}, ${input.workspaceId}, ${input.clientId}, ${input.userId}, ${joinList(input.scope)}, 0, ${input.expiresAt}, ${new Date()}, ${input.dpopJkt ?? null}`;
  if (!(await insertIfChanged(db(), passwordStill(input.userId, input.whilePassword), insert))) throw await notWrittenFor(input.userId);
  return token;
}

interface ChallengeRow extends Record<string, unknown> {
  tokenHash: string;
  workspaceId: string;
  clientId: string;
  scope: string;
  failures: number | bigint;
  expiresAt: Date | string;
  dpopJkt: string | null;
  publicClientId: string;
  allowedOrigins: string;
  userId: string;
  username: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean | number | bigint;
  disabled: boolean | number | bigint;
  passwordHash: string;
}

/** The challenge of an `mfa_token` with its client, user and the user's factors, or null. */
export async function findChallenge(token: string): Promise<StoredChallenge | null> {
  const [row] = await sqlRows<ChallengeRow>(
    db(),
    Prisma.sql`SELECT m."tokenHash", m."workspaceId", m."clientId", m."scope", m."failures", m."expiresAt", m."dpopJkt",
        c."clientId" AS "publicClientId", c."allowedOrigins",
        u."id" AS "userId", u."username", u."name", u."email", u."emailVerified", u."disabled", u."passwordHash"
      FROM "MfaChallenge" m JOIN "Client" c ON c."id" = m."clientId" JOIN "User" u ON u."id" = m."userId"
      WHERE m."tokenHash" = ${mfaTokenHash(token)}`,
  );
  if (!row) return null;
  return {
    tokenHash: row.tokenHash,
    workspaceId: row.workspaceId,
    clientId: row.clientId,
    client: { clientId: row.publicClientId, allowedOrigins: splitList(row.allowedOrigins) },
    scope: splitList(row.scope),
    failures: Number(row.failures),
    expiresAt: new Date(row.expiresAt),
    dpopJkt: row.dpopJkt,
    user: {
      id: row.userId,
      username: row.username,
      name: row.name,
      email: row.email,
      emailVerified: Boolean(row.emailVerified),
      disabled: Boolean(row.disabled),
    },
    passwordHash: row.passwordHash,
    factors: (await factorRows(row.userId)).map(toFactor),
  };
}

/**
 * Counts a code against a challenge before it is checked: one conditional update, so that however
 * many arrive at once (on any instance) at most `maxFailures` are ever checked. False when the
 * challenge has none left (or is gone or expired): that code is not checked at all.
 */
export async function countCodeAttempt(tokenHash: string, maxFailures: number, now: Date): Promise<boolean> {
  const changed = await sqlExecute(
    db(),
    Prisma.sql`UPDATE "MfaChallenge" SET "failures" = "failures" + 1 WHERE "tokenHash" = ${tokenHash} AND "failures" < ${maxFailures} AND "expiresAt" > ${now}`,
  );
  return changed === 1;
}

/**
 * A sign-in's challenge, ended when its second factor is passed: by a conditional delete, so of
 * two concurrent completions exactly one wins (not if it is gone, expired or exhausted meanwhile).
 * The code that passed it is spent in the same transaction, so a sign-in that loses its challenge
 * keeps its code.
 */
export interface ChallengeToEnd {
  tokenHash: string;
  maxFailures: number;
  now: Date;
}

const endStatement = ({ tokenHash, maxFailures, now }: ChallengeToEnd) =>
  // The code that ends it was counted already (countCodeAttempt): up to maxFailures, itself included.
  Prisma.sql`DELETE FROM "MfaChallenge" WHERE "tokenHash" = ${tokenHash} AND "failures" <= ${maxFailures} AND "expiresAt" > ${now}`;

/**
 * Counts a code against a confirmed factor before it is checked, as countCodeAttempt counts it
 * against a challenge: one conditional update, so that however many arrive at once (on any
 * instance, through any challenge or proof) no more than `maxWrong` in a row are ever checked.
 * The wrong codes in a row it has with this one, or null when it had `maxWrong` already (or is
 * gone): then the code is not checked at all. A code that passes sets the count back to none
 * (useTimeStep), as a recovery code that passes does (forgiveWrongCodes).
 */
export async function countFactorCode(factorId: string, maxWrong: number): Promise<number | null> {
  const [row] = await sqlRows<{ wrongCodes: number | bigint }>(
    db(),
    Prisma.sql`UPDATE "MfaFactor" SET "wrongCodes" = "wrongCodes" + 1 WHERE "id" = ${factorId} AND "wrongCodes" < ${maxWrong} RETURNING "wrongCodes"`,
  );
  return row ? Number(row.wrongCodes) : null;
}

/** A factor's wrong codes forgiven: a recovery code passed a sign-in (its codes are taken again). */
export async function forgiveWrongCodes(factorId: string): Promise<void> {
  await sqlExecute(db(), Prisma.sql`UPDATE "MfaFactor" SET "wrongCodes" = 0 WHERE "id" = ${factorId} AND "wrongCodes" > 0`);
}

/**
 * Marks a TOTP time step as used, only if it is later than the last one used: a code is accepted
 * once (RFC 6238 §5.2), even by two instances at the same moment. `replayed` if it is not later;
 * with a challenge, `gone` if the challenge is (and then the step stays unused). An accepted code
 * forgives the factor's wrong codes (countFactorCode counted this one among them).
 */
export async function useTimeStep(factorId: string, step: number, challenge?: ChallengeToEnd): Promise<"accepted" | "replayed" | "gone"> {
  const mark = Prisma.sql`UPDATE "MfaFactor" SET "lastUsedStep" = ${step}, "wrongCodes" = 0 WHERE "id" = ${factorId} AND ("lastUsedStep" IS NULL OR "lastUsedStep" < ${step})`;
  if (!challenge) return (await sqlExecute(db(), mark)) === 1 ? "accepted" : "replayed";
  const spent = await bothOrNeither(db(), mark, endStatement(challenge));
  return spent === "both" ? "accepted" : spent === "first" ? "replayed" : "gone";
}

/**
 * Uses a recovery code (single use) to pass a sign-in's challenge, both spent together. `wrong`
 * when the code is not one of the factor's (or is used already), `gone` when the challenge is.
 */
export async function useRecoveryCode(factorId: string, codeHash: string, challenge: ChallengeToEnd): Promise<"accepted" | "wrong" | "gone"> {
  const spent = await bothOrNeither(
    db(),
    Prisma.sql`DELETE FROM "MfaRecoveryCode" WHERE "factorId" = ${factorId} AND "codeHash" = ${codeHash}`,
    endStatement(challenge),
  );
  return spent === "both" ? "accepted" : spent === "first" ? "wrong" : "gone";
}

export async function recoveryCodesLeft(factorId: string): Promise<number> {
  const [row] = await sqlRows<{ n: number | bigint | string }>(db(), Prisma.sql`SELECT COUNT(*) AS "n" FROM "MfaRecoveryCode" WHERE "factorId" = ${factorId}`);
  return Number(row?.n ?? 0);
}

/** A user's factors, the oldest first. */
export async function factorsOf(userId: string): Promise<StoredFactor[]> {
  return (await factorRows(userId)).map(toFactor);
}

/** An enrolment found the user with a confirmed factor, confirmed since the caller read their factors: nothing changed. */
export class AlreadyEnrolled extends Error {}

const confirmedOther = (tx: Prisma.TransactionClient, userId: string, except?: string) =>
  tx.mfaFactor.count({ where: { userId, confirmedAt: { not: null }, ...(except === undefined ? {} : { id: { not: except } }) } });

/**
 * Within a change's transaction, after the user's row: the session the change is made from (none
 * for a sign-in's enrolment) is still live, its row taken as a sign-out updates it; else
 * SessionEnded. Whoever is signed out while their request ran (its body held back) must not
 * finish what they started.
 */
async function sessionStillLive(tx: Prisma.TransactionClient, userId: string, sessionId: string | undefined): Promise<void> {
  if (sessionId === undefined) return;
  const taken = await tx.$executeRaw`UPDATE "Session" SET "endedAt" = "endedAt" WHERE "id" = ${sessionId} AND "userId" = ${userId} AND "endedAt" IS NULL`;
  if (taken !== 1) throw new SessionEnded();
}

/**
 * A pending TOTP factor with its recovery codes (hashed), replacing any earlier pending one. The
 * user's row is locked first: under PostgreSQL's READ COMMITTED, two enrolments at once would
 * each delete only what was committed before them, and both pending factors would stay. (SQLite
 * runs one write transaction at a time; there the update changes nothing.) A user with a
 * confirmed factor (confirmed since the caller read their factors, as a confirmation takes the
 * same row) is AlreadyEnrolled: never a second factor beside it.
 */
export async function startEnrolment(userId: string, secret: string, codeHashes: readonly string[], sessionId?: string): Promise<string> {
  return db().$transaction(async (tx) => {
    await takeUserRow(tx, userId);
    await sessionStillLive(tx, userId, sessionId);
    if ((await confirmedOther(tx, userId)) > 0) throw new AlreadyEnrolled();
    await tx.mfaFactor.deleteMany({ where: { userId, confirmedAt: null } });
    const sealed = await sealForWrite(secret, factorSecretContext(userId), tx);
    const factor = await tx.mfaFactor.create({
      data: {
        userId,
        type: "otp",
        secret: sealed,
        recoveryCodes: { create: codeHashes.map((codeHash) => ({ codeHash })) },
      },
      select: { id: true },
    });
    return factor.id;
  });
}

/**
 * Activates a pending factor of the user's: from now on it gates their sign-ins. `gone` when it is
 * gone (a new enrolment replaced it, or the user removed it, after its code was checked; or the
 * user is gone); `enrolled` when another factor of the user's is confirmed (a user has one);
 * `confirmed` by this call, with its `notice` (keepMailIn), or `already` by another at the same
 * time. The user's row is taken first (takeUserRow), as a deletion of the user does.
 */
export async function confirmFactor(
  userId: string,
  factorId: string,
  at: Date,
  notice?: MailKeptByChange,
  sessionId?: string,
): Promise<"confirmed" | "already" | "gone" | "enrolled"> {
  return db().$transaction(async (tx) => {
    if (!(await takeUserRow(tx, userId))) return "gone";
    await sessionStillLive(tx, userId, sessionId);
    if ((await confirmedOther(tx, userId, factorId)) > 0) return "enrolled";
    const { count } = await tx.mfaFactor.updateMany({ where: { id: factorId, confirmedAt: null }, data: { confirmedAt: at } });
    if (count === 1) {
      await keepMailIn(tx, notice, at);
      return "confirmed";
    }
    return (await tx.mfaFactor.count({ where: { id: factorId, confirmedAt: { not: null } } })) === 1 ? "already" : "gone";
  });
}

/** A removal proved only as a pending factor may be found a factor confirmed since it was read: nothing was removed. */
export class FactorConfirmedMeanwhile extends Error {}

/**
 * Removes every factor of a user (their recovery codes with them), with the change's `notice`
 * when a confirmed one went (keepMailIn). Returns how many of them were confirmed: read from the
 * rows this statement deleted, so that of two removals at once, or a confirmation just before,
 * exactly one removal says a confirmed factor went. The user's row is taken first (takeUserRow),
 * as a confirmation takes it: with `pendingOnly` (the caller proved what proves a pending factor
 * only), a factor confirmed since the caller read it is FactorConfirmedMeanwhile, and stays.
 */
export async function removeFactors(
  userId: string,
  notice?: MailKeptByChange,
  { pendingOnly = false, sessionId }: { pendingOnly?: boolean; sessionId?: string } = {},
): Promise<{ confirmed: number }> {
  return db().$transaction(async (tx) => {
    await takeUserRow(tx, userId);
    await sessionStillLive(tx, userId, sessionId);
    if (pendingOnly && (await tx.mfaFactor.count({ where: { userId, confirmedAt: { not: null } } })) > 0) throw new FactorConfirmedMeanwhile();
    const rows = await tx.$queryRaw<Array<{ confirmedAt: unknown }>>`DELETE FROM "MfaFactor" WHERE "userId" = ${userId} RETURNING "confirmedAt"`;
    const confirmed = rows.filter((row) => row.confirmedAt !== null).length;
    if (confirmed > 0) await keepMailIn(tx, notice);
    return { confirmed };
  });
}

/** A replacement of a factor's recovery codes found the factor removed since it was read: nothing was written. */
export class FactorRemovedMeanwhile extends Error {}

/**
 * Replaces the recovery codes of a factor of the user's with new ones (hashed), with the change's
 * `notice` (keepMailIn): the old ones stop working. The user's row is taken first (takeUserRow),
 * so that of two replacements at once one set is left (as above); UserGone when the user is gone,
 * FactorRemovedMeanwhile when the factor is (a removal takes the user's row too).
 */
export async function replaceRecoveryCodes(
  userId: string,
  factorId: string,
  codeHashes: readonly string[],
  notice?: MailKeptByChange,
  sessionId?: string,
): Promise<void> {
  await db().$transaction(async (tx) => {
    if (!(await takeUserRow(tx, userId))) throw new UserGone();
    await sessionStillLive(tx, userId, sessionId);
    if ((await tx.mfaFactor.count({ where: { id: factorId, userId } })) === 0) throw new FactorRemovedMeanwhile();
    await tx.mfaRecoveryCode.deleteMany({ where: { factorId } });
    await tx.mfaRecoveryCode.createMany({ data: codeHashes.map((codeHash) => ({ factorId, codeHash })) });
    await keepMailIn(tx, notice);
  });
}
