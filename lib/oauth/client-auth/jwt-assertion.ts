import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { MAX_CLIENT_ID, type Presented, type VerifyContext } from "@/lib/oauth/client-auth/method.ts";
import { KeyNotFetchedYet } from "@/lib/oauth/client-auth/jwks-uri.ts";
import type { StoredClient } from "@/lib/oauth/model/client.ts";
import { InvalidClient, InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import type { FormParams } from "@/lib/oauth/protocol/form.ts";
import { useClientAssertionOnce } from "@/lib/oauth/store/client-assertions.ts";

// JWT client authentication (RFC 7523 §2.2 and §3, OIDC Core §9), shared by private_key_jwt and
// client_secret_jwt: they differ only in the key and the algorithms.

/** RFC 7523 §2.2's client_assertion_type. */
export const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// An assertion is a few hundred bytes; an RSA-signed one with a long kid well under this.
const MAX_ASSERTION = 8192;

/** Tolerated clock difference with the client for `iat` and `nbf` (seconds). */
export const ASSERTION_CLOCK_SKEW_SECONDS = 30;

const refused = (detail: string) => new InvalidClient("client authentication failed", { detail });

/** A JWT's protected header, or an empty one when it has none that can be read. */
function header(jwt: string): { alg?: unknown; typ?: unknown } {
  try {
    return decodeProtectedHeader(jwt);
  } catch {
    return {};
  }
}

// RFC 8725 §3.11: a `typ` naming another kind of JWT (a DPoP proof, an access token, a request
// object) is no client assertion, whoever signed it. The draft's own type is accepted, with or
// without its `application/` prefix (RFC 7515 §4.1.9), as is the generic `JWT` and no `typ`.
const ASSERTION_TYPES = new Set(["client-authentication+jwt", "application/client-authentication+jwt", "jwt", "application/jwt"]);

/** Whether the request carries a client assertion signed with an HMAC (`HS…`): client_secret_jwt's. */
export function hasHmacAssertion(params: FormParams): boolean {
  const assertion = params.get("client_assertion");
  if (assertion === undefined) return false;
  try {
    return decodeProtectedHeader(assertion).alg?.startsWith("HS") ?? false;
  } catch {
    return false;
  }
}

/**
 * The client a client assertion names (its `sub`), before any key is looked at. A missing or
 * wrong `client_assertion_type` is `invalid_request`; an assertion that is not a JWT with a `sub`
 * is `invalid_client`; a `client_id` beside it must name the same client (RFC 7521 §4.2).
 */
export function readAssertion(params: FormParams): Presented {
  const type = params.get("client_assertion_type");
  if (type === undefined) throw new InvalidRequest("client_assertion_type is required with client_assertion");
  if (type !== ASSERTION_TYPE) throw new InvalidRequest(`client_assertion_type must be ${ASSERTION_TYPE}`);
  const assertion = params.get("client_assertion") ?? "";
  if (assertion.length > MAX_ASSERTION) throw refused("client_assertion too long");
  let sub: unknown;
  try {
    sub = decodeJwt(assertion).sub;
  } catch {
    throw refused("client_assertion is not a JWT");
  }
  // No client id holds a NUL (and PostgreSQL could not look one up).
  if (typeof sub !== "string" || sub === "" || sub.length > MAX_CLIENT_ID || sub.includes("\u0000")) throw refused("client_assertion has no usable sub");
  const clientId = params.get("client_id");
  if (clientId !== undefined && clientId !== sub) throw new InvalidRequest("client_id does not match the client_assertion's sub");
  return { clientId: sub, credential: assertion };
}

// jose's codes for a signature that does not verify with the client's keys: a wrong credential,
// counted like a wrong secret. Every other defect is refused without counting.
const WRONG_KEY = new Set([joseErrors.JWSSignatureVerificationFailed.code, joseErrors.JWKSNoMatchingKey.code, joseErrors.JWKSMultipleMatchingKeys.code]);

/**
 * Verifies a client assertion (RFC 7523 §3) for `client`: a `typ`, if any, of a client assertion;
 * the signature with `key` in one of `algorithms` (never `none`; only the client's
 * `token_endpoint_auth_signing_alg` when it has one); `iss` and `sub` the client id; `aud` the
 * issuer and nothing else; `exp` present, not past, and at most `maxSeconds` ahead; `iat` and
 * `nbf` not in the future beyond the skew; a `jti`, used once until `exp` (stored in the database,
 * so that a replay to another instance fails too). False for a signature that does not verify;
 * `invalid_client` for any other defect.
 */
export async function verifyAssertion(
  assertion: string,
  client: StoredClient,
  key: JWTVerifyGetKey | Uint8Array,
  algorithms: readonly string[],
  context: VerifyContext,
): Promise<boolean> {
  // RFC 7591 §2: a client registered with token_endpoint_auth_signing_alg uses that one only.
  const allowed = client.authSigningAlg === null ? algorithms : algorithms.filter((a) => a === client.authSigningAlg);
  if (allowed.length === 0) throw refused("client_assertion: this method cannot use the client's token_endpoint_auth_signing_alg");
  // An algorithm of the method's that the client's pin rules out is no signature of the client's:
  // counted like a wrong key, as it is for an unknown client id (which has no pin).
  const { alg, typ } = header(assertion);
  if (typ !== undefined && (typeof typ !== "string" || !ASSERTION_TYPES.has(typ.toLowerCase()))) throw refused("client_assertion typ is another kind of JWT's");
  if (allowed !== algorithms && typeof alg === "string" && algorithms.includes(alg) && !allowed.includes(alg)) return false;
  const nowMs = context.now ?? Date.now();
  const options = {
    algorithms: [...allowed],
    issuer: client.clientId,
    subject: client.clientId,
    clockTolerance: ASSERTION_CLOCK_SKEW_SECONDS,
    requiredClaims: ["exp", "jti"],
    currentDate: new Date(nowMs),
  };
  let payload;
  try {
    ({ payload } = typeof key === "function" ? await jwtVerify(assertion, key, options) : await jwtVerify(assertion, key, options));
  } catch (err) {
    // Refused without counting: the client may have rotated its keys since they were fetched.
    if (err instanceof KeyNotFetchedYet) throw refused(`client_assertion refused: ${err.message}`);
    const code = err instanceof joseErrors.JOSEError ? err.code : "malformed";
    if (WRONG_KEY.has(code)) return false;
    throw refused(`client_assertion refused: ${code}${err instanceof joseErrors.JWTClaimValidationFailed ? ` (${err.claim})` : ""}`);
  }
  // draft-ietf-oauth-rfc7523bis: the issuer identifier as the sole audience. The token endpoint's
  // URL is refused: another server can name it as its own and so have the client sign an assertion
  // this one would take. A list of that one value is the same audience.
  const aud = Array.isArray(payload.aud) && payload.aud.length === 1 ? payload.aud[0] : payload.aud;
  if (aud !== context.issuer) throw refused("client_assertion aud must be the issuer alone");
  const now = Math.floor(nowMs / 1000);
  const exp = payload.exp ?? 0;
  if (exp > now + context.maxAssertionSeconds) throw refused("client_assertion exp too far ahead");
  if (typeof payload.iat === "number" && payload.iat > now + ASSERTION_CLOCK_SKEW_SECONDS) throw refused("client_assertion iat in the future");
  if (typeof payload.jti !== "string" || payload.jti === "" || payload.jti.length > 255) throw refused("client_assertion jti unusable");
  const until = new Date((exp + ASSERTION_CLOCK_SKEW_SECONDS) * 1000);
  if (!(await useClientAssertionOnce(client.workspaceId, client.clientId, payload.jti, until))) throw refused("client_assertion replayed (jti seen)");
  return true;
}
