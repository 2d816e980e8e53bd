import { createHash } from "node:crypto";
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, EmbeddedJWK, errors as joseErrors, jwtVerify, type JWK, type JWTPayload } from "jose";
import { settings } from "@/lib/platform/env.ts";
import { DPOP_ALGS } from "@/lib/oauth/protocol/algorithms.ts";
import { costlyRsaMember, hasPrivateMember, RSA_LIMITS } from "@/lib/oauth/protocol/jwk-limits.ts";
import { InvalidDpopProof, UseDpopNonce } from "@/lib/oauth/protocol/errors.ts";
import type { OAuthRequest } from "@/lib/oauth/protocol/responses.ts";
import { useDpopProofOnce } from "@/lib/oauth/store/dpop-proofs.ts";
import { CLOCK_SKEW_SECONDS } from "@/lib/oauth/tokens/verify.ts";
import { normalizedTyp } from "@/lib/oauth/tokens/jws.ts";
import { currentDpopNonce, isAcceptedDpopNonce } from "@/lib/oauth/dpop/nonce.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";

/** A proof's size cap: an RSA-4096 key and signature fit several times over. */
export const MAX_DPOP_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;

/** The proof's `nonce` claim, read before its signature is verified; a payload that is no JWT's is refused. */
function unverifiedNonce(proof: string, refuse: (description: string, detail?: string) => InvalidDpopProof): unknown {
  try {
    return decodeJwt(proof).nonce;
  } catch (err) {
    throw refuse("the DPoP proof is not a JWT", err instanceof Error ? err.message : undefined);
  }
}

/**
 * `use_dpop_nonce` unless `nonce` (the proof's, unverified) is one the workspace accepts; else the
 * nonce to provide next, when it is not the current one. The verified payload is the same bytes:
 * its nonce is this one.
 */
async function acceptedNonce(workspace: Workspace, realm: string | undefined, now: number, nonce: unknown): Promise<string | undefined> {
  const current = await currentDpopNonce(workspace, now);
  if (typeof nonce !== "string" || !(await isAcceptedDpopNonce(workspace, nonce, now))) {
    throw new UseDpopNonce(current, nonce === undefined ? "the DPoP proof must carry the server's nonce" : "the DPoP proof's nonce is not current", realm);
  }
  return nonce === current ? undefined : current;
}

/**
 * A token request's DPoP nonce, checked before anything else of the request (RFC 9449 §8): with
 * the workspace's nonces on, a proof without an accepted one is answered `use_dpop_nonce` before
 * the client authenticates. A client assertion (RFC 7523) is spent when it is accepted: answered
 * after it, the request the client sends again with the nonce, as §8 has it retry, was refused as
 * the assertion's replay. A proof whose payload cannot be read is left to verifyDpopProof's refusal.
 */
export async function requireDpopNonce(request: OAuthRequest, workspace: Workspace, now = Date.now()): Promise<void> {
  const proof = dpopHeader(request);
  if (proof === undefined || !workspace.dpopNonces) return;
  const peeked = peekNonce(proof);
  if (peeked) await acceptedNonce(workspace, undefined, now, peeked.nonce);
}

/**
 * RFC 9449 §8.2: the nonce a failed request's answer names in `DPoP-Nonce`, with the workspace's
 * nonces on: the current one, unless the request sent no proof or its proof carried that one.
 * A client whose proof carried the previous window's nonce, and whose request then failed (a
 * wrong password, a missing scope, a bad proof), learns the current one all the same, and its
 * next proof needs no `use_dpop_nonce` round trip. (No secret: anyone who asks is told it.)
 */
export async function nonceAfterFailure(request: OAuthRequest, workspace: Workspace, now = Date.now()): Promise<string | undefined> {
  const proof = dpopHeader(request);
  if (proof === undefined || !workspace.dpopNonces) return undefined;
  const current = await currentDpopNonce(workspace, now);
  return peekNonce(proof)?.nonce === current ? undefined : current;
}

/** A proof's `nonce` claim, read without verifying it; undefined when the header is not one proof within the cap, or its payload no JWT's. */
function peekNonce(proof: string): { nonce: unknown } | undefined {
  if (proof.includes(",") || proof.length > MAX_DPOP_PROOF_LENGTH) return undefined;
  try {
    return { nonce: decodeJwt(proof).nonce };
  } catch {
    return undefined;
  }
}

/** A verified DPoP proof: the key it binds to, and the nonce to provide next, if any. */
export interface DpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key: `cnf.jkt` (RFC 9449 §6.1). */
  jkt: string;
  /** `DPoP-Nonce` to send with the answer (RFC 9449 §8.2), when nonces are on and this one is not the current. */
  nextNonce?: string;
}

export interface ProofContext {
  workspace: Workspace;
  /** The URL of this endpoint, as the server publishes it (htu, RFC 9449 §4.3 items 9 and 10). */
  url: string;
  /** At a resource endpoint: the access token presented, whose hash `ath` must be. */
  accessToken?: string;
  /** At a resource endpoint: its realm, which makes failures 401 with a DPoP challenge (RFC 9449 §7.1). */
  realm?: string;
  now?: number;
}

/** RFC 9449 §7.1: `ath`, the base64url SHA-256 of the access token. */
export const accessTokenHash = (token: string) => createHash("sha256").update(token, "ascii").digest("base64url");

/** A URL as RFC 9449 §4.3 compares it: normalized (RFC 3986 §6.2.2, §6.2.3), without query and fragment. */
function comparableUrl(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
    url.search = "";
    url.hash = "";
    // WHATWG's parser lower-cases the scheme and host, drops a default port and removes dot
    // segments, but leaves percent-encodings as written: RFC 3986 §6.2.2.1 and §6.2.2.2 upper-case
    // their hex digits and decode those of unreserved characters (then dot segments again).
    const path = url.pathname.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
      const char = String.fromCharCode(parseInt(hex, 16));
      return /^[A-Za-z0-9._~-]$/.test(char) ? char : `%${hex.toUpperCase()}`;
    });
    if (path !== url.pathname) url.pathname = path;
    return url.href;
  } catch {
    return undefined;
  }
}

/** The DPoP header of a request, or undefined; never two of them (RFC 9449 §4.3 item 1). */
export function dpopHeader(request: OAuthRequest): string | undefined {
  return request.headers.get("dpop") ?? undefined;
}

/**
 * Verifies the request's DPoP proof (RFC 9449 §4.3), or returns undefined when it sent none:
 * exactly one, at most MAX_DPOP_PROOF_LENGTH; `typ` `dpop+jwt`; an asymmetric `alg` of DPOP_ALGS;
 * a public `jwk` with no private member, that verifies the signature; `htm` the request's method
 * (a `HEAD`'s, though it is answered as its `GET`);
 * `htu` this endpoint's URL; `iat` within DPOP_PROOF_MAX_AGE_SECONDS (and the clock skew);
 * `ath` for an access token; the server's nonce when the workspace asks for one (§8, checked
 * before the signature); an RSA key of at most 4096 bits with an exponent under 2^32; and a
 * `jti` never used before, recorded across instances (§11.1), checked last so that a proof
 * refused for anything else does not burn it.
 */
export async function verifyDpopProof(request: OAuthRequest, context: ProofContext): Promise<DpopProof | undefined> {
  const proof = dpopHeader(request);
  if (proof === undefined) return undefined;
  const { workspace, realm } = context;
  const now = context.now ?? Date.now();
  const refuse = (description: string, detail?: string) => new InvalidDpopProof(description, detail, realm);
  // Headers sent twice arrive joined by a comma, which a compact JWS never contains.
  if (proof.includes(",")) throw refuse("send exactly one DPoP header");
  if (proof.length > MAX_DPOP_PROOF_LENGTH) throw refuse("the DPoP proof is too long");

  let jwk: JWK;
  try {
    const header = decodeProtectedHeader(proof);
    if (typeof header.typ !== "string" || normalizedTyp(header.typ) !== "dpop+jwt") throw refuse("the DPoP proof's typ must be dpop+jwt");
    if (typeof header.alg !== "string" || !(DPOP_ALGS as readonly string[]).includes(header.alg)) {
      throw refuse(`the DPoP proof's alg must be one of ${DPOP_ALGS.join(" ")}`);
    }
    if (typeof header.jwk !== "object" || header.jwk === null || Array.isArray(header.jwk)) throw refuse("the DPoP proof must carry its public key as jwk");
    if (hasPrivateMember(header.jwk)) throw refuse("the DPoP proof's jwk must be a public key");
    jwk = header.jwk;
    const costly = costlyRsaMember(jwk);
    if (costly) throw refuse(`the DPoP proof's RSA ${RSA_LIMITS[costly]}`);
  } catch (err) {
    if (err instanceof InvalidDpopProof) throw err;
    throw refuse("the DPoP proof is not a JWT", err instanceof Error ? err.message : undefined);
  }

  // With nonces on, a proof without an accepted nonce is answered before its signature is
  // verified: the nonce is public, and such a proof (whose jti is never spent, so the same one
  // may come again and again) costs no verification however often it is sent.
  const nextNonce = workspace.dpopNonces ? await acceptedNonce(workspace, realm, now, unverifiedNonce(proof, refuse)) : undefined;

  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
      algorithms: [...DPOP_ALGS],
      typ: "dpop+jwt",
      maxTokenAge: settings().DPOP_PROOF_MAX_AGE_SECONDS,
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(now),
      requiredClaims: ["jti", "htm", "htu", "iat"],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired && err.claim === "exp") throw refuse("the DPoP proof has expired (its exp is past)", err.code);
    if (err instanceof joseErrors.JWTExpired || (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === "iat")) {
      throw refuse("the DPoP proof's iat is not recent", err.code);
    }
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw refuse("the DPoP proof's signature is invalid");
    throw refuse("the DPoP proof is invalid", err instanceof joseErrors.JOSEError ? err.code : "malformed");
  }

  const { jti, htm, htu, iat } = payload as { jti: unknown; htm: unknown; htu: unknown; iat: number };
  if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH)
    throw refuse("the DPoP proof's jti must be a string of at most 256 characters");
  if (htm !== (request.head === true ? "HEAD" : request.method)) throw refuse("the DPoP proof's htm does not match the request's method");
  const expected = comparableUrl(context.url);
  if (expected === undefined || comparableUrl(htu) !== expected) throw refuse("the DPoP proof's htu does not match the request's URL");
  if (context.accessToken !== undefined && payload.ath !== accessTokenHash(context.accessToken)) {
    throw refuse("the DPoP proof's ath does not match the access token");
  }

  const jkt = await calculateJwkThumbprint(jwk, "sha256");
  // Kept as long as this iat is accepted at all: past that the iat check refuses a replay.
  const until = new Date((iat + settings().DPOP_PROOF_MAX_AGE_SECONDS + 2 * CLOCK_SKEW_SECONDS) * 1000);
  if (!(await useDpopProofOnce(workspace.id, jkt, jti, until))) throw refuse("the DPoP proof was used before", "jti replay");
  return { jkt, ...(nextNonce === undefined ? {} : { nextNonce }) };
}
