import dns from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP } from "node:net";
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { registerCache } from "@/lib/platform/caches.ts";
import { costlyRsaMember, hasPrivateMember, RSA_LIMITS } from "@/lib/oauth/protocol/jwk-limits.ts";

// A client's keys fetched from its `jwks_uri` (RFC 7591 §2) for private_key_jwt. The server makes
// the request, so the URL is the client's choice of where our server connects: the SSRF rules of
// issue #16 apply.

// Where a production server never connects on a client's behalf: loopback, private, link-local,
// shared, documentation (RFC 9637's 3fff::/20 too), benchmarking, multicast and reserved ranges
// (RFC 6890's not globally reachable ones), IPv4 and IPv6.
const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 3],
] as const)
  INTERNAL.addSubnet(net, prefix, "ipv4");
// (An IPv4-mapped IPv6 address, ::ffff:a.b.c.d, is checked against the IPv4 ranges by BlockList
// itself.) The forms that carry an IPv4 address some network may route to it are refused whole:
// IPv4-compatible (::a.b.c.d, with :: and ::1), SIIT's ::ffff:0:a.b.c.d, NAT64's prefixes (RFC
// 6052, RFC 8215), 6to4 (2002::/16) and Teredo (2001::/32).
for (const [net, prefix] of [
  ["::", 96],
  ["::ffff:0:0:0", 96],
  ["64:ff9b::", 96],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001::", 32],
  ["2001:2::", 48],
  ["2001:10::", 28],
  ["2001:db8::", 32],
  ["2002::", 16],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["3fff::", 20],
  ["ff00::", 8],
] as const)
  INTERNAL.addSubnet(net, prefix, "ipv6");

/** Whether `address` is a public unicast address (not loopback, private, link-local, …). */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !INTERNAL.check(address, family === 4 ? "ipv4" : "ipv6");
}

export interface FetchRules {
  /** Production: https only, public addresses only. */
  production: boolean;
  timeoutMs: number;
  maxBytes: number;
}

export const JWKS_URI_RULES = { timeoutMs: 3000, maxBytes: 64 * 1024 } as const;

export class JwksUriError extends Error {}

/** `work`'s result, or a JwksUriError once `end` (ms since the epoch) has passed. */
async function beforeDeadline<T>(work: Promise<T>, end: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new JwksUriError("jwks_uri timed out")), Math.max(0, end - Date.now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// DNS answers that say the name has no such address, rather than that no answer came.
const NOT_IN_DNS = new Set(["ENOTFOUND", "ENODATA"]);
// A name only this machine's hosts file or its own network can answer.
const LOCAL_NAME = /^(?:[^.]+|(?:.+\.)?localhost)\.?$/i;

/**
 * The addresses of `host`, by `end` (ms since the epoch). Asked of the DNS by c-ares on the event
 * loop, not by the system's getaddrinfo, which holds one of libuv's threads (the threads that hash
 * passwords) until the system's resolver gives up, often 10 s or more, whatever the time allowed
 * here: a client could point its jwks_uri at names whose servers never answer until no thread was
 * left for a sign-in. In production only a name no one outside can serve (a single label,
 * `localhost` and its subdomains, RFC 6761), and that the DNS says it does not know, is looked up
 * as the system does, for the hosts file's names: a name of the client's own, answered "unknown"
 * once, could be left unanswered the second time. Outside production any name the DNS did not
 * answer is (`host.docker.internal`, a machine without a DNS server).
 */
async function addressesOf(host: string, end: number, production: boolean): Promise<Array<{ address: string; family: number }>> {
  const resolver = new dns.Resolver({ timeout: Math.max(1, end - Date.now()), tries: 1 });
  const asked = await beforeDeadline(Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]), end).catch((err: unknown) => {
    resolver.cancel();
    throw err;
  });
  const addresses = asked.flatMap((answer, i) => (answer.status === "fulfilled" ? answer.value.map((address) => ({ address, family: i === 0 ? 4 : 6 })) : []));
  if (addresses.length > 0) return addresses;
  const unknown = asked.every((answer) => answer.status === "rejected" && NOT_IN_DNS.has((answer.reason as NodeJS.ErrnoException).code ?? ""));
  // Outside production (development, tests: no client to guard against) as before, whatever the DNS said.
  if (production && (!unknown || !LOCAL_NAME.test(host))) throw new JwksUriError("jwks_uri host does not resolve");
  return beforeDeadline(dns.lookup(host, { all: true, verbatim: true }), end);
}

/**
 * GETs a JWK Set from `uri`: https only and never to an internal address in production (each
 * address the name resolves to is checked, and the connection goes to the checked one, so a DNS
 * answer that changes in between cannot redirect it); no redirects; at most `maxBytes`; the whole
 * exchange, the name's lookup included, within `timeoutMs`.
 */
export async function fetchJwks(uri: string, rules: FetchRules): Promise<JSONWebKeySet> {
  const url = new URL(uri);
  if (url.protocol !== "https:" && (rules.production || url.protocol !== "http:")) throw new JwksUriError("jwks_uri must be https");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  // The time allowed covers the name's lookup too.
  const end = Date.now() + rules.timeoutMs;
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await addressesOf(host, end, rules.production);
  const pinned = addresses[0];
  if (!pinned) throw new JwksUriError("jwks_uri host does not resolve");
  if (rules.production && !addresses.every((a) => isPublicAddress(a.address))) throw new JwksUriError("jwks_uri resolves to an internal address");
  const body = await new Promise<string>((resolve, reject) => {
    const request = (url.protocol === "https:" ? https : http).get(
      url,
      {
        headers: { accept: "application/json" },
        lookup: (_host, options, callback) =>
          options.all ? callback(null, [pinned]) : (callback as (e: null, a: string, f: number) => void)(null, pinned.address, pinned.family),
      },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(new JwksUriError(`jwks_uri answered ${response.statusCode}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > rules.maxBytes) request.destroy(new JwksUriError("jwks_uri answer too large"));
          else chunks.push(chunk);
        });
        response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        response.on("error", reject);
      },
    );
    const deadline = setTimeout(() => request.destroy(new JwksUriError("jwks_uri timed out")), Math.max(0, end - Date.now()));
    request.on("close", () => clearTimeout(deadline));
    request.on("error", reject);
  });
  let set: unknown;
  try {
    set = JSON.parse(body);
  } catch {
    throw new JwksUriError("jwks_uri answer is not JSON");
  }
  if (!set || typeof set !== "object" || !Array.isArray((set as JSONWebKeySet).keys)) throw new JwksUriError("jwks_uri answer is not a JWK Set");
  // The bounds a registered set is held to (lib/admin/values.ts, clientJwks) where they concern
  // what is verified with: a key published so is trusted no less.
  for (const key of (set as JSONWebKeySet).keys as unknown[]) {
    if (!key || typeof key !== "object") throw new JwksUriError("jwks_uri answer is not a JWK Set");
    if (hasPrivateMember(key)) throw new JwksUriError("jwks_uri publishes a private or symmetric key");
    const costly = costlyRsaMember(key);
    if (costly) throw new JwksUriError(`jwks_uri answer refused: an RSA ${RSA_LIMITS[costly]}`);
  }
  return set as JSONWebKeySet;
}

// Fetched key sets by URI, each imported once (jose's local set keeps imported keys), kept for a
// bounded time and number. The client's server is asked again when the copy is CACHE_MS old (the
// copy serves meanwhile, and, should that fail, up to CACHE_MS more: a blip of the client's server
// must not lock it out), and for a kid the copy lacks, at most once a minute (forged assertions
// with made-up kids cannot make us knock at will; the copy stays when that fails). A failed first
// fetch is kept too, for less time: until then every request naming that URI fails as it did,
// without connecting. Otherwise each one would wait for the client's server again (up to the
// timeout), and a registered client could make this server knock on its URL at every request.
const CACHE_MS = 5 * 60_000;
const REFETCH_AFTER_MS = 60_000;
export const RETRY_FAILED_AFTER_MS = 30_000;
const CACHE_MAX = 1000;

interface Fetched {
  /** When the keys were fetched (or the fetch that failed began). */
  at: number;
  keys: Promise<JWTVerifyGetKey>;
  failed: boolean;
  /** When the server was last asked again; the fetch then under way, which every request that waits shares. */
  askedAgainAt: number;
  askingAgain?: Promise<JWTVerifyGetKey | undefined>;
}
const fetched = registerCache("client jwks_uri key sets", new Map<string, Fetched>(), "state");

function load(uri: string, rules: FetchRules, now: number): Promise<JWTVerifyGetKey> {
  const known = fetched.get(uri);
  if (known && now - known.at < (known.failed ? RETRY_FAILED_AFTER_MS : CACHE_MS)) return known.keys;
  if (known && !known.failed && now - known.at < 2 * CACHE_MS) {
    if (!known.askingAgain && now - known.askedAgainAt >= REFETCH_AFTER_MS) void askAgain(uri, rules, now, known);
    return known.keys;
  }
  // The oldest entry makes room (a client that changes its jwks_uri again and again must not empty
  // every other client's copy).
  if (fetched.size >= CACHE_MAX) fetched.delete(fetched.keys().next().value!);
  const keys = fetchJwks(uri, rules).then((set) => createLocalJWKSet(set));
  const entry: Fetched = { at: now, keys, failed: false, askedAgainAt: now };
  keys.catch(() => {
    entry.failed = true;
  });
  // Last in the map's order: the newest, the last to make room.
  fetched.delete(uri);
  fetched.set(uri, entry);
  return keys;
}

/** The client's keys fetched again, replacing the copy; undefined, and the copy kept, when that fails. Never rejects. */
function askAgain(uri: string, rules: FetchRules, now: number, entry: Fetched): Promise<JWTVerifyGetKey | undefined> {
  entry.askedAgainAt = now;
  const asking = fetchJwks(uri, rules)
    .then((set) => {
      // (jose refuses a set its own checks find malformed here: a failure like any other.)
      const keys = createLocalJWKSet(set);
      fetched.delete(uri);
      fetched.set(uri, { at: now, keys: Promise.resolve(keys), failed: false, askedAgainAt: now });
      return keys;
    })
    .catch(() => undefined)
    .finally(() => {
      if (entry.askingAgain === asking) delete entry.askingAgain;
    });
  entry.askingAgain = asking;
  return asking;
}

/**
 * A key the copy of a client's keys lacks, while that copy could not be fetched again (it was
 * within the last REFETCH_AFTER_MS, or the client's server failed): the client may have rotated
 * (OIDC Core §10.1.1), so this says nothing of whether its signature is right. Not a wrong key.
 */
export class KeyNotFetchedYet extends Error {}

/** The key resolver of a client's `jwks_uri`, fetched (or refreshed on an unknown kid) under `rules`. */
export async function remoteKeys(uri: string, rules: FetchRules, now = Date.now()): Promise<JWTVerifyGetKey> {
  const keys = await load(uri, rules, now);
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (err) {
      const entry = fetched.get(uri);
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || !entry || entry.failed) throw err;
      // One fetch under way serves every request that waits for it.
      const fresh = await (entry.askingAgain ?? (now - entry.askedAgainAt >= REFETCH_AFTER_MS ? askAgain(uri, rules, now, entry) : undefined));
      if (!fresh) throw new KeyNotFetchedYet("no such key in the client's keys as last fetched, which may not be fetched again yet");
      return fresh(header, token);
    }
  };
}
