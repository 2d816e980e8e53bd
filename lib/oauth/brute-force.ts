import { db } from "@/lib/db.ts";
import { settings } from "@/lib/env.ts";
import { TooManyAttempts } from "@/lib/oauth/errors.ts";
import type { RecentFailure } from "@/lib/oauth/users.ts";

export interface AttemptKey {
  workspaceId: string;
  username: string;
  ip: string;
}

/** A password attempt let through to verification: it ends as a success or a failure. */
export interface Attempt {
  /** That username's failures from that address are forgiven. */
  succeeded(): Promise<void>;
  /** The failure is counted (in the database: every process sees it). */
  failed(): Promise<void>;
  /** Neither: the attempt ended in a fault of ours, so it is not counted. */
  release(): void;
}

// Attempts being verified right now in this process, by address and by username+address: a burst
// of concurrent guesses counts before any of them has failed. Safe to lose (a restart ends them).
const inFlight = new Map<string, number>();
const bump = (key: string, by: number) => {
  const n = (inFlight.get(key) ?? 0) + by;
  if (n > 0) inFlight.set(key, n);
  else inFlight.delete(key);
};

const PRUNE_EVERY_MS = 60_000;
let lastPrune = 0;

/**
 * The brute-force defence of the password grant (RFC 6749 §4.3.2, RFC 9700 §2.4). Failures are
 * counted in the database, so they survive a restart and are shared by every process: per
 * (username, IP) and per IP over a sliding window. Over the limit the attempt is refused (429)
 * without verifying the password. Attempts still being verified in this process count too, so a
 * burst cannot slip under the limit. Unknown usernames are counted and locked alike, so a
 * lockout says nothing about whether a user exists. `failures` are the newest failures from the
 * address (users.ts reads them with the user, in one query), at least the IP limit of them.
 */
export function admitAttempt(key: AttemptKey, failures: readonly RecentFailure[], now = Date.now()): Attempt {
  const { LOCKOUT_USER_IP_LIMIT: userIpLimit, LOCKOUT_IP_LIMIT: ipLimit, LOCKOUT_WINDOW_SECONDS: window } = settings();
  const since = now - window * 1000;
  const recent = failures.filter((f) => f.at > since);
  const mine = recent.filter((f) => f.username === key.username);
  const ipKey = `${key.workspaceId} ${key.ip}`;
  const userKey = `${ipKey} ${key.username}`;
  const overIp = recent.length + (inFlight.get(ipKey) ?? 0) >= ipLimit;
  const overUser = mine.length + (inFlight.get(userKey) ?? 0) >= userIpLimit;
  if (overIp || overUser) {
    const counted = overUser ? mine : recent;
    const oldest = counted.at(-1)?.at ?? now;
    const retryAfter = Math.max(1, Math.ceil((oldest + window * 1000 - now) / 1000));
    throw new TooManyAttempts(retryAfter, overUser ? "locked: username from this address" : "locked: this address");
  }
  bump(ipKey, 1);
  bump(userKey, 1);
  let done = false;
  const finish = () => {
    if (done) return false;
    done = true;
    bump(ipKey, -1);
    bump(userKey, -1);
    return true;
  };
  return {
    async succeeded() {
      if (finish() && mine.length > 0) {
        await db().failedLogin.deleteMany({ where: { workspaceId: key.workspaceId, username: key.username, ip: key.ip } });
      }
    },
    release() {
      finish();
    },
    async failed() {
      if (!finish()) return;
      await db().failedLogin.create({ data: { ...key, createdAt: new Date() }, select: { id: true } });
      if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
        lastPrune = Date.now();
        await pruneFailures();
      }
    },
  };
}

/** Drops counted failures older than the window (they no longer count). */
export async function pruneFailures(now = new Date()): Promise<number> {
  const since = new Date(now.getTime() - settings().LOCKOUT_WINDOW_SECONDS * 1000);
  const { count } = await db().failedLogin.deleteMany({ where: { createdAt: { lt: since } } });
  return count;
}
