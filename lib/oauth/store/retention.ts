import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { logger } from "@/lib/platform/logger.ts";
import { MAIL_WINDOW_MS } from "@/lib/oauth/store/account-tokens.ts";

/** How many rows of each kind a prune deleted. */
export interface Pruned {
  refreshTokens: number;
  sessions: number;
  revokedAccessTokens: number;
  failedLogins: number;
  knownAddresses: number;
  mfaChallenges: number;
  clientAssertions: number;
  /** Mailed links (password reset, email verification) past their expiry and out of the mail limit's hour. */
  accountTokens: number;
  auditEvents: number;
}

const DAY_MS = 86_400_000;

/** Yields to the event loop between batches, so that requests are served meanwhile. */
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Deletes, `batch` rows at a time, what `take` finds, until it finds fewer than a batch. */
async function inBatches<K>(take: (batch: number) => Promise<K[]>, remove: (keys: K[]) => Promise<number>, batch: number): Promise<number> {
  let total = 0;
  for (;;) {
    const keys = await take(batch);
    if (keys.length > 0) total += await remove(keys);
    if (keys.length < batch) return total;
    await breathe();
  }
}

/**
 * Removes what no longer counts for anything: refresh tokens and sessions past their expiry
 * (every token of a session ends with it), denylist entries past the access token's expiry,
 * failed sign-ins older than the lockout window, addresses not signed in from within
 * LOCKOUT_KNOWN_ADDRESS_DAYS, expired mfa_tokens, the jti of expired client assertions, mailed links
 * both expired and older than the mail limit's hour (they are what it counts), and audit events older than AUDIT_RETENTION_DAYS. In small
 * batches, each its own short statement, so that a prune never holds the database for long.
 */
export async function pruneExpired(now = new Date(), batch = 500): Promise<Pruned> {
  const s = settings();
  const before = (ms: number) => new Date(now.getTime() - ms);
  const client = db();
  const byId = async <T extends { id: string }>(rows: Promise<T[]>) => (await rows).map((r) => r.id);
  return {
    refreshTokens: await inBatches(
      async (take) => (await client.refreshToken.findMany({ where: { expiresAt: { lt: now } }, select: { tokenHash: true }, take })).map((r) => r.tokenHash),
      async (keys) => (await client.refreshToken.deleteMany({ where: { tokenHash: { in: keys } } })).count,
      batch,
    ),
    sessions: await inBatches(
      (take) => byId(client.session.findMany({ where: { expiresAt: { lt: now } }, select: { id: true }, take })),
      async (ids) => (await client.session.deleteMany({ where: { id: { in: ids } } })).count,
      batch,
    ),
    revokedAccessTokens: await inBatches(
      async (take) => (await client.revokedAccessToken.findMany({ where: { expiresAt: { lt: now } }, select: { jti: true }, take })).map((r) => r.jti),
      async (keys) => (await client.revokedAccessToken.deleteMany({ where: { jti: { in: keys } } })).count,
      batch,
    ),
    failedLogins: await inBatches(
      (take) => byId(client.failedLogin.findMany({ where: { createdAt: { lt: before(s.LOCKOUT_WINDOW_SECONDS * 1000) } }, select: { id: true }, take })),
      async (ids) => (await client.failedLogin.deleteMany({ where: { id: { in: ids } } })).count,
      batch,
    ),
    knownAddresses: await inBatches(
      (take) =>
        client.knownAddress.findMany({
          where: { lastSignInAt: { lt: before(s.LOCKOUT_KNOWN_ADDRESS_DAYS * DAY_MS) } },
          select: { userId: true, address: true },
          take,
        }),
      async (keys) => (await client.knownAddress.deleteMany({ where: { OR: keys } })).count,
      batch,
    ),
    mfaChallenges: await inBatches(
      async (take) => (await client.mfaChallenge.findMany({ where: { expiresAt: { lt: now } }, select: { tokenHash: true }, take })).map((r) => r.tokenHash),
      async (keys) => (await client.mfaChallenge.deleteMany({ where: { tokenHash: { in: keys } } })).count,
      batch,
    ),
    clientAssertions: await inBatches(
      (take) => byId(client.usedClientAssertion.findMany({ where: { expiresAt: { lt: now } }, select: { id: true }, take })),
      async (ids) => (await client.usedClientAssertion.deleteMany({ where: { id: { in: ids } } })).count,
      batch,
    ),
    accountTokens: await inBatches(
      async (take) =>
        (
          await client.accountToken.findMany({
            where: { expiresAt: { lt: now }, createdAt: { lt: before(MAIL_WINDOW_MS) } },
            select: { tokenHash: true },
            take,
          })
        ).map((r) => r.tokenHash),
      async (keys) => (await client.accountToken.deleteMany({ where: { tokenHash: { in: keys } } })).count,
      batch,
    ),
    auditEvents: await inBatches(
      (take) => byId(client.auditEvent.findMany({ where: { createdAt: { lt: before(s.AUDIT_RETENTION_DAYS * DAY_MS) } }, select: { id: true }, take })),
      async (ids) => (await client.auditEvent.deleteMany({ where: { id: { in: ids } } })).count,
      batch,
    ),
  };
}

// One pruning timer per process, started by the first request; kept on globalThis so that
// `next dev` reloads do not start another.
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
