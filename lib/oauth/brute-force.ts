import { randomUUID } from "node:crypto";
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

// This process's attempts that the database may not show yet, by address and by
// username+address: those being verified, and failures for a while after their row was written
// (a read that started earlier may have missed it). Each attempt has the id its failure row gets,
// so an attempt seen both here and in the database counts once. Safe to lose (a restart ends
// them; by then the rows are there).
interface Pending {
  at: number;
  failed: boolean;
}
const pending = new Map<string, Map<string, Pending>>();
const RECENT_MS = 10_000;

const keysOf = (key: AttemptKey) => {
  const ip = `${key.workspaceId} ${key.ip}`;
  return { ip, user: `${ip} ${key.username}` };
};

function enter(key: string, id: string, entry: Pending) {
  let map = pending.get(key);
  if (!map) pending.set(key, (map = new Map()));
  map.set(id, entry);
}

function leave(key: string, id: string) {
  const map = pending.get(key);
  map?.delete(id);
  if (map?.size === 0) pending.delete(key);
}

/** Failures in the window, from the database and from this process, each attempt once. */
function count(rows: readonly RecentFailure[], key: string, since: number): number {
  const ids = new Set(rows.map((r) => r.id));
  for (const [id, entry] of pending.get(key) ?? []) if (entry.at > since) ids.add(id);
  return ids.size;
}

const PRUNE_EVERY_MS = 60_000;
let lastPrune = 0;

/**
 * The brute-force defence of the password grant (RFC 6749 §4.3.2, RFC 9700 §2.4). Failures are
 * counted in the database, so they survive a restart and are shared by every process: per
 * (username, IP) and per IP over a sliding window. Over the limit the attempt is refused (429)
 * without verifying the password. This process's attempts still being verified, or failed too
 * recently for every read to show them, count too, so a burst cannot slip under the limit.
 * Unknown usernames are counted and locked alike, so a lockout says nothing about whether a user
 * exists. `failures` are the newest failures from the address (users.ts reads them with the
 * user, in one query), at least the IP limit of them.
 */
export function admitAttempt(key: AttemptKey, failures: readonly RecentFailure[], now = Date.now()): Attempt {
  const { LOCKOUT_USER_IP_LIMIT: userIpLimit, LOCKOUT_IP_LIMIT: ipLimit, LOCKOUT_WINDOW_SECONDS: window } = settings();
  const since = now - window * 1000;
  const recent = failures.filter((f) => f.at > since);
  const mine = recent.filter((f) => f.username === key.username);
  const keys = keysOf(key);
  const overIp = count(recent, keys.ip, since) >= ipLimit;
  const overUser = count(mine, keys.user, since) >= userIpLimit;
  if (overIp || overUser) {
    const counted = overUser ? mine : recent;
    const oldest = counted.at(-1)?.at ?? now;
    const retryAfter = Math.max(1, Math.ceil((oldest + window * 1000 - now) / 1000));
    throw new TooManyAttempts(retryAfter, overUser ? "locked: username from this address" : "locked: this address");
  }
  const id = randomUUID();
  const entry: Pending = { at: now, failed: false };
  enter(keys.ip, id, entry);
  enter(keys.user, id, entry);
  let done = false;
  const exit = () => {
    leave(keys.ip, id);
    leave(keys.user, id);
  };
  return {
    async succeeded() {
      if (done) return;
      done = true;
      exit();
      // Forgiven: this username's failures from this address, here and in the database.
      let forgiven = mine.length;
      for (const [other, e] of pending.get(keys.user) ?? []) {
        if (e.failed) {
          leave(keys.user, other);
          leave(keys.ip, other);
          forgiven += 1;
        }
      }
      if (forgiven > 0) await db().failedLogin.deleteMany({ where: { workspaceId: key.workspaceId, username: key.username, ip: key.ip } });
    },
    release() {
      if (done) return;
      done = true;
      exit();
    },
    async failed() {
      if (done) return;
      done = true;
      entry.failed = true;
      try {
        await db().failedLogin.create({ data: { id, ...key, createdAt: new Date(now) }, select: { id: true } });
      } finally {
        setTimeout(exit, Math.min(RECENT_MS, window * 1000)).unref();
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
