import { db } from "@/lib/db.ts";
import { settings } from "@/lib/env.ts";
import { TooManyAttempts } from "@/lib/oauth/errors.ts";

export interface AttemptKey {
  workspaceId: string;
  username: string;
  ip: string;
}

/** A password attempt let through to verification. Unless it succeeds, it stays counted. */
export interface Attempt {
  /** The attempt succeeded: that username's failures from that address are forgiven. */
  succeeded(): Promise<void>;
}

const PRUNE_EVERY_MS = 60_000;
let lastPrune = 0;

/**
 * The brute-force defence of the password grant (RFC 6749 §4.3.2, RFC 9700 §2.4). Failures are
 * counted in the database, so they survive a restart and are shared by every process: per
 * (username, IP) and per IP over a sliding window. The attempt is recorded *before* the count,
 * so that a burst of concurrent guesses cannot all slip under the limit; a refused attempt
 * removes its own row (it verified nothing) and answers 429 without verifying the password.
 * Unknown usernames are counted and locked alike, so a lockout says nothing about existence.
 */
export async function beginAttempt(key: AttemptKey, now = new Date()): Promise<Attempt> {
  const { LOCKOUT_USER_IP_LIMIT: userIpLimit, LOCKOUT_IP_LIMIT: ipLimit, LOCKOUT_WINDOW_SECONDS: window } = settings();
  const since = new Date(now.getTime() - window * 1000);
  const row = await db().failedLogin.create({ data: { ...key, createdAt: now }, select: { id: true } });
  const recent = await db().failedLogin.findMany({
    where: { workspaceId: key.workspaceId, ip: key.ip, createdAt: { gt: since } },
    select: { id: true, username: true, createdAt: true },
    orderBy: { createdAt: "asc" },
    take: ipLimit + 1,
  });
  const mine = recent.filter((r) => r.username === key.username);
  const over = recent.length > ipLimit ? recent : mine.length > userIpLimit ? mine : undefined;
  if (over) {
    await db().failedLogin.delete({ where: { id: row.id } });
    const oldest = over[0]?.createdAt ?? now;
    const retryAfter = Math.max(1, Math.ceil((oldest.getTime() + window * 1000 - now.getTime()) / 1000));
    throw new TooManyAttempts(retryAfter, over === mine ? "locked: username from this address" : "locked: this address");
  }
  if (now.getTime() - lastPrune > PRUNE_EVERY_MS) {
    lastPrune = now.getTime();
    await pruneFailures(now);
  }
  return {
    async succeeded() {
      await db().failedLogin.deleteMany({ where: { workspaceId: key.workspaceId, username: key.username, ip: key.ip } });
    },
  };
}

/** Drops counted failures older than the window (they no longer count); run now and then. */
export async function pruneFailures(now = new Date()): Promise<number> {
  const since = new Date(now.getTime() - settings().LOCKOUT_WINDOW_SECONDS * 1000);
  const { count } = await db().failedLogin.deleteMany({ where: { createdAt: { lt: since } } });
  return count;
}
