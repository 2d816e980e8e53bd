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
// of concurrent guesses counts before any of them has failed. A failed attempt leaves only once
// its row is committed. Safe to lose (a restart ends them).
const inFlight = new Map<string, Set<symbol>>();
const keysOf = (key: AttemptKey) => {
  const ip = `${key.workspaceId} ${key.ip}`;
  return { ip, user: `${ip} ${key.username}` };
};

/** The attempts in flight for `key`, taken before reading the failures from the database. */
export interface InFlightSnapshot {
  ip: ReadonlySet<symbol>;
  user: ReadonlySet<symbol>;
}

export function inFlightSnapshot(key: AttemptKey): InFlightSnapshot {
  const k = keysOf(key);
  return { ip: new Set(inFlight.get(k.ip)), user: new Set(inFlight.get(k.user)) };
}

// Those in flight before or after the database read: an attempt that ended in between is in the
// read (its row was committed before it left) or in the snapshot.
const liveCount = (before: ReadonlySet<symbol>, key: string) => new Set([...before, ...(inFlight.get(key) ?? [])]).size;

function enter(key: string, id: symbol) {
  let set = inFlight.get(key);
  if (!set) inFlight.set(key, (set = new Set()));
  set.add(id);
}

function leave(key: string, id: symbol) {
  const set = inFlight.get(key);
  set?.delete(id);
  if (set?.size === 0) inFlight.delete(key);
}

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
export function admitAttempt(key: AttemptKey, failures: readonly RecentFailure[], before: InFlightSnapshot = inFlightSnapshot(key), now = Date.now()): Attempt {
  const { LOCKOUT_USER_IP_LIMIT: userIpLimit, LOCKOUT_IP_LIMIT: ipLimit, LOCKOUT_WINDOW_SECONDS: window } = settings();
  const since = now - window * 1000;
  const recent = failures.filter((f) => f.at > since);
  const mine = recent.filter((f) => f.username === key.username);
  const keys = keysOf(key);
  const overIp = recent.length + liveCount(before.ip, keys.ip) >= ipLimit;
  const overUser = mine.length + liveCount(before.user, keys.user) >= userIpLimit;
  if (overIp || overUser) {
    const counted = overUser ? mine : recent;
    const oldest = counted.at(-1)?.at ?? now;
    const retryAfter = Math.max(1, Math.ceil((oldest + window * 1000 - now) / 1000));
    throw new TooManyAttempts(retryAfter, overUser ? "locked: username from this address" : "locked: this address");
  }
  const id = Symbol("attempt");
  enter(keys.ip, id);
  enter(keys.user, id);
  let done = false;
  const finish = () => {
    if (done) return false;
    done = true;
    return true;
  };
  const exit = () => {
    leave(keys.ip, id);
    leave(keys.user, id);
  };
  return {
    async succeeded() {
      if (!finish()) return;
      exit();
      if (mine.length > 0) await db().failedLogin.deleteMany({ where: { workspaceId: key.workspaceId, username: key.username, ip: key.ip } });
    },
    release() {
      if (finish()) exit();
    },
    async failed() {
      if (!finish()) return;
      try {
        await db().failedLogin.create({ data: { ...key, createdAt: new Date() }, select: { id: true } });
      } finally {
        exit();
      }
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
