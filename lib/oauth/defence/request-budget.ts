import { settings } from "@/lib/platform/env.ts";
import { addressGroup, addressNetwork } from "@/lib/platform/client-address.ts";
import { TooManyRequests } from "@/lib/oauth/protocol/errors.ts";
import { registerCache } from "@/lib/platform/caches.ts";

// Unauthenticated failures (unknown client, wrong client secret, malformed request, unknown
// workspace, invalid bearer token) per address group in the current minute. Per process, in
// memory: it is there to keep junk from costing writes and log lines, so it must cost neither
// itself. Safe to lose; bounded, and cleared when the minute turns.
//
// Past MAX_GROUPS groups in one minute, a new group is counted with its wider network (an IPv6
// /48, an IPv4 /24), past MAX_NETWORKS of those too it is not counted at all. An attacker with
// more addresses than that can neither wipe the others' counts nor spend a budget that others
// share: only their own networks'. (A single bucket shared past the bound was one whom ~1,700 junk
// requests a second from two IPv6 /48s could spend for every address new in that minute.)
const MAX_GROUPS = 100_000;
const MAX_NETWORKS = 10_000;
let minute = 0;
const groups = registerCache("unauthenticated failure budget", new Map<string, number>(), "state");
const networks = registerCache("unauthenticated failure budget of networks", new Map<string, number>(), "state");

function turn(now: number): void {
  const current = Math.floor(now / 60_000);
  if (current !== minute) {
    minute = current;
    groups.clear();
    networks.clear();
  }
}

/** Where a caller's failures are counted: its group's count, else its network's, else nowhere. */
function counter(ip: string, budget: string | undefined): { counts: Map<string, number>; key: string } | undefined {
  const prefix = budget === undefined ? "" : `${budget} `;
  const group = prefix + addressGroup(ip);
  if (groups.has(group) || groups.size < MAX_GROUPS) return { counts: groups, key: group };
  const network = prefix + addressNetwork(ip);
  if (networks.has(network) || networks.size < MAX_NETWORKS) return { counts: networks, key: network };
  return undefined;
}

/**
 * Refuses (429, `Retry-After` until the minute ends) a caller whose address group (or network,
 * see above) has spent its UNAUTHENTICATED_FAILURE_LIMIT for this minute, before anything about
 * the request is read or written. `budget`: a route's own budget (RouteOptions.budget), apart
 * from the one all other routes share.
 */
export function assertWithinBudget(ip: string, budget?: string, now = Date.now()): void {
  turn(now);
  const at = counter(ip, budget);
  if (at && (at.counts.get(at.key) ?? 0) >= settings().UNAUTHENTICATED_FAILURE_LIMIT) {
    throw new TooManyRequests(Math.max(1, Math.ceil((60_000 - (now % 60_000)) / 1000)));
  }
}

/** Counts one unauthenticated failure of a caller. */
export function spendBudget(ip: string, budget?: string, now = Date.now()): void {
  turn(now);
  const at = counter(ip, budget);
  if (at) at.counts.set(at.key, (at.counts.get(at.key) ?? 0) + 1);
}
