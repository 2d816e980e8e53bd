import { db, insertIfChanged, isDuplicateKeyError, isMissingRowError, sqlExecute, sqlExecuteIn, sqlLimit, sqlRows } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { endUserSessions } from "@/lib/oauth/store/sessions.ts";
import { notChangedFor, UserGone, type ProvedFrom } from "@/lib/oauth/store/credentials.ts";
import { againOnConflict } from "@/lib/platform/database-timeout.ts";
import { keepMailIn, type MailKeptByChange } from "@/lib/oauth/store/pending-mails.ts";

import { newestFirst, type AttemptHistory, type SignInUser } from "@/lib/oauth/model/user.ts";

interface Row extends Record<string, unknown> {
  kind: "user" | "failure" | "account" | "known";
  id: string | null;
  passwordHash: string | null;
  name: string | null;
  email: string | null;
  emailVerified: boolean | number | null;
  disabled: boolean | number | null;
  at: Date | string | null;
  username: string | null;
  n: number | bigint | string | null;
  mfa: boolean | number | null;
}

const time = (value: Date | string | null) => (value === null ? null : new Date(value).getTime());

/**
 * The user of a sign-in attempt (with whether they have a confirmed second factor) and the
 * address's and account's recent failures, in one round trip: the password grant's only read. Plain SQL that SQLite and PostgreSQL read alike (quoted
 * identifiers, UNION ALL, LIMIT, NULLs cast to their column's type for PostgreSQL's UNION);
 * `limit` failures are enough to decide on the address's lockout. Run straight on the driver.
 */
export async function findUserAndHistory(
  workspaceId: string,
  username: string,
  address: string,
  limit: number,
  since: Date,
  nameLimit: number,
): Promise<{ user: SignInUser | null } & AttemptHistory> {
  const rows = await sqlRows<Row>(
    db(),
    Prisma.sql`
    SELECT 'user' AS "kind", u."id", u."passwordHash", u."name", u."email", u."emailVerified", u."disabled",
      CAST(NULL AS TIMESTAMP) AS "at", u."username", CAST(NULL AS INTEGER) AS "n",
      EXISTS (SELECT 1 FROM "MfaFactor" mf WHERE mf."userId" = u."id" AND mf."confirmedAt" IS NOT NULL) AS "mfa"
    FROM "User" u WHERE u."workspaceId" = ${workspaceId} AND u."username" = ${username}
    UNION ALL
    SELECT * FROM (
      SELECT 'failure', f."id", CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
        CAST(NULL AS BOOLEAN), CAST(NULL AS BOOLEAN), f."createdAt", f."username", CAST(NULL AS INTEGER), CAST(NULL AS BOOLEAN)
      FROM "FailedLogin" f
      WHERE f."workspaceId" = ${workspaceId} AND f."ip" = ${address} AND f."kind" = 'user' ORDER BY f."createdAt" DESC ${sqlLimit(limit)}
    ) AS "recent"
    UNION ALL
    SELECT * FROM (
      SELECT 'failure', m."id", CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
        CAST(NULL AS BOOLEAN), CAST(NULL AS BOOLEAN), m."createdAt", m."username", CAST(NULL AS INTEGER), CAST(NULL AS BOOLEAN)
      FROM "FailedLogin" m
      WHERE m."workspaceId" = ${workspaceId} AND m."ip" = ${address} AND m."username" = ${username} AND m."kind" = 'user'
      ORDER BY m."createdAt" DESC ${sqlLimit(nameLimit)}
    ) AS "mine"
    UNION ALL
    SELECT 'account', CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
      CAST(NULL AS BOOLEAN), CAST(NULL AS BOOLEAN), MIN(a."createdAt"), CAST(NULL AS TEXT), COUNT(*), CAST(NULL AS BOOLEAN)
    FROM "FailedLogin" a
    WHERE a."workspaceId" = ${workspaceId} AND a."username" = ${username} AND a."kind" = 'user' AND a."createdAt" > ${since}
    UNION ALL
    SELECT 'known', CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
      CAST(NULL AS BOOLEAN), CAST(NULL AS BOOLEAN), k."lastSignInAt", CAST(NULL AS TEXT), CAST(NULL AS INTEGER), CAST(NULL AS BOOLEAN)
    FROM "KnownAddress" k JOIN "User" ku ON ku."id" = k."userId"
    WHERE ku."workspaceId" = ${workspaceId} AND ku."username" = ${username} AND k."address" = ${address}`,
  );
  let user: SignInUser | null = null;
  const history: AttemptHistory = { failures: [], account: { count: 0, oldest: null }, knownSince: null };
  for (const r of rows) {
    if (r.kind === "user" && r.id !== null && r.passwordHash !== null && r.username !== null) {
      user = {
        id: r.id,
        username: r.username,
        passwordHash: r.passwordHash,
        name: r.name,
        email: r.email,
        emailVerified: Boolean(r.emailVerified),
        disabled: Boolean(r.disabled),
        mfaEnrolled: Boolean(r.mfa),
      };
    } else if (r.kind === "failure" && r.at !== null && r.id !== null && r.username !== null) {
      history.failures.push({ id: r.id, username: r.username, at: new Date(r.at).getTime() });
    } else if (r.kind === "account") {
      history.account = { count: Number(r.n ?? 0), oldest: time(r.at) };
    } else if (r.kind === "known") {
      history.knownSince = time(r.at);
    }
  }
  history.failures = newestFirst(history.failures);
  return { user, ...history };
}

/**
 * Whether a request failed because its user was deleted while it ran: `err` is a write that
 * found a row it needed gone (`isMissingRowError`) or a `UserGone`, and the user is gone indeed.
 * False when that cannot be read: the failure stays what it was.
 */
export async function failedForUserGone(err: unknown, userId: string): Promise<boolean> {
  if (!(err instanceof UserGone) && !isMissingRowError(err)) return false;
  try {
    return (await db().user.findUnique({ where: { id: userId }, select: { id: true } })) === null;
  } catch {
    return false;
  }
}

/**
 * Takes a user's row (a lock until the transaction ends; the update changes nothing), first thing
 * in a transaction that writes for them: a deletion of the user takes it first too
 * (lib/admin/deletions.ts), so on PostgreSQL the two wait for each other rather than each for a row
 * the other holds (a deadlock, which the server ends by failing one of them); two enrolments wait
 * for each other (startEnrolment). False: the user is gone.
 */
export async function takeUserRow(tx: Prisma.TransactionClient, userId: string): Promise<boolean> {
  return (await tx.$executeRaw`UPDATE "User" SET "passwordHash" = "passwordHash" WHERE "id" = ${userId}`) === 1;
}

/** Whether the user has signed in from any address after `since`. */
export async function hasKnownAddress(userId: string, since: Date): Promise<boolean> {
  const rows = await sqlRows<{ one: unknown }>(
    db(),
    Prisma.sql`SELECT 1 AS "one" FROM "KnownAddress" WHERE "userId" = ${userId} AND "lastSignInAt" > ${since} ${sqlLimit(1)}`,
  );
  return rows.length > 0;
}

/**
 * Notes a successful sign-in from an address group, made in the session `sessionId`: written only
 * while that session is live. A change of password ends every session and forgets every address
 * in one transaction, which may come between the sign-in's session and this write: the address a
 * sign-in with the old password came from must not be known after it (it would be spared the
 * lockout's account limits). A new address is inserted only after the session's row is taken live:
 * on PostgreSQL the insert waits for the change's lock on that row, then finds the session ended; or
 * the change waits for it, then forgets the address it wrote. `known`: the sign-in found the address
 * known already, and its time is brought forward (bringForward).
 */
export async function rememberAddress(userId: string, address: string, at: Date, sessionId: string, known: boolean): Promise<void> {
  if (known && (await bringForward(userId, address, at, sessionId))) return;
  const live = Prisma.sql`UPDATE "Session" SET "endedAt" = "endedAt" WHERE "id" = ${sessionId} AND "userId" = ${userId} AND "endedAt" IS NULL`;
  try {
    await insertIfChanged(db(), live, Prisma.sql`INSERT INTO "KnownAddress" ("userId", "address", "lastSignInAt") SELECT ${userId}, ${address}, ${at}`);
  } catch (err) {
    // Another sign-in from the address wrote it first (or it was known after all).
    if (!isDuplicateKeyError(err)) throw err;
    await bringForward(userId, address, at, sessionId);
  }
}

/**
 * The address's last sign-in brought to `at`, while the session is live; false when there is no
 * such row (or the session ended). It takes no lock on the session: it only updates a row that
 * exists, which a change of password deletes either before it (then nothing is updated) or after it.
 * An insert needs the session's row taken (rememberAddress).
 */
async function bringForward(userId: string, address: string, at: Date, sessionId: string): Promise<boolean> {
  const changed = await sqlExecute(
    db(),
    Prisma.sql`UPDATE "KnownAddress" SET "lastSignInAt" = ${at} WHERE "userId" = ${userId} AND "address" = ${address}
      AND EXISTS (SELECT 1 FROM "Session" WHERE "id" = ${sessionId} AND "userId" = ${userId} AND "endedAt" IS NULL)`,
  );
  return changed === 1;
}

/**
 * A user's new password (its hash), in `tx`, the one way every change of password takes (the
 * user's own, a reset, an operator's): every session of theirs ends but the one the user changed
 * it from (`from`), and the addresses they were known from are forgotten. Whoever knew the old
 * password is signed out everywhere, and the addresses they signed in from with it are no longer
 * spared the lockout's account and address limits (lib/oauth/defence/brute-force.ts); the user's
 * own come back at their next sign-in from each. The user's own change is written only while its
 * session is live and the password the user proved is still theirs (false, and nothing changed,
 * otherwise); the condition is in the update of the user's row, which a reset's or an operator's
 * change takes first too: on PostgreSQL, of two at once the second waits, then finds the row changed.
 */
export async function replacePassword(tx: Prisma.TransactionClient, userId: string, passwordHash: string, from?: ProvedFrom): Promise<boolean> {
  if (from === undefined) await tx.user.update({ where: { id: userId }, data: { passwordHash } });
  else if (
    (await sqlExecuteIn(
      tx,
      Prisma.sql`UPDATE "User" SET "passwordHash" = ${passwordHash} WHERE "id" = ${userId} AND "passwordHash" = ${from.whilePassword}
        AND EXISTS (SELECT 1 FROM "Session" WHERE "id" = ${from.sessionId} AND "userId" = ${userId} AND "endedAt" IS NULL)`,
    )) !== 1
  )
    return false;
  await endUserSessions(userId, tx, from?.sessionId);
  await tx.knownAddress.deleteMany({ where: { userId } });
  return true;
}

/**
 * A user's own change of password, from their session `from.sessionId`, which goes on while every
 * other ends (replacePassword), with its `notice` (keepMailIn). Throws SessionEnded when that
 * session ended after the current password was checked, CredentialsChanged when the password
 * changed meanwhile (another change from the same session), UserGone when the user is. Run again
 * when PostgreSQL ends it to break a deadlock (againOnConflict): a reset takes its link's row,
 * then the user's, where this change takes the user's, then the user's links.
 */
export async function changePassword(userId: string, passwordHash: string, from: ProvedFrom, notice?: MailKeptByChange): Promise<void> {
  const changed = await againOnConflict(() =>
    db().$transaction(async (tx) => {
      if (!(await replacePassword(tx, userId, passwordHash, from))) return false;
      await keepMailIn(tx, notice);
      return true;
    }),
  );
  if (!changed) throw await notChangedFor(userId, from.sessionId);
}
