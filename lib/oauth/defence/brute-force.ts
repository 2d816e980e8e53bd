import { randomUUID } from "node:crypto";
import { settings } from "@/lib/platform/env.ts";
import { TooManyAttempts } from "@/lib/oauth/protocol/errors.ts";
import { forgiveFailures, pruneFailures, recordFailure, type FailureKey } from "@/lib/oauth/store/failed-logins.ts";
import { isKnownAddress, type AttemptHistory, type RecentFailure } from "@/lib/oauth/model/user.ts";
import { registerCache } from "@/lib/platform/caches.ts";

/** Whose attempt: a password for a username, or a secret for a client, from an address group. */
export type AttemptKey = FailureKey;

/** An attempt let through to verification: it ends as a success or a failure. */
export interface Attempt {
  /** That name's failures from that address are forgiven. */
  succeeded(): Promise<void>;
  /** The failure is counted (in the database: every process sees it). */
  failed(): Promise<void>;
  /** Neither: the attempt ended in a fault of ours, so it is not counted. */
  release(): void;
}

// This process's attempts that the database may not show yet, by address, by name+address and
// by account: those being verified, and failures for a while after their row was written (a read
// that started earlier may have missed it). Each attempt has the id its failure row gets, so an
// attempt seen both here and in the database counts once. Safe to lose (a restart ends them; by
// then the rows are there).
interface Pending {
  at: number;
  failed: boolean;
}
const pending = registerCache("attempts in flight", new Map<string, Map<string, Pending>>(), "state");
const RECENT_MS = 10_000;

const keysOf = (key: AttemptKey) => {
  const ip = `${key.workspaceId} ${key.kind} ${key.ip}`;
  return { ip, name: `${ip} ${key.name}`, account: `${key.workspaceId} ${key.kind} account ${key.name}` };
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

/** This process's attempts on an account still being verified (their rows do not exist yet). */
function inFlight(key: string): number {
  let n = 0;
  for (const entry of pending.get(key)?.values() ?? []) if (!entry.failed) n += 1;
  return n;
}

/**
 * The failure whose leaving the window brings them below `limit` (its time: Retry-After counts from
 * it): the limit-th newest, each once. There may be more than `limit` (a known user's failures at
 * an address add to it past its limit), and the oldest of them leaves first.
 */
function belowLimitFrom(rows: readonly RecentFailure[], limit: number): number | undefined {
  const times = [...new Map(rows.map((r) => [r.id, r.at])).values()].sort((a, b) => b - a);
  return times[limit - 1] ?? times.at(-1);
}

const PRUNE_EVERY_MS = 60_000;
let lastPrune = 0;

/**
 * The brute-force defence of the password grant (RFC 6749 §4.3.2, RFC 9700 §2.4) and of client
 * secrets. Failures are counted in the database, so they survive a restart and are shared by
 * every process, over a sliding window, at three levels:
 * - per (name, address): LOCKOUT_USER_IP_LIMIT, always;
 * - per address: LOCKOUT_IP_LIMIT, except for a user who signed in from that address within
 *   LOCKOUT_KNOWN_ADDRESS_DAYS (a shared NAT must not lock its regular users out);
 * - per account, from every address: LOCKOUT_ACCOUNT_LIMIT (ASVS 5.0 §6.3.1), except from the
 *   user's known addresses, so that a distributed guesser can neither go on guessing nor lock
 *   the real user out of her usual places.
 * Over a limit the attempt is refused (429) without verifying anything. Unknown usernames are
 * counted and locked alike, so a lockout says nothing about whether a user exists.
 */
export function admitAttempt(key: AttemptKey, history: AttemptHistory, now = Date.now()): Attempt {
  const s = settings();
  const window = s.LOCKOUT_WINDOW_SECONDS * 1000;
  const since = now - window;
  const known = isKnownAddress(history.knownSince, now);
  const recent = history.failures.filter((f) => f.at > since);
  const mine = recent.filter((f) => f.username === key.name);
  const keys = keysOf(key);
  const refuse = (counted: number | null | undefined, reason: string) => {
    const retryAfter = Math.max(1, Math.ceil(((counted ?? now) + window - now) / 1000));
    return new TooManyAttempts(retryAfter, reason);
  };
  if (count(mine, keys.name, since) >= s.LOCKOUT_USER_IP_LIMIT)
    throw refuse(belowLimitFrom(mine, s.LOCKOUT_USER_IP_LIMIT), `locked: ${key.kind === "user" ? "username" : "client"} from this address`);
  if (!known && count(recent, keys.ip, since) >= s.LOCKOUT_IP_LIMIT) throw refuse(belowLimitFrom(recent, s.LOCKOUT_IP_LIMIT), "locked: this address");
  if (key.kind === "user" && !known && history.account.count + inFlight(keys.account) >= s.LOCKOUT_ACCOUNT_LIMIT) {
    throw refuse(history.account.oldest, "locked: account");
  }
  const id = randomUUID();
  const entry: Pending = { at: now, failed: false };
  for (const k of Object.values(keys)) enter(k, id, entry);
  let done = false;
  const exit = () => {
    for (const k of Object.values(keys)) leave(k, id);
  };
  return {
    async succeeded() {
      if (done) return;
      done = true;
      exit();
      // Forgiven: this name's failures from this address, here and in the database.
      let forgiven = mine.length;
      for (const [other, e] of pending.get(keys.name) ?? []) {
        if (e.failed) {
          for (const k of Object.values(keys)) leave(k, other);
          forgiven += 1;
        }
      }
      if (forgiven > 0) await forgiveFailures(key);
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
        await recordFailure(id, key, new Date(now));
      } finally {
        setTimeout(exit, Math.min(RECENT_MS, window)).unref();
      }
      if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
        lastPrune = Date.now();
        await pruneFailures();
      }
    },
  };
}
