import { createLocalJWKSet, type JWTVerifyGetKey } from "jose";
import type { ClientAuthMethod } from "@/lib/oauth/client-auth/method.ts";
import { hasHmacAssertion, readAssertion, verifyAssertion } from "@/lib/oauth/client-auth/jwt-assertion.ts";
import type { StoredClient } from "@/lib/oauth/model/client.ts";

/** Asymmetric algorithms only: never `none`, never an HMAC (whose key would be a public key). */
export const PRIVATE_KEY_JWT_ALGS = ["ES256", "RS256", "PS256", "EdDSA"] as const;

// A client's key set, imported once per cached client object (it lives CONFIG_CACHE_SECONDS):
// jose's local JWKS imports each key at its first use and keeps it.
const keySets = new WeakMap<StoredClient, JWTVerifyGetKey>();
function keysOf(client: StoredClient): JWTVerifyGetKey | undefined {
  if (!client.jwks) return undefined;
  let keys = keySets.get(client);
  if (!keys) keySets.set(client, (keys = createLocalJWKSet(client.jwks)));
  return keys;
}

/**
 * `private_key_jwt` (OIDC Core §9, RFC 7523 §2.2): a JWT the client signs with a private key
 * whose public half it registered (`jwks`), in `client_assertion`.
 */
export const privateKeyJwt: ClientAuthMethod = {
  name: "private_key_jwt",
  provesCredential: true,
  usesSecret: false,
  signingAlgs: PRIVATE_KEY_JWT_ALGS,
  isPresentedIn: (_request, params) => params.get("client_assertion") !== undefined && !hasHmacAssertion(params),
  read: (_request, params) => readAssertion(params),
  async verify(client, presented, context) {
    const keys = keysOf(client);
    return keys !== undefined && verifyAssertion(presented.credential ?? "", client, keys, PRIVATE_KEY_JWT_ALGS, context);
  },
};
