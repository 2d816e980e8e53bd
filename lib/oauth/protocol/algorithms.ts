/**
 * The JWS algorithms (RFC 7518 §3, RFC 8037) we keep signing keys for. ES256 signs every access
 * token and, by default, ID tokens; a client may ask for its ID tokens in RS256 (which OIDC Core
 * §15.1 requires a server to support) or EdDSA (Ed25519) instead, by its registered
 * `id_token_signed_response_alg` (OIDC Dynamic Client Registration §2).
 */
export const SIGNING_ALGS = ["ES256", "RS256", "EdDSA"] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/** Access tokens are always ES256: resource servers pin one algorithm. */
export const ACCESS_TOKEN_ALG: SigningAlg = "ES256";

/** A client's ID token algorithm when it registered none (what every ID token used before). */
export const DEFAULT_ID_TOKEN_ALG: SigningAlg = "ES256";

export function isSigningAlg(value: string): value is SigningAlg {
  return (SIGNING_ALGS as readonly string[]).includes(value);
}

/**
 * The hash of OIDC Core §3.1.3.6's `at_hash` for an ID token signed with `alg`: the one of the
 * algorithm (SHA-256 for ES256 and RS256), SHA-512 for EdDSA with Ed25519 (whose signature hashes
 * with SHA-512).
 */
export function tokenHashAlgorithm(alg: SigningAlg): "sha256" | "sha512" {
  return alg === "EdDSA" ? "sha512" : "sha256";
}

/**
 * The JWS algorithms a DPoP proof may use (RFC 9449 §4.3: asymmetric only, never `none` or an
 * HMAC): `dpop_signing_alg_values_supported` in discovery and `algs` in DPoP challenges.
 */
export const DPOP_ALGS = ["ES256", "RS256", "PS256", "EdDSA"] as const;
