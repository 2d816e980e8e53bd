import { sign, verify, type KeyObject } from "node:crypto";
import type { SigningAlg } from "@/lib/oauth/protocol/algorithms.ts";
import { registerCache } from "@/lib/platform/caches.ts";

/**
 * Compact JWS (RFC 7515) of the tokens this server issues and reads back itself, on node:crypto
 * with keys imported once. jose's WebCrypto path (its only one since v6) costs several times the
 * CPU for each signature: in-process, an ES256 signature took 183 µs against 43 here, and a
 * verification 210 µs against 108. jose still reads everything that others sign (client
 * assertions, DPoP proofs, JWKS), and verifies ours in the tests: its output and this one's are
 * the same bytes for the same input.
 */

interface Algorithm {
  digest: string | null;
  options: { dsaEncoding?: "ieee-p1363" };
  /** The exact signature length, where the algorithm fixes one. */
  length?: number;
}

const ALGORITHMS: Record<SigningAlg, Algorithm> = {
  ES256: { digest: "sha256", options: { dsaEncoding: "ieee-p1363" }, length: 64 },
  RS256: { digest: "sha256", options: {} },
  EdDSA: { digest: null, options: {}, length: 64 },
};

const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

// The encoded headers: a handful (one per key and token type), each written once.
const headerSegments = new Map<string, string>();
function headerSegment({ alg, kid, typ }: { alg: SigningAlg; kid: string; typ: string }): string {
  const name = `${alg} ${kid} ${typ}`;
  let encoded = headerSegments.get(name);
  if (encoded === undefined) {
    encoded = segment({ alg, kid, typ });
    if (headerSegments.size >= 64) headerSegments.clear();
    headerSegments.set(name, encoded);
  }
  return encoded;
}

/**
 * `header.payload.signature`, the header with `alg` first as jose writes it. The signature is made
 * on libuv's thread pool (node:crypto's callback form), like the checks below: measured side by
 * side with pages served, the refresh grant answered 6% more requests a second so, and the
 * password grant 7–10% more (its event loop's thread, not the pool, is what holds it back).
 */
export function signJws(header: { alg: SigningAlg; kid: string; typ: string }, payload: object, key: KeyObject): Promise<string> {
  const { digest, options } = ALGORITHMS[header.alg];
  const input = `${headerSegment(header)}.${segment(payload)}`;
  return new Promise((resolve, reject) => {
    sign(digest, Buffer.from(input), { key, ...options }, (err, signature) => (err ? reject(err) : resolve(`${input}.${signature.toString("base64url")}`)));
  });
}

/** Why a token was refused, in jose's codes (they reach logs, never a response). */
export type JwsRefusal =
  | "ERR_JWS_INVALID"
  | "ERR_JOSE_ALG_NOT_ALLOWED"
  | "ERR_JOSE_NOT_SUPPORTED"
  | "ERR_JWT_CLAIM_VALIDATION_FAILED"
  | "ERR_JWKS_NO_MATCHING_KEY"
  | "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"
  | "ERR_JWT_INVALID"
  | "ERR_JWT_EXPIRED";

export interface JwtRules {
  alg: SigningAlg;
  /** The `typ` header, compared as RFC 8725 §3.11 and jose do: without `application/`, case-insensitively. */
  typ: string;
  issuer: string;
  /** Seconds of tolerated clock difference for `exp` and `nbf`. */
  clockTolerance: number;
  requiredClaims: readonly string[];
  /** The public key a `kid` names, for this algorithm; undefined for any other. */
  keyFor(kid: string): KeyObject | undefined;
  /** Now, in seconds. */
  now?: number;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function jsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The signature check, on libuv's thread pool (node:crypto's callback form): an ES256
 * verification is ~0.1 ms of CPU, and introspection and userinfo are bound by the event loop's
 * thread, not by the cores.
 */
function signatureValid(alg: SigningAlg, data: Buffer, key: KeyObject, signature: Buffer): Promise<boolean> {
  const { digest, options, length } = ALGORITHMS[alg];
  if (length !== undefined && signature.length !== length) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      verify(digest, data, { key, ...options }, signature, (err, valid) => resolve(!err && valid));
    } catch {
      resolve(false);
    }
  });
}

/**
 * Tokens whose signature was found valid lately, each with the key object that verified it and
 * its decoded header and payload. A resource server presents the same access token at every call
 * it makes with it (introspection at each API request, userinfo), and the signature's math and the
 * decoding are most of checking it (the signature's hand-off to the pool and back alone was ~40% of
 * introspection's event-loop time). Every rule (algorithm, `typ`, `kid`, issuer, claims, expiry)
 * is applied again at each use, and the key must be the very object that verified it, which a
 * retired key (gone from the key set) or a reloaded key set (new objects) never is. Exact bytes
 * only: a token differing in any character is verified afresh. Per process, bounded (the oldest
 * entry makes room), safe to lose.
 */
interface Remembered {
  key: KeyObject;
  header: Readonly<Record<string, unknown>>;
  payload: Readonly<Record<string, unknown>>;
}
const verifiedWith = registerCache("verified token signatures", new Map<string, Remembered>());
const VERIFIED_SIGNATURES_MAX = 4096;

function remember(token: string, entry: Remembered): void {
  // A token remembered already (verified afresh under another key object) keeps its own place.
  if (verifiedWith.size >= VERIFIED_SIGNATURES_MAX && !verifiedWith.has(token)) verifiedWith.delete(verifiedWith.keys().next().value as string);
  // A copy of its own: the token may be a slice of a longer string (a header, a body) that the
  // cache would otherwise keep alive.
  verifiedWith.set(Buffer.from(token, "latin1").toString("latin1"), entry);
}

/** Frozen all the way down: a remembered payload is handed out again (as a shallow copy) at each use. */
function deepFrozen<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFrozen(inner);
    Object.freeze(value);
  }
  return value;
}

/** A `typ` as RFC 7515 §4.1.9 compares it: a media type, in any case, `application/` left out. */
export const normalizedTyp = (typ: string) => typ.toLowerCase().replace(/^application\//, "");

/**
 * A JWT of ours, verified by the rules jose's `jwtVerify` applies with the same options: one
 * allowed algorithm (never `none`, never another family keyed with our public key), no `crit`,
 * the `typ`, a key we publish by `kid`, the signature, a JSON object payload, the issuer, the
 * required claims, numeric dates, `exp` and `nbf` within the tolerance.
 */
export async function verifyJwt<C extends Record<string, unknown>>(token: string, rules: JwtRules): Promise<{ payload: C } | { refused: JwsRefusal }> {
  const known = verifiedWith.get(token);
  if (known) {
    const refused = headerRefusal(known.header, rules);
    if (refused) return { refused };
    // The very key that verified it; otherwise (retired, reloaded, another) verified afresh below.
    if (keyOf(known.header, rules) === known.key) return claimsOf<C>(known.payload, rules);
  }
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) return { refused: "ERR_JWS_INVALID" };
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = jsonObject(headerPart);
  if (!header) return { refused: "ERR_JWS_INVALID" };
  const refused = headerRefusal(header, rules);
  if (refused) return { refused };
  const key = keyOf(header, rules);
  if (!key) return { refused: "ERR_JWKS_NO_MATCHING_KEY" };
  const signature = Buffer.from(signaturePart, "base64url");
  const valid = await signatureValid(rules.alg, Buffer.from(`${headerPart}.${payloadPart}`), key, signature);
  if (!valid) return { refused: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" };
  const payload = jsonObject(payloadPart);
  if (!payload) return { refused: "ERR_JWT_INVALID" };
  remember(token, { key, header: deepFrozen(header), payload: deepFrozen(payload) });
  return claimsOf<C>(payload, rules);
}

/** The header's refusal under `rules`, in jose's order, or undefined. */
function headerRefusal(header: Readonly<Record<string, unknown>>, rules: JwtRules): JwsRefusal | undefined {
  if (header.alg !== rules.alg) return "ERR_JOSE_ALG_NOT_ALLOWED";
  if (header.crit !== undefined || header.b64 !== undefined) return "ERR_JOSE_NOT_SUPPORTED";
  if (typeof header.typ !== "string" || normalizedTyp(header.typ) !== normalizedTyp(rules.typ)) return "ERR_JWT_CLAIM_VALIDATION_FAILED";
  return undefined;
}

/** The published key the header's `kid` names for the algorithm, or undefined. */
function keyOf(header: Readonly<Record<string, unknown>>, rules: JwtRules): KeyObject | undefined {
  return typeof header.kid === "string" ? rules.keyFor(header.kid) : undefined;
}

/** The claims' checks, after the signature's: a copy of the payload, or the refusal. */
function claimsOf<C>(payload: Readonly<Record<string, unknown>>, rules: JwtRules): { payload: C } | { refused: JwsRefusal } {
  for (const claim of ["iat", "nbf", "exp"]) {
    if (payload[claim] !== undefined && typeof payload[claim] !== "number") return { refused: "ERR_JWT_CLAIM_VALIDATION_FAILED" };
  }
  if (payload.iss !== rules.issuer) return { refused: "ERR_JWT_CLAIM_VALIDATION_FAILED" };
  if (rules.requiredClaims.some((claim) => payload[claim] === undefined)) return { refused: "ERR_JWT_CLAIM_VALIDATION_FAILED" };
  const now = rules.now ?? Math.floor(Date.now() / 1000);
  if (typeof payload.nbf === "number" && payload.nbf > now + rules.clockTolerance) return { refused: "ERR_JWT_CLAIM_VALIDATION_FAILED" };
  if (typeof payload.exp === "number" && payload.exp <= now - rules.clockTolerance) return { refused: "ERR_JWT_EXPIRED" };
  return { payload: { ...payload } as C };
}
