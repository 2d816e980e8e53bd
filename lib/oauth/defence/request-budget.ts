import { settings } from "@/lib/platform/env.ts";
import { TooManyRequests } from "@/lib/oauth/protocol/errors.ts";
import { registerCache } from "@/lib/platform/caches.ts";

// Unauthenticated failures (unknown client, wrong client secret, malformed request, unknown
// workspace, invalid bearer token) per address group in the current minute. Per process, in
// memory: it is there to keep junk from costing writes and log lines, so it must cost neither
// itself. Safe to lose; bounded (past MAX_ADDRESSES it starts the minute over).
const MAX_ADDRESSES = 100_000;
let minute = 0;
const failures = registerCache("unauthenticated failure budget", new Map<string, number>(), "state");

// Past MAX_ADDRESSES groups in one minute, new ones share this bucket: an attacker with more
// addresses than that cannot wipe the others' counts, only exhaust the shared one.
const OVERFLOW = "overflow";

function turn(now: number): void {
  const current = Math.floor(now / 60_000);
  if (current !== minute) {
    minute = current;
    failures.clear();
  }
}

const bucket = (group: string) => (failures.has(group) || failures.size < MAX_ADDRESSES ? group : OVERFLOW);

/**
 * Refuses (429, `Retry-After` until the minute ends) an address group that has spent its
 * UNAUTHENTICATED_FAILURE_LIMIT for this minute, before anything about the request is read or
 * written.
 */
export function assertWithinBudget(group: string, now = Date.now()): void {
  turn(now);
  if ((failures.get(bucket(group)) ?? 0) >= settings().UNAUTHENTICATED_FAILURE_LIMIT) {
    throw new TooManyRequests(Math.max(1, Math.ceil((60_000 - (now % 60_000)) / 1000)));
  }
}

/** Counts one unauthenticated failure of an address group. */
export function spendBudget(group: string, now = Date.now()): void {
  turn(now);
  const key = bucket(group);
  failures.set(key, (failures.get(key) ?? 0) + 1);
}
