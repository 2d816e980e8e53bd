import { db, sqlExecute, sqlLimit } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { settings } from "@/lib/platform/env.ts";
import { logger } from "@/lib/platform/logger.ts";
import { MAIL_WINDOW_MS } from "@/lib/oauth/store/account-tokens.ts";
import { forgetStaleMails, KEPT_MAIL_MAX_AGE_MS } from "@/lib/oauth/store/pending-mails.ts";

/** How many rows of each kind a prune deleted. */
export interface Pruned {
  refreshTokens: number;
  sessions: number;
  revokedAccessTokens: number;
  failedLogins: number;
  knownAddresses: number;
  mfaChallenges: number;
  clientAssertions: number;
  dpopProofs: number;
  /** Mailed links (password reset, email verification) past their expiry and out of the mail limit's hour. */
  accountTokens: number;
  auditEvents: number;
  /** Kept mails to users that no server with mail sent or gave up (KEPT_MAIL_MAX_AGE_MS). */
  pendingMails: number;
}

const DAY_MS = 86_400_000;

/** Yields to the event loop between batches, so that requests are served meanwhile. */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Deletes, `batch` rows at a time, the rows of `table` that `where` selects, until a batch comes
 * back short: each batch one statement, its rows named by `key` (the table's key columns) in a subquery,
 * the form SQLite and PostgreSQL both read. Plain SQL on the driver: retention runs in every
 * server every PRUNE_INTERVAL_SECONDS, so it is part of its steady state (lib/platform/db.ts).
 */
async function inBatches(table: string, key: readonly string[], where: Prisma.Sql, batch: number): Promise<number> {
  const columns = key.map((column) => `"${column}"`).join(", ");
  const [from, keys, selected] = [Prisma.raw(`"${table}"`), Prisma.raw(key.length === 1 ? columns : `(${columns})`), Prisma.raw(columns)];
  let total = 0;
  for (;;) {
    const deleted = await sqlExecute(
      db(),
      Prisma.sql`DELETE FROM ${from} WHERE ${keys} IN (SELECT ${selected} FROM ${from} WHERE ${where} ${sqlLimit(batch)})`,
    );
    total += deleted;
    if (deleted < batch) return total;
    await breathe();
  }
}

/**
 * Forgets the kept mails no server with mail has sent or given up KEPT_MAIL_MAX_AGE_MS after their
 * change (a sweep gives a mail up a day after it; only servers without SMTP_URL leave one that
 * long), each the error `mail.undelivered` naming its user, as a sweep's giving up is: the row holds
 * what the user was to be told, and for an address change their old address.
 */
async function forgetStale(now: Date, batch: number): Promise<number> {
  let total = 0;
  for (;;) {
    const forgotten = await forgetStaleMails(new Date(now.getTime() - KEPT_MAIL_MAX_AGE_MS), now, batch);
    for (const { job, userId, attempts } of forgotten) {
      logger.error(
        { event: "mail.undelivered", job, userId, attempts, err: "no server with mail sent it" },
        `${job}: the user was not mailed, forgotten unsent`,
      );
    }
    total += forgotten.length;
    if (forgotten.length < batch) return total;
    await breathe();
  }
}

/**
 * Removes what no longer counts for anything: refresh tokens and sessions past their expiry
 * (every token of a session ends with it), denylist entries past the access token's expiry,
 * failed sign-ins older than the lockout window, addresses not signed in from within
 * LOCKOUT_KNOWN_ADDRESS_DAYS, expired mfa_tokens, the jti of expired client assertions and DPoP proofs, mailed links
 * both expired and older than the mail limit's hour (they are what it counts), audit events older than AUDIT_RETENTION_DAYS, and kept
 * mails to users no server with mail took (forgetStale). In small
 * batches, each its own short statement, so that a prune never holds the database for long.
 */
export async function pruneExpired(now = new Date(), batch = 500): Promise<Pruned> {
  const s = settings();
  const before = (ms: number) => new Date(now.getTime() - ms);
  return {
    refreshTokens: await inBatches("RefreshToken", ["tokenHash"], Prisma.sql`"expiresAt" < ${now}`, batch),
    sessions: await inBatches("Session", ["id"], Prisma.sql`"expiresAt" < ${now}`, batch),
    revokedAccessTokens: await inBatches("RevokedAccessToken", ["jti"], Prisma.sql`"expiresAt" < ${now}`, batch),
    failedLogins: await inBatches("FailedLogin", ["id"], Prisma.sql`"createdAt" < ${before(s.LOCKOUT_WINDOW_SECONDS * 1000)}`, batch),
    knownAddresses: await inBatches(
      "KnownAddress",
      ["userId", "address"],
      Prisma.sql`"lastSignInAt" < ${before(s.LOCKOUT_KNOWN_ADDRESS_DAYS * DAY_MS)}`,
      batch,
    ),
    mfaChallenges: await inBatches("MfaChallenge", ["tokenHash"], Prisma.sql`"expiresAt" < ${now}`, batch),
    clientAssertions: await inBatches("UsedClientAssertion", ["id"], Prisma.sql`"expiresAt" < ${now}`, batch),
    dpopProofs: await inBatches("UsedDpopProof", ["id"], Prisma.sql`"expiresAt" < ${now}`, batch),
    accountTokens: await inBatches("AccountToken", ["tokenHash"], Prisma.sql`"expiresAt" < ${now} AND "createdAt" < ${before(MAIL_WINDOW_MS)}`, batch),
    auditEvents: await inBatches("AuditEvent", ["id"], Prisma.sql`"createdAt" < ${before(s.AUDIT_RETENTION_DAYS * DAY_MS)}`, batch),
    pendingMails: await forgetStale(now, batch),
  };
}

// One pruning timer per process, started by the first request; kept on globalThis so that
// `next dev` reloads do not start another (and a shutdown stops it: lib/platform/leftover-work.ts).
const state = ((globalThis as Record<symbol, unknown>)[Symbol.for("ropc.pruning")] ??= {}) as { timer?: NodeJS.Timeout; running?: Promise<void> };

/** Prunes every PRUNE_INTERVAL_SECONDS in the background (never two runs at once); 0 turns it off. */
export function startPruning(): void {
  if (state.timer !== undefined) return;
  const interval = settings().PRUNE_INTERVAL_SECONDS * 1000;
  state.timer = setInterval(() => {
    if (state.running !== undefined || interval === 0) return;
    state.running = pruneExpired()
      .then((pruned) => logger.info({ event: "retention.pruned", ...pruned }, "pruned expired rows"))
      .catch((err: unknown) => logger.error({ err }, "pruning failed"))
      .finally(() => {
        state.running = undefined;
      });
  }, interval || 3_600_000).unref();
}

/** Stops the background pruning and waits for a run under way to end (a later request starts it again). */
export async function stopPruning(): Promise<void> {
  clearInterval(state.timer);
  state.timer = undefined;
  await state.running;
}
